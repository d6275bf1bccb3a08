"""`lavps bench spread`: one sample vs the mean of K on the demo's own digits and observations."""

import json

import pytest
import torch

from lavps.amortize.defaults import default_amortizer_path
from lavps.evaluation.demo import DemoConfig
from lavps.evaluation.spread import SpreadConfig, run_spread

TINY = {"steps": 8, "window": 3, "adam_out": 1, "lr": 0.03}
pytestmark = pytest.mark.skipif(not default_amortizer_path().is_file(), reason="shipped amortizer not exported yet")


@pytest.fixture(scope="module")
def shipped():
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.priors.image_unet import load_image_prior

    prior = load_image_prior()
    return prior, load_amortizer(default_amortizer_path(), prior=prior)


def _demo(**kw):
    samplers = {"ddrm-20": ("ddrm", {"steps": 6}), "lavps-tiny": ("lavps", {**TINY, "inner_steps": 0})}
    return DemoConfig(images=3, tasks=("sr:2", "center:0.35"), mean_images=0, samplers=samplers, **kw)


def test_sample_zero_is_the_demos_sample_and_gaps_are_paired(shipped, tmp_path):
    from lavps.evaluation.classifier import load_classifier
    from lavps.evaluation.demo import run_demo

    prior, net = shipped
    demo = _demo()
    config = SpreadConfig(demo=demo, samples=3, compare=(("lavps-tiny", "ddrm-20"),))
    out = run_spread(config, prior, net, progress=False)
    reported = run_demo(demo, prior, net, load_classifier(), tmp_path / "demo", progress=False)["rows"]
    demo_psnr = {(r["task"], r["sampler"], r["image"]): r["psnr"] for r in reported}
    assert len(out["rows"]) == 2 * 2 * 3
    for r in out["rows"]:  # the same digits, observations and seed as `lavps demo`: the same first sample
        assert r["psnr_one"] == pytest.approx(demo_psnr[(r["task"], r["sampler"], r["image"])], abs=1e-4)
        assert r["spread"] > 0 and torch.isfinite(torch.tensor(r["psnr_mean"]))
    for g in out["gaps"]:  # paired: the mean of per-digit differences
        mine = [r for r in out["rows"] if r["task"] == g["task"] and r["sampler"] == "lavps-tiny"]
        ref = {r["image"]: r for r in out["rows"] if r["task"] == g["task"] and r["sampler"] == "ddrm-20"}
        diffs = [m["psnr_mean"] - ref[m["image"]]["psnr_mean"] for m in mine]
        assert g["psnr_mean"] == pytest.approx(sum(diffs) / len(diffs))
        against_one = [m["psnr_mean"] - ref[m["image"]]["psnr_one"] for m in mine]
        assert g["mean_vs_one"] == pytest.approx(sum(against_one) / len(against_one))
    assert {g["task"] for g in out["gaps"]} == set(demo.tasks)
    json.dumps(out)  # the result is JSON as it stands (config included)


def test_more_samples_keep_the_first_ones(shipped):
    # draw k uses its own seeds: asking for more samples does not change the ones already drawn
    prior, net = shipped
    demo = DemoConfig(**{**_demo().__dict__, "tasks": ("sr:2",)})
    two = run_spread(SpreadConfig(demo=demo, samples=2), prior, net, progress=False)["rows"]
    three = run_spread(SpreadConfig(demo=demo, samples=3), prior, net, progress=False)["rows"]
    assert [r["psnr_one"] for r in two] == [r["psnr_one"] for r in three]
    assert [r["psnr_mean"] for r in two] != [r["psnr_mean"] for r in three]


def test_bad_spread_settings_are_named():
    with pytest.raises(ValueError, match="at least 2 samples"):
        SpreadConfig(demo=_demo(), samples=1)
    with pytest.raises(ValueError, match="unknown row"):
        SpreadConfig(demo=_demo(), compare=(("lavps-tiny", "nope"),))


def test_cli_unknown_row_is_one_line(_cli):
    res = _cli("bench", "spread", "--samplers", "nope", "--images", "1")
    assert res.returncode != 0 and "unknown demo row" in res.stderr and "Traceback" not in res.stderr
