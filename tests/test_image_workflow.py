"""Images end to end on tiny budgets: degrade -> restore round trip through the CLI, the UNet amortizer's
zero-init contract, clear errors, and the shipped prior/amortizer (one short sampling)."""

import json

import pytest
import torch

from helpers import tiny_image_prior
from lavps.amortize.defaults import default_amortizer_path
from lavps.amortize.unet import UNetAmortizer
from lavps.imaging.io import read_png, write_png
from lavps.objective import bridge_prior
from lavps.priors.image_unet import default_prior_path, save_image_prior


@pytest.fixture(scope="module")
def tiny_prior_file(tmp_path_factory):
    prior = tiny_image_prior(1, 8)
    path = tmp_path_factory.mktemp("prior") / "tiny.safetensors"
    save_image_prior(prior, path, {"note": "tiny test prior"})
    return path


@pytest.fixture
def clean_png(tmp_path):
    g = torch.Generator().manual_seed(1)
    return write_png(torch.rand(1, 8, 8, generator=g) * 2 - 1, tmp_path / "clean.png")


@pytest.mark.parametrize("spec", ["gaussian_blur:3:1.0", "box:0.3:0.5", "sr:2"])
def test_degrade_then_restore_round_trip(tmp_path, tiny_prior_file, clean_png, spec, _cli):
    obs = tmp_path / "obs.png"
    p = _cli(
        "degrade",
        clean_png,
        "--operator",
        spec,
        "--sigma",
        "0.1",
        "--seed",
        "3",
        "--out",
        obs,
        "--prior",
        tiny_prior_file,
    )
    assert p.returncode == 0, p.stderr
    assert obs.is_file() and (tmp_path / "obs.operator.safetensors").is_file()
    out = tmp_path / "restored"
    r = _cli(
        "restore",
        tmp_path / "obs.observation.pt",
        "--operator-file",
        tmp_path / "obs.operator.safetensors",
        "--sigma",
        "0.1",
        "--sampler",
        "mgdm",
        "--prior",
        tiny_prior_file,
        "--samples",
        "2",
        "--steps",
        "6",
        "--adam-out",
        "1",
        "--adam-in",
        "1",
        "--reference",
        clean_png,
        "--out",
        out,
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "restore.json").read_text())
    assert [s["seed"] for s in meta["samples"]] == [0, 1] and "psnr" in meta["samples"][0]
    assert meta["cost"]["denoiser_forwards"] > 0 and meta["cost"]["seconds"] > 0
    for name in ("reconstruction_000.png", "reconstruction_001.png", "posterior_mean.png", "posterior_std.png"):
        assert (out / name).is_file()
    # the same spec and seed redraw the same operator: restoring the PNG with --operator works too
    r2 = _cli(
        "restore",
        obs,
        "--operator",
        spec,
        "--op-seed",
        "3",
        "--sigma",
        "0.1",
        "--sampler",
        "dps",
        "--dps-steps",
        "5",
        "--prior",
        tiny_prior_file,
        "--out",
        tmp_path / "r2",
        "--quiet",
    )
    assert r2.returncode == 0, r2.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--operator", "nope:1"], "unknown kind"),
        (["--operator", "sr:2", "--sigma", "-1"], "--sigma"),
        (["--operator", "sr:3"], "sr"),
        (["--operator", "sr:2 sr:4"], "one spec per argument"),  # several specs quoted as one argument
    ],
)
def test_restore_errors_are_one_line_and_leave_nothing(tmp_path, tiny_prior_file, clean_png, args, needle, _cli):
    full = ["restore", clean_png, "--prior", tiny_prior_file, "--out", tmp_path / "out", "--quiet"]
    if "--sigma" not in args:
        full += ["--sigma", "0.1"]
    p = _cli(*full, *args)
    assert p.returncode != 0
    assert needle in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists()


def test_wrong_image_size_is_named(tmp_path, tiny_prior_file, _cli):
    big = write_png(torch.zeros(1, 16, 16), tmp_path / "big.png")
    p = _cli(
        "degrade",
        big,
        "--operator",
        "denoise",
        "--sigma",
        "0.1",
        "--out",
        tmp_path / "o.png",
        "--prior",
        tiny_prior_file,
    )
    assert p.returncode != 0 and "16x16" in p.stderr and "8x8" in p.stderr


def test_corrupt_prior_is_rejected(tmp_path, clean_png, _cli):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    p = _cli(
        "degrade", clean_png, "--operator", "denoise", "--sigma", "0.1", "--out", tmp_path / "o.png", "--prior", bad
    )
    assert p.returncode != 0 and "bad.safetensors" in p.stderr and "Traceback" not in p.stderr


