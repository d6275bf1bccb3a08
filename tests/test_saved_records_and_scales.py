"""A saved restore says what it is the posterior of and how its std image is scaled; observations on the wrong
scale, masks that observe nothing, a preview PNG that clipped y, a prior lavps cannot cast and a thread count
that crashes the pool are refused or named in one line instead of running into garbage."""

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

import lavps
from lavps.cli import command
from lavps.imaging.io import write_png
from lavps.inputs import check_observation_scale
from lavps.priors.edm import VEDenoiserPrior
from lavps.priors.placement import place_prior
from lavps.priors.specs import prior_fingerprint

RUN = lavps.RunOptions()


def _digit_like(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(1, 1, 8, 8, generator=g) * 2 - 1).clamp(-1, 1)


def test_save_records_the_problem_the_reference_and_the_std_scale(tmp_path, tiny_prior):
    obs = lavps.degrade(_digit_like(0), lavps.operator("sr:2", (1, 8, 8)), sigma=0.1, seed=3)
    write_png(_digit_like(1)[0], tmp_path / "ref.png")
    result = lavps.restore(obs.y, "sr:2", 0.1, prior=tiny_prior, sampler="ddrm", preset="tiny", samples=3)
    result.save(tmp_path / "out", reference=tmp_path / "ref.png")
    record = json.loads((tmp_path / "out" / "restore.json").read_text())
    assert record["operator"] == {"spec": "sr:2"} and record["sigma"] == 0.1 and record["noise"] == "gaussian:0.1"
    assert record["prior"] == str(tiny_prior) and record["reference"] == str(tmp_path / "ref.png")
    assert record["posterior_std_white"] == pytest.approx(float(result.std.max()))
    assert record["batch_size"] is None and record["lavps_version"] == lavps.__version__
    assert record["prior_fingerprint"] == prior_fingerprint(lavps.load_prior(tiny_prior))
    assert record["posterior_std_mean"] == pytest.approx(float(result.std.mean()))
    white = np.asarray(Image.open(tmp_path / "out" / "posterior_std.png"))
    assert white.max() == 255  # the std image is stretched to posterior_std_white: the record holds its scale
    by_object = lavps.restore(obs.y, obs.operator, 0.1, prior=lavps.load_prior(tiny_prior), sampler="ddrm",
                              preset="tiny")  # fmt: skip
    assert by_object.problem["operator"]["class"] == type(obs.operator).__name__
    assert by_object.problem["prior"] == "ImagePrior"


def test_save_records_the_digest_of_every_input_file(tmp_path, tiny_prior):
    import hashlib

    obs = lavps.degrade(_digit_like(0), lavps.operator("sr:2", (1, 8, 8)), sigma=0.1, seed=3)
    write_png(_digit_like(1)[0], tmp_path / "ref.png")
    result = lavps.restore(obs.y, "sr:2", 0.1, prior=tiny_prior, sampler="ddrm", preset="tiny", samples=1)
    result.save(tmp_path / "out", reference=tmp_path / "ref.png")
    digests = json.loads((tmp_path / "out" / "restore.json").read_text())["input_sha256"]

    def sha(path):
        return hashlib.sha256(open(path, "rb").read()).hexdigest()

    assert digests == {str(tmp_path / "ref.png"): sha(tmp_path / "ref.png"), str(tiny_prior): sha(tiny_prior)}
    write_png(_digit_like(2)[0], tmp_path / "ref.png")  # the file changed: its digest tells
    assert sha(tmp_path / "ref.png") != digests[str(tmp_path / "ref.png")]


def test_the_files_inside_a_prior_spec_are_digested_too(tmp_path):
    from lavps.restore_result import input_digests

    (tmp_path / "w.pt").write_bytes(b"weights"), (tmp_path / "flags.json").write_text("{}")
    spec = f"adm:{tmp_path / 'w.pt'}:{tmp_path / 'flags.json'}"
    digests = input_digests({"prior": spec, "operator": {"spec": "sr:2"}, "reference": None})
    assert set(digests) == {str(tmp_path / "w.pt"), str(tmp_path / "flags.json")}


def test_an_observation_on_the_wrong_scale_is_refused(tiny_prior):
    op = lavps.operator("gaussian_blur:3:1", (1, 8, 8))
    obs = lavps.degrade(_digit_like(2), op, sigma=0.05, seed=0)
    for wrong in (obs.y * 100, (obs.y + 1) * 127.5):
        with pytest.raises(ValueError, match="what A x \\+ noise can reach"):
            lavps.restore(wrong, op, 0.05, prior=tiny_prior, sampler="ddrm", preset="tiny")
    lavps.restore(obs.y, op, 0.05, prior=tiny_prior, sampler="ddrm", preset="tiny")  # the real one runs


@pytest.mark.parametrize("spec", ["denoise", "sr:2", "sr:4", "gaussian_blur:5:2", "motion_blur:5:0.5", "box:0.3:0.5",
                                  "pixels:0.1", "center:0.5"])  # fmt: skip
def test_real_observations_pass_the_scale_check_even_saturated_and_noisy(spec):
    op = lavps.operator(spec, (1, 8, 8), seed=4)
    for x, sigma in ((torch.ones(1, 1, 8, 8), 0.01), (-torch.ones(1, 1, 8, 8), 1.0), (_digit_like(5) * 1.2, 0.3)):
        y = lavps.degrade(x.clamp(-1.2, 1.2), op, sigma=sigma, seed=1).y
        check_observation_scale(y, op, sigma)  # the extremes of the data range and heavy noise are accepted


