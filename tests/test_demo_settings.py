"""The demo's non-linear rows, its prior-draw setting and priors side by side (tiny budgets, 32 px)."""

import json
import math

import pytest

import lavps
from lavps.amortize.defaults import default_amortizer_path, nonlinear_amortizer_path
from lavps.evaluation.demo_report import format_prior_pairs, prior_pairs

TINY = {"steps": 8, "window": 3, "adam_out": 1, "lr": 0.03}
SHIPPED = default_amortizer_path().is_file() and nonlinear_amortizer_path().is_file()


def test_prior_pairs_are_paired_per_digit():
    digits = [20.0, 30.0, 25.0]
    rows = [dict(prior="a", task="t", sampler="s", image=i, psnr=p) for i, p in enumerate(digits)]
    rows += [dict(prior="b", task="t", sampler="s", image=i, psnr=p + 1.0 + 0.1 * i) for i, p in enumerate(digits)]
    cost = dict(ssim=0.5, seconds_per_image=1.0, denoiser_forwards=3, denoiser_backwards=0)
    summary = [dict(prior=p, task="t", sampler="s", psnr=0.0, **cost) for p in ("a", "b")]
    (pair,) = prior_pairs(rows, summary)
    assert pair["gap"] == pytest.approx(1.1) and pair["gap_ci95"] < 0.5  # unpaired spread would be ~10 dB
    assert "1 = a, 2 = b" in format_prior_pairs([pair])
    assert prior_pairs(rows[:3], summary[:1]) == []  # one prior: nothing to pair


@pytest.mark.skipif(not SHIPPED, reason="shipped amortizers not exported")
def test_demo_nonlinear_rows_and_prior_draws(tmp_path):
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.evaluation.classifier import load_classifier
    from lavps.evaluation.demo import DemoConfig, DemoPrior, run_demo
    from lavps.priors.image_unet import load_image_prior

    prior = load_image_prior()
    linear_net = load_amortizer(default_amortizer_path(), prior=prior)
    demo_prior = DemoPrior("mnist", prior, linear_net, load_amortizer(nonlinear_amortizer_path(), prior=prior))
    config = DemoConfig(
        images=2,
        tasks=("sr:2", "phase:2", "hdr:2"),
        mean_images=0,
        samplers={"ddrm-8": ("ddrm", {"steps": 8}), "lavps": ("lavps", {**TINY, "inner_steps": 0})},
        draw_problems=2,
        draw_samples=3,
        draw_tasks=("sr:2",),
        draw_prior_steps=4,
    )
    out = run_demo(config, [demo_prior], None, load_classifier(), tmp_path / "r", progress=False)
    ran = {(r["task"], r["sampler"]): r for r in out["summary"]}
    # DDRM needs a linear operator: run on sr:2, named as not run on the two non-linear tasks
    assert set(ran) == {("sr:2", "ddrm-8"), ("sr:2", "lavps"), ("phase:2", "lavps"), ("hdr:2", "lavps")}
    assert sum("ddrm-8 on" in s and "linear" in s for s in out["skipped"]) == 2
    # ID-ness of a non-linear task comes from the non-linear amortizer's card (phase:2 in it, hdr:2 not)
    assert ran[("phase:2", "lavps")]["in_distribution"] and not ran[("hdr:2", "lavps")]["in_distribution"]
    assert ran[("sr:2", "lavps")]["in_distribution"]
    modes = ran[("phase:2", "lavps")]["modes"]
    assert math.isclose(sum(modes.values()), 1.0) and all(v in (0.0, 0.5, 1.0) for v in modes.values())
    assert "modes" not in ran[("sr:2", "lavps")]
    # prior draws: every row on the draw task, coverage inside its own Wilson interval, the digits' PSNR beside
    draws = {d["sampler"]: d for d in out["prior_draws"]}
    assert set(draws) == {"ddrm-8", "lavps"}
    for name, d in draws.items():
        assert d["problems"] == 2 and d["samples"] == 3 and d["seconds_per_sample"] > 0
        assert set(d["coverage90"]) == {"projections", "pixels", "distance", "discrepancy"}
        assert all(c["low"] <= c["coverage"] <= c["high"] for c in d["coverage90"].values())
        assert d["digits_psnr"] == ran[("sr:2", name)]["psnr"] and 0 < d["ssim"] <= 1
        assert d["energy_score"] > 0 and d["spread_ratio"] > 0
    report = (tmp_path / "r" / "report.md").read_text()
    assert "Prior draws" in report and "Phase retrieval" in report and "distance" in report
    # every setting that ran, per task and row, with its seeds (the card's temperature, generated overrides)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    that_ran = {(r["task"], r["row"]): r for r in summary["settings_that_ran"]}
    assert set(that_ran) == set(ran) and that_ran[("sr:2", "ddrm-8")]["settings"]["steps"] == 8
    assert that_ran[("sr:2", "lavps")]["sampler"] == "lavps" and len(that_ran[("sr:2", "lavps")]["seeds"]) == 2
    assert summary["lavps_version"] == lavps.__version__ and summary["diverged"] == []
    assert "energy score" in report


@pytest.mark.skipif(not SHIPPED, reason="shipped amortizers not exported")
def test_demo_sets_pixel_and_latent_priors_side_by_side(tmp_path):
    import json

    from lavps.amortize.checkpoint import load_amortizer
    from lavps.api import load_prior
    from lavps.evaluation.classifier import load_classifier
    from lavps.evaluation.demo import DemoConfig, DemoPrior, run_demo

    priors = []
    for spec in ("mnist", "ldm:mnist"):
        prior = load_prior(spec)
        priors.append(DemoPrior(spec, prior, load_amortizer(default_amortizer_path(prior), prior=prior)))
    config = DemoConfig(
        images=2,
        tasks=("sr:2",),
        mean_images=0,
        samplers={"ddrm-8": ("ddrm", {"steps": 8}), "lavps": ("lavps", {**TINY, "inner_steps": 0})},
        draw_problems=0,
    )
    out = run_demo(config, priors, None, load_classifier(), tmp_path / "r", progress=False)
    ran = {(r["prior"], r["sampler"]) for r in out["summary"]}
    assert ran == {("mnist", "ddrm-8"), ("mnist", "lavps"), ("ldm:mnist", "lavps")}  # DDRM: not on z
    assert any(s.startswith("ddrm-8 on ldm:mnist sr:2") for s in out["skipped"])
    # both priors restore the same digits from the same observations, decoded to images for the metrics
    digits = {p: sorted(r["image"] for r in out["rows"] if r["prior"] == p and r["sampler"] == "lavps") for p in ran}
    assert digits[("mnist", "lavps")] == digits[("ldm:mnist", "lavps")]
    (pair,) = json.loads((tmp_path / "r" / "summary.json").read_text())["prior_pairs"]
    assert pair["sampler"] == "lavps" and pair["first_prior"] == "mnist" and pair["other_prior"] == "ldm:mnist"
    assert {g["prior"] for g in out["targets"]} <= {"mnist", "ldm:mnist"}
    assert (tmp_path / "r" / "grid_ldm_mnist_sr_2.png").is_file()
