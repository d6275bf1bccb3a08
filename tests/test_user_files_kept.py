"""Commands never replace a file lavps did not write, even with --overwrite; records lavps reads but does not
need never block a run; values that would be silently wrong (a float seed, a 0..255 or NaN clean image, a
bare number as noise spec) are refused in one line."""

import json
import warnings

import pytest
import torch

import lavps
from lavps.imaging.io import write_png
from lavps.priors.image_unet import load_image_prior

CALIBRATION = ["bench", "calibration", "--operator", "denoise", "--samplers", "ddrm:tiny", "--problems", "2"]
CALIBRATION += ["--samples", "2", "--prior-steps", "3", "--quiet"]


def test_bench_calibration_replaces_only_its_own_report(tmp_path, _cli, tiny_prior):
    run = [*CALIBRATION, "--prior", tiny_prior, "--out"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "calibration.json").write_text('{"my": "own results"}')
    (mine / "notes.txt").write_text("notes")
    done = _cli(*run, mine, "--overwrite")
    assert done.returncode == 2 and "lavps did not write" in done.stderr, done.stderr
    assert (mine / "calibration.json").read_text() == '{"my": "own results"}' and (mine / "notes.txt").is_file()
    out = tmp_path / "report"
    assert _cli(*run, out).returncode == 0
    first = json.loads((out / "calibration.json").read_text())
    assert [e["file"] for e in first["outputs"]] == ["coverage.png", "rank_histograms.png"]  # and the record
    again = _cli(*run, out)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert _cli(*run, out, "--overwrite").returncode == 0
    replaced = json.loads((out / "calibration.json").read_text())["results"]
    assert [r["report"] for r in replaced] == [r["report"] for r in first["results"]]  # the same draws, replaced


def test_calibrate_amortizer_never_replaces_a_users_file(tmp_path, _cli):
    base = ["calibrate-amortizer", "--operator", "sr:2", "--problems", "2", "--samples", "2", "--quiet", "--out"]
    notes = tmp_path / "notes.json"
    notes.write_text('{"my": "notes"}')
    done = _cli(*base, notes, "--overwrite")  # was: written as notes.safetensors, its card over notes.json
    assert done.returncode == 2 and "NAME.safetensors" in done.stderr, done.stderr
    done = _cli(*base, tmp_path / "notes", "--overwrite")  # the card's name is the user's file
    assert done.returncode == 2 and "not an earlier output" in done.stderr and str(notes) in done.stderr
    assert notes.read_text() == '{"my": "notes"}' and not (tmp_path / "notes.safetensors").exists()
    report = tmp_path / "net.calibration.json"
    report.write_text("[1, 2]")
    done = _cli(*base, tmp_path / "net", "--overwrite")
    assert done.returncode == 2 and str(report) in done.stderr and report.read_text() == "[1, 2]"


def test_an_unreadable_degrade_record_is_ignored_when_sigma_and_operator_are_given(tmp_path, _cli, tiny_prior):
    write_png(torch.zeros(1, 8, 8), tmp_path / "clean.png")
    made = _cli("degrade", tmp_path / "clean.png", "--operator", "denoise", "--sigma", "0.1", "--prior", tiny_prior,
                "--out", tmp_path / "o.png")  # fmt: skip
    assert made.returncode == 0, made.stderr
    obs, record = tmp_path / "o.observation.pt", tmp_path / "o.json"
    run = ["restore", obs, "--prior", tiny_prior, "--sampler", "ddrm", "--preset", "tiny", "--quiet", "--out"]
    saved = json.loads(record.read_text())
    record.write_text(json.dumps({**saved, "noise": 5}))  # a number is no noise spec: never read as sigma 5
    done = _cli(*run, tmp_path / "a")
    assert done.returncode == 2 and "degrade record" in done.stderr and "not a noise spec" in done.stderr
    record.write_text('{"sigma": 0.1, "operator_file": "o.oper')
    done = _cli(*run, tmp_path / "b")
    assert done.returncode == 2 and "degrade record" in done.stderr and not (tmp_path / "b").exists()
    given = ["--sigma", "0.1", "--operator-file", tmp_path / saved["operator_file"]]
    done = _cli(*run, tmp_path / "c", *given)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("warning: ignoring the unreadable degrade record") and done.stderr.count("\n") == 1


def test_an_unreadable_prior_card_is_named_and_does_not_block_the_prior(tmp_path, tiny_prior):
    copy = tmp_path / "p.safetensors"
    copy.write_bytes(tiny_prior.read_bytes())
    copy.with_suffix(".json").write_text('{"note": "cut sh')
    with pytest.warns(UserWarning, match=r"unreadable prior card .*p\.json"):
        prior = load_image_prior(copy)
    assert prior.card == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image_prior(tiny_prior).card == {"note": "test prior"}


def test_float_seeds_and_clean_images_off_the_scale_are_refused(tiny_prior):
    prior = load_image_prior(tiny_prior)
    zero = torch.zeros(1, 8, 8)
    with pytest.raises(TypeError, match="seed must be an integer, got 1.5"):
        lavps.degrade(zero, "denoise", 0.1, seed=1.5)
    obs = lavps.degrade(zero, "denoise", 0.1)
    with pytest.raises(TypeError, match="seed must be an integer, got 1.5"):
        lavps.restore(obs.y, "denoise", 0.1, prior=prior, sampler="ddrm", preset="tiny", seed=1.5)
    with pytest.raises(ValueError, match=r"spans 0\.\.255, which reads as pixel levels"):
        lavps.degrade(torch.linspace(0, 255, 64).reshape(1, 8, 8), "denoise", 0.1)
    one_nan = zero.clone()
    one_nan[0, 3, 4] = float("nan")
    with pytest.raises(ValueError, match="1 non-finite value"):
        lavps.degrade(one_nan, "denoise", 0.1)