def test_rgb_png_is_read_as_luminance(tmp_path):
    rgb = write_png(torch.zeros(3, 8, 8), tmp_path / "rgb.png")
    x = read_png(rgb, channels=1, size=(8, 8))
    assert x.shape == (1, 1, 8, 8) and torch.allclose(x, torch.zeros_like(x), atol=1e-2)


def test_unet_amortizer_zero_init_gives_zero_shot_start():
    net = UNetAmortizer((1, 8, 8), channels=(8, 8), input_kind="pinv")
    g = torch.Generator().manual_seed(0)
    x_t, x0, y = (torch.randn(3, 1, 8, 8, generator=g) for _ in range(3))
    from lavps.diffusion import Schedule

    sched = Schedule.linear()
    bridge = bridge_prior(sched, x0, x_t, 100, 200)
    mu, rho = net.candidate(bridge, x_t, x0, y, sched.sigma(200).float().expand(3), sched.sigma(100).float().expand(3))
    assert torch.equal(mu, bridge.mean) and torch.equal(rho, bridge.log_std.expand_as(mu))


@pytest.mark.skipif(not default_prior_path().is_file(), reason="shipped prior not exported yet")
def test_shipped_prior_runs_a_short_sampling():
    from lavps.priors.image_unet import load_image_prior
    from lavps.samplers import DDIM

    prior = load_image_prior()
    out = DDIM(prior, steps=5).sample(None, 2, seed=0).samples
    assert out.shape == (2, 1, 32, 32) and torch.isfinite(out).all()


@pytest.mark.skipif(not default_amortizer_path().is_file(), reason="shipped amortizer not exported yet")
def test_shipped_amortizer_runs_lavps_on_a_short_budget():
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.operators import GaussianNoise, InverseProblem
    from lavps.operators.spec import parse_operator_spec
    from lavps.priors.image_unet import load_image_prior
    from lavps.samplers import VISettings, WindowSchedule
    from lavps.samplers.lavps import LAVPS

    prior = load_image_prior()
    net = load_amortizer(default_amortizer_path(), prior=prior)
    op = parse_operator_spec("motion_blur:9:0.5", prior.shape).sample_one(torch.Generator().manual_seed(0))
    x = torch.zeros(1, *prior.shape)
    prob = InverseProblem(op.forward(x), op, GaussianNoise(0.05))
    settings = VISettings(steps=8, adam_steps=WindowSchedule(1, 1, 3), lr=WindowSchedule(0.03, 0.03, 3))
    r = LAVPS(prior, net, settings, inner_steps=1).sample(prob, 2, seed=[0, 1])
    assert r.samples.shape == (2, *prior.shape) and torch.isfinite(r.samples).all()
    assert r.cost.amortizer_forwards == 3


