"""A second round of paths that produced silent garbage, lost a file, crashed or recorded too little: an
amortizer trained on a network prior with --data names that prior's fingerprint; validation that cannot run is
refused; extreme blur and noise parameters; a demo with nothing to run; a bench gmm's partial rows; what demo and
bench prior record; `lavps.operator`'s seed and shape."""

import json

import pytest
import torch

import lavps
from helpers import tiny_image_prior
from lavps.imaging.io import write_png
from lavps.operators import parse_noise_spec
from lavps.operators.blur import gaussian_kernel
from lavps.priors.image_unet import save_image_prior

TRAIN = ["train-amortizer", "--operator", "denoise", "--iterations", "2", "--batch-size", "2", "--steps", "6"]
TRAIN += ["--window", "3", "--loader-workers", "0", "--quiet"]


def digits(folder, count: int):
    g = torch.Generator().manual_seed(0)
    for i in range(count):
        write_png(torch.rand(1, 10, 10, generator=g) * 2 - 1, folder / f"img{i}.png")
    return folder


def test_an_amortizer_trained_on_a_network_prior_with_data_refuses_another_prior(tmp_path, _cli, tiny_prior):
    other = tiny_image_prior(1, 8)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.01)  # same shape and schedule, other weights
    other_path = save_image_prior(other, tmp_path / "other.safetensors", {})
    done = _cli(*TRAIN, "--prior", tiny_prior, "--data", digits(tmp_path / "d", 6), "--val-count", "0",
                "--out", tmp_path / "net")  # fmt: skip
    assert done.returncode == 0, done.stderr
    card = json.loads((tmp_path / "net" / "amortizer.json").read_text())
    assert card["prior"]["fingerprint"] and "6 images" in card["prior"]["data"]
    y = torch.zeros(1, 1, 8, 8)
    net = tmp_path / "net" / "amortizer.safetensors"
    lavps.restore(y, "denoise", 0.1, prior=tiny_prior, amortizer=net, preset="tiny")  # its own prior: fine
    with pytest.raises(ValueError, match="trained on another prior"):
        lavps.restore(y, "denoise", 0.1, prior=other_path, amortizer=net, preset="tiny")


def test_validation_that_cannot_run_is_refused(tmp_path, _cli, tiny_prior):
    cases = [
        (["--prior", "gmm:2", "--val-every", "1"], "none given"),
        (["--prior", "gmm:2", "--patience", "1"], "give --val-every N too"),
        (["--prior", tiny_prior, "--data", digits(tmp_path / "four", 4), "--val-every", "1"], "holds out none"),
    ]
    for extra, message in cases:
        done = _cli(*TRAIN, *extra, "--out", tmp_path / "o")
        assert done.returncode == 2 and message in done.stderr, (extra, done.stderr)
        assert not (tmp_path / "o").exists()