def test_a_mask_that_observes_nothing_is_refused(tmp_path, _cli, tiny_prior):
    np.save(tmp_path / "mask.npy", np.zeros((8, 8)))
    write_png(torch.zeros(1, 8, 8), tmp_path / "clean.png")
    done = _cli("restore", tmp_path / "clean.png", "--mask", tmp_path / "mask.npy", "--sigma", "0.1",
                "--prior", tiny_prior, "--sampler", "ddrm", "--preset", "tiny", "--out", tmp_path / "r")  # fmt: skip
    assert done.returncode != 0 and "observes no pixel" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_a_prior_without_weights_is_not_silently_left_in_fp32():
    prior = VEDenoiserPrior(lambda x, sigma: x / (1 + sigma[:, None, None, None] ** 2), (1, 4, 4))
    assert place_prior(prior, "cpu", "fp32") is prior  # the defaults: nothing to move
    with pytest.raises(ValueError, match="registers no weights.*bfloat16"):
        place_prior(prior, "cpu", "bf16")
    with_weights = VEDenoiserPrior(torch.nn.Identity(), (1, 4, 4))
    with_weights.scale = torch.nn.Parameter(torch.ones(()))
    assert next(place_prior(with_weights, "cpu", "bf16").parameters()).dtype == torch.bfloat16


def test_a_thread_count_that_would_crash_the_pool_is_refused(_cli, monkeypatch):
    done = _cli("restore", "x.png", "--threads", "100000", "--sigma", "0.1", "--out", "o")
    assert done.returncode == 2 and "--threads" in done.stderr and str(command.MAX_THREADS) in done.stderr
    monkeypatch.setenv("OMP_NUM_THREADS", "100000")
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    threads = torch.get_num_threads()
    try:
        command._set_threads(None, None, None)
    finally:
        torch.set_num_threads(threads)
    assert os.environ["OMP_NUM_THREADS"] == str(command.MAX_THREADS) and os.environ["MKL_NUM_THREADS"] == "3"


def test_restoring_a_preview_png_that_clipped_the_measurement_says_so(tmp_path, _cli, tiny_prior):
    write_png(_digit_like(6)[0], tmp_path / "clean.png")
    made = _cli("degrade", tmp_path / "clean.png", "--operator", "phase:2", "--sigma", "0.05",
                "--prior", tiny_prior, "--out", tmp_path / "o.png")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads((tmp_path / "o.json").read_text())["png_lost_share"] > 0
    run = ["restore", "--operator", "phase:2", "--sigma", "0.05", "--prior", tiny_prior, "--sampler", "dps",
           "--steps", "3", "--quiet", "--out"]  # fmt: skip
    done = _cli(*run[:1], tmp_path / "o.png", *run[1:], tmp_path / "r1")
    assert done.returncode == 0, done.stderr
    assert "8-bit preview" in done.stderr and "o.observation.pt" in done.stderr
    done = _cli(*run[:1], tmp_path / "o.observation.pt", *run[1:], tmp_path / "r2")
    assert done.returncode == 0 and "preview" not in done.stderr, done.stderr


def test_a_recorded_prior_that_now_loads_other_weights_is_refused(tmp_path, _cli, monkeypatch):
    """degrade records the prior spec as typed (a relative path) and its fingerprint; restored from another
    folder, where that path names another prior, the run is refused instead of using it silently."""
    from helpers import tiny_image_prior
    from lavps.priors.image_unet import save_image_prior

    made_in, elsewhere = tmp_path / "made", tmp_path / "elsewhere"
    made_in.mkdir(), elsewhere.mkdir()
    save_image_prior(tiny_image_prior(1, 8), made_in / "p.safetensors", {})
    other_weights = tiny_image_prior(1, 8)
    next(other_weights.parameters()).data.add_(0.1)
    save_image_prior(other_weights, elsewhere / "p.safetensors", {})  # the same name, other weights
    write_png(_digit_like(7)[0], made_in / "clean.png")
    monkeypatch.chdir(made_in)
    made = _cli("degrade", "clean.png", "--operator", "sr:2", "--sigma", "0.1", "--prior", "p.safetensors",
                "--out", "o.png")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads((made_in / "o.json").read_text())["prior_fingerprint"]
    run = ["--sampler", "ddrm", "--preset", "tiny", "--quiet", "--out"]
    same = _cli("restore", "o.observation.pt", *run, made_in / "r1")  # the prior it was made with: runs
    assert same.returncode == 0, same.stderr
    monkeypatch.chdir(elsewhere)
    other = _cli("restore", made_in / "o.observation.pt", *run, elsewhere / "r2")
    assert other.returncode != 0 and "give --prior with the file degrade used" in other.stderr
    assert not (elsewhere / "r2").exists()
    (elsewhere / "p.safetensors").rename(elsewhere / "q.safetensors")  # now nothing at the recorded path here
    missing = _cli("restore", made_in / "o.observation.pt", *run, elsewhere / "r4")
    assert missing.returncode != 0 and "named by" in missing.stderr and "degrade record" in missing.stderr
    (elsewhere / "q.safetensors").rename(elsewhere / "p.safetensors")
    mine = _cli("restore", made_in / "o.observation.pt", "--prior", "p.safetensors", *run, elsewhere / "r3")
    assert mine.returncode == 0 and "was made with another prior" in mine.stderr, mine.stderr  # the user's wins


def test_bench_records_carry_the_version(tmp_path, _cli):
    done = _cli("bench", "gmm", "--dim", "8", "--obs-dim", "1", "--problems", "1", "--samples", "8",
                "--samplers", "dps", "--steps", "5", "--json", tmp_path / "g.json", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "g.json").read_text())["lavps_version"] == lavps.__version__