@pytest.mark.skipif(not default_amortizer_path().is_file(), reason="shipped amortizer not exported yet")
def test_demo_report_on_a_tiny_budget(tmp_path):
    import csv

    from lavps.amortize.checkpoint import load_amortizer
    from lavps.evaluation.classifier import load_classifier
    from lavps.evaluation.demo import DemoConfig, format_demo_table, run_demo, trained_families
    from lavps.operators import parse_operator_spec
    from lavps.priors.image_unet import load_image_prior

    prior = load_image_prior()
    net = load_amortizer(default_amortizer_path(), prior=prior)
    tiny = {"steps": 8, "window": 3, "adam_out": 1, "lr": 0.03}
    config = DemoConfig(
        images=2,
        tasks=("motion_blur:9:0.5", "sr:2"),
        mean_images=1,
        mean_samples=2,
        samplers={
            "dps": ("dps", {"steps": 5, "dps_zeta": 1.0}),
            "mgdm": ("mgdm", {**tiny, "adam_in": 1}),
            "lavps": ("lavps", {**tiny, "inner_steps": 1}),
        },
        draw_problems=0,
    )
    out = run_demo(config, prior, net, load_classifier(), tmp_path / "report", progress=False)
    assert {(r["task"], r["sampler"]) for r in out["summary"]} == {
        (t, s) for t in config.tasks for s in ("dps", "mgdm", "lavps")
    }
    assert all(r["images"] == 2 for r in out["summary"])
    for name in ("report.md", "metrics.csv", "summary.json", "quality_vs_seconds.png", "grid_sr_2.png"):
        assert (tmp_path / "report" / name).is_file()
    with open(tmp_path / "report" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 3 * 2 and {"psnr", "ssim", "seed", "seconds_per_image", "label_kept"} <= set(rows[0])
    assert all(r["mean_psnr"] != "" for r in rows if r["image"] == rows[0]["image"])  # first digit: mean of 2
    assert all(r["mean_psnr"] == "" for r in rows if r["image"] != rows[0]["image"])
    # the same 2 samples' energy score and spread ratio: a second, proper ranking of the fast tier
    assert all(float(r["energy_score"]) > 0 for r in rows if r["image"] == rows[0]["image"])
    assert all(r["energy_score"] == "" for r in rows if r["image"] != rows[0]["image"])
    assert all(r["energy_score"] > 0 and r["energy_digits"] == 1 and r["spread_ratio"] > 0 for r in out["summary"])
    assert "by the energy score" in (tmp_path / "report" / "report.md").read_text()
    table = format_demo_table(out["summary"])
    assert "motion_blur:9:0.5" in table and "win" in table
    assert "clean" in table and all(0.0 <= r["label_clean"] <= 1.0 for r in out["summary"])
    # the gap of LAVPS to the better of DPS and MGDM, paired per digit, in the result and the report
    assert {(g["task"], g["sampler"]) for g in out["targets"]} == {(t, "lavps") for t in config.tasks}
    assert all(g["reference"] in ("dps", "mgdm") and g["images"] == 2 for g in out["targets"])
    assert "paired per digit" in (tmp_path / "report" / "report.md").read_text()
    assert all(r["in_distribution"] for r in out["summary"])  # both tasks are among its training families
    # canonical specs: 'gaussian_blur:9:2.0' in a task list is the card's 'gaussian_blur:9:2'
    assert "gaussian_blur:9:2" in trained_families(net, prior.shape) and "center:0.35" not in trained_families(
        net, prior.shape
    )
    assert parse_operator_spec("gaussian_blur:9:2.0", prior.shape).spec in trained_families(net, prior.shape)
    lavps_rows = [r for r in out["summary"] if r["sampler"] == "lavps"]
    assert all("network=" in r["wins"] for r in lavps_rows)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Glossary" in report and "dps_zeta" in report


@pytest.mark.skipif(not default_amortizer_path().is_file(), reason="shipped amortizer not exported yet")
def test_restore_with_lavps_uses_the_shipped_amortizer(tmp_path, _cli):
    from lavps.data.mnist import mnist_split

    clean = write_png(mnist_split("test")[0][3], tmp_path / "digit.png")
    assert (
        _cli(
            "degrade", clean, "--operator", "motion_blur:9:0.5", "--sigma", "0.05", "--out", tmp_path / "obs.png"
        ).returncode
        == 0
    )
    r = _cli(
        "restore",
        tmp_path / "obs.observation.pt",
        "--operator-file",
        tmp_path / "obs.operator.safetensors",
        "--sigma",
        "0.05",
        "--sampler",
        "lavps",
        "--steps",
        "8",
        "--adam-out",
        "1",
        "--inner-steps",
        "1",
        "--out",
        tmp_path / "res",
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "res" / "restore.json").read_text())
    assert meta["cost"]["amortizer_forwards"] > 0
    assert meta["amortizer"].endswith("mnist32_amortizer.safetensors")


@pytest.mark.skipif(not default_amortizer_path().is_file(), reason="shipped amortizer not exported yet")
def test_demo_applies_and_reports_the_tuned_baseline_settings(tmp_path):
    """A task written non-canonically ('gaussian_blur:9:2.0') still gets its family's tuned DiffPIR setting,
    and the report names it; --paper-baselines runs (and says) the defaults."""
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.evaluation.classifier import load_classifier
    from lavps.evaluation.demo import DemoConfig, run_demo
    from lavps.priors.image_unet import load_image_prior
    from lavps.samplers.presets import tuned_options

    prior = load_image_prior()
    net = load_amortizer(default_amortizer_path(), prior=prior)
    tuned = tuned_options("diffpir", "gaussian_blur:9:2")
    assert tuned
    psnrs, reports = {}, {}
    for on in (True, False):
        config = DemoConfig(
            images=1,
            tasks=("gaussian_blur:9:2.0",),
            mean_images=0,
            samplers={"diffpir-5": ("diffpir", {"steps": 5})},
            tuned_baselines=on,
            draw_problems=0,
        )
        out = run_demo(config, prior, net, load_classifier(), tmp_path / str(on), progress=False)
        psnrs[on] = out["summary"][0]["psnr"]
        reports[on] = (tmp_path / str(on) / "report.md").read_text()
    assert f"- gaussian_blur:9:2, diffpir-5: {tuned}" in reports[True]
    assert "default settings on every task" in reports[False] and str(tuned) not in reports[False]
    assert psnrs[True] != psnrs[False]  # the tuned setting really ran
