"""`lavps restore OBS.observation.pt` reads what degrade recorded beside it: the noise, the operator file and
the prior (a newcomer's path for a prior other than the shipped one), and LAVPS without an amortizer for
that prior says what to run instead in one line."""

from __future__ import annotations

import json

import torch

from lavps.imaging.io import write_png

GAUSSIAN_EDM = """
class GaussianDenoiser:
    shape = (3, 16, 16)

    def __call__(self, x, sigma):
        return x / (1 + sigma[:, None, None, None] ** 2)


def make():
    return GaussianDenoiser()
"""


def test_restore_takes_the_prior_from_degrades_record(tmp_path, _cli):
    (tmp_path / "gauss.py").write_text(GAUSSIAN_EDM)
    prior = f"edm:{tmp_path / 'gauss.py'}:make"
    write_png(torch.zeros(3, 16, 16), tmp_path / "clean.png")
    made = _cli(
        "degrade",
        tmp_path / "clean.png",
        "--operator",
        "sr:2",
        "--sigma",
        "0.1",
        "--prior",
        prior,
        "--out",
        tmp_path / "obs.png",
    )
    assert made.returncode == 0, made.stderr
    obs = tmp_path / "obs.observation.pt"
    run = _cli("restore", obs, "--sampler", "ddrm", "--preset", "tiny", "--quiet", "--out", tmp_path / "r")
    assert run.returncode == 0, run.stderr  # the shipped 1x32x32 prior would not fit a 3x8x8 observation
    assert json.loads((tmp_path / "r" / "restore.json").read_text())["prior"] == prior

    lavps = _cli("restore", obs, "--quiet", "--out", tmp_path / "l")  # the shipped amortizer is MNIST's
    assert lavps.returncode == 2 and lavps.stderr.count("\n") == 1, lavps.stderr
    assert "--sampler mgdm" in lavps.stderr and "train-amortizer" in lavps.stderr
    assert not (tmp_path / "l").exists()
