"""Simulation-based calibration with Poisson counts (`bench calibration --noise poisson:PEAK`)."""

import json

import pytest

from lavps import api
from lavps.cli.main import main


def test_image_calibration_draws_and_conditions_on_poisson_counts(tmp_path, monkeypatch, capsys):
    seen = []
    restore, degrade = api.restore, api.degrade

    def spy_degrade(*args, **kwargs):
        obs = degrade(*args, **kwargs)
        seen.append(("degrade", kwargs.get("noise"), obs.y))
        return obs

    def spy_restore(*args, **kwargs):
        seen.append(("restore", kwargs.get("noise"), args[2]))
        return restore(*args, **kwargs)

    monkeypatch.setattr(api, "degrade", spy_degrade)
    monkeypatch.setattr(api, "restore", spy_restore)
    out = tmp_path / "report"
    main(
        ["bench", "calibration", "--operator", "sr:4", "--noise", "poisson:10", "--samplers", "mgdm:tiny",
         "--problems", "2", "--samples", "2", "--prior-steps", "4", "--out", str(out), "--quiet"]
    )  # fmt: skip
    assert json.loads((out / "calibration.json").read_text())["config"]["noise"] == "poisson:10"
    observed = [y for kind, noise, y in seen if kind == "degrade"]
    assert len(observed) == 2 and all(noise == "poisson:10" for _, noise, _ in seen)
    counts = (observed[0] + 1) * 10 / 2  # y = 2 k / PEAK - 1: whole photon counts
    assert (counts - counts.round()).abs().max() < 1e-4
    assert all(sigma is None for kind, _, sigma in seen if kind == "restore")


def test_poisson_calibration_refuses_sigma_with_noise_and_the_gmm(tmp_path, capsys):
    for extra, words in ((["--sigma", "0.1"], "not both"), (["--prior", "gmm"], "gmm")):
        with pytest.raises(SystemExit) as stop:
            main(["bench", "calibration", "--noise", "poisson:10", *extra, "--out", str(tmp_path / "never")])
        err = capsys.readouterr().err
        assert stop.value.code != 0 and words in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "never").exists()
