"""Non-linear specs and Poisson noise through the real CLI: degrade -> restore end to end, and one-line
refusals (python -m lavps.cli in a subprocess)."""

import json
import os
import subprocess
import sys

import torch

from lavps.imaging.io import write_png


def _cli(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "lavps.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_degrade_and_restore_hdr_with_poisson_noise_and_refusals(tmp_path):
    clean = torch.linspace(-1, 1, 32 * 32).reshape(1, 32, 32)
    write_png(clean, tmp_path / "clean.png")
    done = _cli(
        "degrade", "clean.png", "--operator", "hdr:2", "--noise", "poisson:20", "--out", "obs.png", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "--noise poisson:20" in done.stdout and json.loads((tmp_path / "obs.json").read_text())["sigma"] is None
    args = ["restore", "obs.observation.pt", "--sampler", "mgdm", "--preset", "tiny", "--quiet"]
    done = _cli(*args, "--out", "r", cwd=tmp_path)  # noise and operator come from degrade's record
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "r" / "restore.json").read_text())
    assert record["noise"] == "poisson:20" and record["sigma"] is None
    for bad, needle in [
        (["restore", "obs.observation.pt", "--sampler", "ddrm", "--out", "d"], "ddrm needs a linear operator; hdr:2"),
        (["degrade", "clean.png", "--operator", "jpeg:10", "--noise", "poisson:-1", "--out", "x.png"], "peak"),
        (["degrade", "clean.png", "--operator", "jpeg:10", "--out", "x.png"], "exactly one of sigma"),
    ]:
        done = _cli(*bad, cwd=tmp_path)
        lines = done.stderr.strip().splitlines()
        assert done.returncode != 0 and len(lines) == 1 and needle in lines[0], done.stderr
        assert not (tmp_path / "d").exists() and not (tmp_path / "x.png").exists()