def test_extreme_blur_and_noise_parameters_are_handled_or_refused(tmp_path, _cli):
    k = gaussian_kernel(3, 1e300)  # std**2 overflowed: a traceback
    torch.testing.assert_close(k, torch.full((3, 3), 1 / 9, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"in \(0, 1e\+15\]"):
        parse_noise_spec("poisson:1e30")  # counts overflowed int64: an all-black observation, exit 0
    with pytest.raises(ValueError, match="holds 256 non-finite value"):
        lavps.degrade(torch.zeros(1, 32, 32), "sr:2", 1e300)  # inf written, refused only by a later restore
    write_png(torch.zeros(1, 32, 32), tmp_path / "c.png")
    done = _cli("degrade", tmp_path / "c.png", "--operator", "sr:2", "--sigma", "1e300", "--out", tmp_path / "o.png")
    assert done.returncode == 2 and "non-finite" in done.stderr and not list(tmp_path.glob("o*"))


def test_a_demo_with_nothing_to_run_fails_in_one_line(tmp_path, _cli):
    done = _cli("demo", "--quick", "--images", "1", "--quiet", "--operator", "jpeg:10", "--samplers", "ddrm-20",
                "--out", tmp_path / "d")  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: no sampler could run on any task: ddrm-20")
    assert not (tmp_path / "d").exists()


def test_demo_records_its_amortizer_and_honours_mean_images_under_quick(tmp_path, _cli):
    done = _cli("demo", "--quick", "--images", "1", "--quiet", "--operator", "sr:2", "--samplers", "ddrm-20",
                "--mean-images", "1", "--out", tmp_path / "d")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["config"]["mean_images"] == 1  # was silently 0 under --quick
    assert "mnist32_amortizer.safetensors" in summary["priors"][0]


def test_bench_gmm_never_wipes_a_partial_file(tmp_path, _cli):
    partial = tmp_path / "g.json.partial.jsonl"
    partial.write_text("my notes\n")
    done = _cli("bench", "gmm", "--dim", "2", "--obs-dim", "1", "--problems", "1", "--samples", "4", "--samplers",
                "ddrm", "--workers", "1", "--quiet", "--json", tmp_path / "g.json")  # fmt: skip
    assert done.returncode == 2 and "move it away" in done.stderr
    assert partial.read_text() == "my notes\n" and not (tmp_path / "g.json").exists()


def test_operator_seed_and_shape_must_be_integers():
    assert lavps.noise_model(0.1).sigma == 0.1  # exported at the top level, as api.__all__ says
    for bad in (1.5, True):
        with pytest.raises(TypeError, match="seed must be an integer"):
            lavps.operator("motion_blur:9:0.5", (1, 32, 32), seed=bad)
    with pytest.raises(ValueError, match="three integers"):
        lavps.operator("sr:2", (1, 32.7, 32))
    assert lavps.operator("sr:2", torch.Size([1, 32, 32])).out_shape == (1, 16, 16)


def test_bench_prior_records_its_settings(tmp_path, _cli):
    done = _cli("bench", "prior", "--samples", "2", "--steps", "3", "--times", "10,500", "--seed", "4",
                "--json", tmp_path / "p.json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "p.json").read_text())["config"]
    assert config == {"times": [10, 500], "samples": 2, "steps": 3, "seed": 4}  # the seed was not recorded


def test_sigterm_leaves_no_hidden_temporary_folder(tmp_path):
    """A killed run unwinds like Ctrl-C: its half-written outputs go with it (was: a hidden .OUT.lavps-tmp-*
    folder left beside --out)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "lavps.cli", "demo", "--quick", "--images", "1", "--operator", "sr:2"]
    cmd += ["--samplers", "dps", "--quiet", "--out", str(tmp_path / "d")]
    run = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".d.lavps-tmp-*")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "the demo ended before its outputs were begun"
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=60) == 128 + signal.SIGTERM
    assert not list(tmp_path.glob(".*")) and not (tmp_path / "d").exists()


def test_a_new_output_folder_gets_a_plain_folders_mode(tmp_path):
    import os

    from lavps.outputs import OutputFolder

    with OutputFolder(tmp_path / "new", "r.json") as tmp:  # written in a mkdtemp folder (0700), then moved
        (tmp / "r.json").write_text("{}")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o777 & ~mask


EDM = """
import torch


def frozen():
    @torch.no_grad()
    def d(x, sigma):
        return x / (1 + sigma.view(-1, 1, 1, 1) ** 2)

    d.shape = (1, 8, 8)
    return d


def as_numpy():
    def d(x, sigma):
        return x.detach().numpy()

    d.shape = (1, 8, 8)
    return d
"""


def test_a_users_denoiser_without_gradients_or_tensors_is_refused(tmp_path, _cli):
    (tmp_path / "edm_user.py").write_text(EDM)
    write_png(torch.zeros(1, 8, 8), tmp_path / "y.png")
    run = ["restore", tmp_path / "y.png", "--operator", "denoise", "--sigma", "0.1", "--preset", "tiny", "--quiet"]
    prior = f"edm:{tmp_path / 'edm_user.py'}:frozen"
    done = _cli(*run, "--prior", prior, "--sampler", "mgdm", "--out", tmp_path / "m")  # was: y ignored, exit 0
    assert done.returncode == 2 and "returns no gradient" in done.stderr and not (tmp_path / "m").exists()
    assert _cli(*run, "--prior", prior, "--sampler", "ddrm", "--out", tmp_path / "d").returncode == 0  # no gradient
    done = _cli(
        *run, "--prior", f"edm:{tmp_path / 'edm_user.py'}:as_numpy", "--sampler", "ddrm", "--out", tmp_path / "n"
    )
    assert done.returncode == 2 and "must return a torch.Tensor, got ndarray" in done.stderr  # was: a traceback


def test_references_off_the_scale_or_batched_are_refused(tiny_prior):
    result = lavps.restore(torch.zeros(1, 1, 8, 8), "denoise", 0.1, prior=tiny_prior, sampler="ddrm", preset="tiny",
                           samples=2)  # fmt: skip
    assert len(result.scores(torch.zeros(1, 8, 8))) == 2
    with pytest.raises(ValueError, match=r"the reference spans 0\.\.255"):
        result.scores(torch.linspace(0, 255, 64).reshape(1, 8, 8))  # was: scored at ~4 dB
    with pytest.raises(ValueError, match="the reference holds 64 non-finite"):
        result.scores(torch.full((1, 8, 8), float("nan")))  # was: NaN scores, "psnr": null in restore.json
    with pytest.raises(ValueError, match="a reference is one image; got a batch of 5"):
        result.scores(torch.zeros(5, 1, 8, 8))  # was: torch's expand error


def test_degrade_says_when_its_png_preview_loses_the_measurement(tmp_path, _cli):
    write_png(torch.full((1, 32, 32), 0.5), tmp_path / "c.png")
    base = ["degrade", tmp_path / "c.png", "--sigma", "0.05", "--seed", "1", "--out"]
    done = _cli(*base, tmp_path / "ph.png", "--operator", "phase:2")  # |F x| far above 1: the PNG clips y
    assert (
        done.returncode == 0 and "note: y spans" in done.stderr and "restore ph.observation.pt (exact)" in done.stderr
    )
    assert json.loads((tmp_path / "ph.json").read_text())["png_clipped_share"] > 0
    done = _cli(*base, tmp_path / "sr.png", "--operator", "sr:2")  # within [-1, 1] up to the noise: no note
    assert done.returncode == 0 and "note:" not in done.stderr
