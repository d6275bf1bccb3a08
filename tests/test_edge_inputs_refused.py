"""A fourth audit's paths: inputs at the edges that returned garbage, hung, crashed or hid a user's mistake now
get one clear line (an error, or a warning where the run itself is sound), and a user's trained network is
never replaced by a calibrated copy of another."""

import json

import numpy as np
import pytest
import torch

import lavps
from lavps.finite import NonFiniteError, check_finite
from lavps.imaging.io import write_png
from lavps.inputs import check_poisson_counts
from lavps.operators import parse_noise_spec
from lavps.operators.user_files import kernel_operator_from_file

TRAIN = ["train-amortizer", "--iterations", "2", "--batch-size", "2", "--ckpt-every", "1", "--quiet"]


def _clean(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_lavps_refuses_a_noise_level_below_its_float32_floor():
    y = torch.zeros(1, 1, 32, 32)
    with pytest.raises(ValueError, match="needs sigma_y >= 1e-06.*--sampler mgdm"):
        lavps.restore(y, "denoise", 1e-8, preset="tiny")


def test_a_diverged_sampler_is_named_in_a_warning(tiny_prior):
    obs = lavps.degrade(_clean(), lavps.operator("denoise", (1, 8, 8)), sigma=0.1, seed=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        lavps.restore(obs.y, "denoise", 0.1, prior=tiny_prior, sampler="mgdm", preset="tiny",
                      settings={"temperature": 1e30})  # fmt: skip


def test_a_poisson_observation_must_be_whole_counts_above_minus_one():
    noise = parse_noise_spec("poisson:10")
    op = lavps.operator("sr:2", (1, 8, 8))
    y = lavps.degrade(_clean(1), op, noise=noise, seed=2).y
    check_poisson_counts(y, noise)  # a real one passes
    with pytest.raises(ValueError, match=">= -1"):
        check_poisson_counts(y - 0.5, noise)
    gaussian = lavps.degrade(_clean(1).clamp(-0.5, 0.5), op, sigma=0.05, seed=2).y
    with pytest.raises(ValueError, match="whole photon counts"):
        check_poisson_counts(gaussian, noise)


@pytest.mark.parametrize("peak", [1e-4, 1e-3, 2, 10, 100, 5000])
@pytest.mark.parametrize("spec", ["sr:2", "denoise", "gaussian_blur:3:1.0", "pixels:0.3"])
def test_raw_photon_counts_are_refused_and_real_poisson_observations_pass(peak, spec):
    noise = parse_noise_spec(f"poisson:{peak}")
    op = lavps.operator(spec, (1, 8, 8), seed=0)
    for clean in (_clean(3), torch.ones(1, 1, 8, 8), -torch.ones(1, 1, 8, 8)):  # the extremes of the range too
        for seed in range(20 if peak < 1 else 1):  # a photon or two at a tiny peak is no raw count
            y = lavps.degrade(clean, op, noise=noise, seed=4 + seed).y
            check_poisson_counts(y, noise, op)
    counts = noise.counts(lavps.degrade(torch.ones(1, 1, 8, 8), op, noise=noise, seed=4).y).round()
    if peak < 10:  # a few photons: counts and y = 2 k / peak - 1 have the same scale, nothing tells them apart
        return
    with pytest.raises(ValueError, match="raw photon counts"):
        check_poisson_counts(counts, noise, op)


@pytest.mark.parametrize("make", [lambda y: torch.complex(y, y), lambda y: y.long(), lambda y: y.to_sparse()])
def test_observations_that_would_be_cast_silently_are_refused(make):
    y = torch.zeros(1, 1, 32, 32)
    with pytest.raises(TypeError, match="dense real float tensor"):
        lavps.restore(make(y), "denoise", 0.1, preset="tiny")


def test_bad_settings_types_seeds_and_non_finite_observations_are_named():
    with pytest.raises(TypeError, match="settings must be a dict"):
        lavps.restore(torch.zeros(1, 1, 32, 32), "denoise", 0.1, preset="tiny", settings=[("steps", 8)])
    for call in (lambda: lavps.degrade(_clean(), "denoise", sigma=0.1, seed=2**64),
                 lambda: lavps.operator("pixels:0.5", (1, 8, 8), seed=2**70)):  # fmt: skip
        with pytest.raises(ValueError, match="signed 64-bit"):
            call()
    y = torch.zeros(1, 1, 16, 16)
    y[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf entries"):  # was reported as a scale problem
        lavps.restore(y, "sr:2", 0.1, preset="tiny")


def test_a_non_finite_iterate_blames_the_divergence_not_the_network():
    x = torch.zeros(2, 3)
    x[1, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="iterate given to the prior's denoiser became non-finite.*diverged"):
        check_finite(x * 2, "the prior's denoiser", x)
    with pytest.raises(NonFiniteError, match="the prior's denoiser returned non-finite values"):
        check_finite(x * 2, "the prior's denoiser", torch.zeros(2, 3))


def test_kernels_that_cancel_and_paper_tasks_too_large_get_one_plain_reason(tmp_path):
    np.save(tmp_path / "k.npy", np.array([[1.0, -0.9999999]]))  # normalised to sum 1: a gain of 1e7
    with pytest.raises(ValueError, match="nearly cancels"):
        kernel_operator_from_file(tmp_path / "k.npy", (1, 8, 8))
    with pytest.raises(ValueError) as err:
        lavps.operator("paper:mb_35_0.3")
    assert str(err.value).count("Allowed specs") == 1 and "motion_blur:35:0.3: kernel SIZE 35" in str(err.value)


def test_lists_with_a_repeated_or_no_value_are_refused(_cli):
    for args, message in ((["bench", "gmm", "--samplers", "dps", "dps"], "dps given more than once"),
                          (["bench", "gmm", "--dim", "8", "8"], "8 given more than once"),
                          (["bench", "speed", "--samplers", ""], "empty list"),
                          (["bench", "pareto", "--operator", ""], "empty list")):  # fmt: skip
        done = _cli(*args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)


def test_calibrate_amortizer_never_replaces_a_trained_network(tmp_path, _cli):
    assert _cli(*TRAIN, "--out", tmp_path / "ta").returncode == 0
    trained = (tmp_path / "ta" / "amortizer.safetensors").read_bytes()
    done = _cli("calibrate-amortizer", "--operator", "sr:4", "--problems", "2", "--samples", "2", "--quiet",
                "--out", tmp_path / "ta" / "amortizer", "--overwrite")  # fmt: skip
    assert done.returncode == 2 and "not an earlier output of calibrate-amortizer" in done.stderr, done.stderr
    assert (tmp_path / "ta" / "amortizer.safetensors").read_bytes() == trained


def test_a_damaged_checkpoint_sidecar_does_not_block_resume_and_a_mismatch_is_short(tmp_path, _cli):
    out = tmp_path / "ta"
    assert _cli(*TRAIN, "--out", out).returncode == 0
    (out / "amortizer_checkpoint.json").write_text("[1]")  # the safetensors checkpoint holds the same record
    done = _cli(*TRAIN[:2], "3", *TRAIN[3:], "--out", out, "--resume")
    assert done.returncode == 0, done.stderr
    done = _cli(*TRAIN, "--out", out, "--resume", "--operator", "sr:2")
    assert done.returncode == 2 and "info.family.name" in done.stderr and len(done.stderr) < 600, done.stderr


def test_unusable_names_are_refused_before_any_work(tmp_path, _cli):
    done = _cli("bench", "pareto", "--json", tmp_path / "p.json", "--png", tmp_path / "p.json")
    assert done.returncode == 2 and "--png" in done.stderr and not (tmp_path / "p.json").exists()
    done = _cli("bench", "prior", "--prior", "gmm:8")
    assert done.returncode == 2 and "not a spec" in done.stderr
    with pytest.raises(ValueError, match="unknown HDiT preset 'bogus'"):
        lavps.load_prior("hdit:random:bogus")


def test_a_noise_contradicting_the_degrade_record_is_said(tmp_path, _cli, tiny_prior):
    write_png(_clean()[0].clamp(-0.9, 0.9), tmp_path / "clean.png")
    made = _cli("degrade", tmp_path / "clean.png", "--operator", "denoise", "--noise", "poisson:10",
                "--prior", tiny_prior, "--out", tmp_path / "o.png")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads((tmp_path / "o.json").read_text())["noise"] == "poisson:10"
    done = _cli("restore", tmp_path / "o.observation.pt", "--sigma", "0.05", "--sampler", "ddrm", "--preset", "tiny",
                "--quiet", "--out", tmp_path / "r")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning: restoring with gaussian:0.05" in done.stderr and "made with poisson:10" in done.stderr
