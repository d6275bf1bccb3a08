"""A fifth audit's paths (non-linear measurements, Poisson, latent priors, the demo): a bounded measurement's
observation on another scale is refused, a latent prior's decoder stays float32 under --precision bf16, an
operator that contradicts degrade's record is named, and the demo flags rows whose samples diverged."""

import pytest
import torch

import lavps
from lavps.evaluation.demo_report import diverged_rows
from lavps.imaging.io import write_png
from lavps.inputs import check_observation_scale, check_poisson_counts
from lavps.operators import parse_noise_spec
from lavps.priors.placement import place_prior
from test_latent_prior import _ldm_folder


def _clean(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("spec", ["jpeg:10", "hdr:2", "phase:2"])
def test_a_bounded_measurement_on_another_scale_is_refused(spec):
    op = lavps.operator(spec, (1, 8, 8))
    for seed in range(3):  # real observations, also of saturated images, pass
        for x in (_clean(seed), torch.ones(1, 1, 8, 8), -torch.ones(1, 1, 8, 8)):
            check_observation_scale(lavps.degrade(x, op, sigma=0.2, seed=seed).y, op, 0.2)
    y = lavps.degrade(_clean(), op, sigma=0.05, seed=1).y
    with pytest.raises(ValueError, match="is it on a 0..255 scale"):
        check_observation_scale((y + 1) * 127.5, op, 0.05)


def test_out_of_range_hdr_scales_and_photonless_observations_are_named():
    for scale in ("1e-300", "1e40"):  # rounded to 0 (nothing observed) or inf in float32
        with pytest.raises(ValueError, match=r"\[0.001, 1000\]"):
            lavps.operator(f"hdr:{scale}", (1, 8, 8))
    with pytest.warns(RuntimeWarning, match="no photon"):
        check_poisson_counts(-torch.ones(1, 1, 8, 8), parse_noise_spec("poisson:10"))


def test_a_latent_priors_decoder_stays_float32_under_bf16(tmp_path):
    prior = lavps.load_prior(f"ldm:{_ldm_folder(tmp_path / 'ldm', 'kl')}")
    placed = place_prior(prior, "cpu", "bf16")
    assert next(placed.latent.parameters()).dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in placed.autoencoder.parameters())
    with pytest.raises(ValueError, match="a latent prior observes A\\(decode\\(z\\)\\)"):
        lavps.restore(torch.zeros(1, *placed.image_shape), "denoise", 0.1, prior=placed, sampler="ddrm")


def test_an_operator_that_contradicts_the_degrade_record_is_named(tmp_path, _cli, tiny_prior):
    write_png(_clean()[0], tmp_path / "clean.png")
    made = _cli("degrade", tmp_path / "clean.png", "--operator", "hdr:2", "--sigma", "0.05", "--prior", tiny_prior,
                "--out", tmp_path / "o.png")  # fmt: skip
    assert made.returncode == 0, made.stderr
    run = [
        "restore",
        tmp_path / "o.observation.pt",
        "--sampler",
        "dps",
        "--steps",
        "3",
        "--quiet",
        "--prior",
        tiny_prior,
    ]
    done = _cli(*run, "--operator", "jpeg:10", "--out", tmp_path / "r1")
    assert done.returncode == 0 and "warning: restoring with --operator jpeg:10" in done.stderr, done.stderr
    assert "made with hdr:2" in done.stderr
    done = _cli(*run, "--operator", "hdr:2", "--out", tmp_path / "r2")  # the recorded one: nothing to say
    assert done.returncode == 0 and "restoring with" not in done.stderr, done.stderr


def test_the_demo_flags_rows_whose_samples_diverged():
    rows = [
        dict(prior="p", task="jpeg:10", sampler=s, max_abs=m)
        for s, m in (("dps", 2e4), ("dps", 0.9), ("lavps", 1.2), ("lavps", 1.0))
    ]
    assert diverged_rows(rows) == ["dps on jpeg:10 (p): 1 of 2 digits, |x| up to 2e+04"]


def test_fit_is_refused_for_an_observation_that_is_no_image():
    y = torch.ones(1, 1, 12, 12)  # e.g. phase:4 magnitudes given for phase:2 (6x6)
    with pytest.raises(ValueError, match="observes no image"):
        lavps.restore(y, lavps.operator("phase:2", (1, 3, 3)), 0.05, prior=None, run=lavps.RunOptions(fit="crop"))
