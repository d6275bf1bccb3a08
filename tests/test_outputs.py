"""Nothing the user owns is lost: every output-writing command (degrade, restore, folder restore, demo, bench
--json / --png, bench calibration --out, train-*), pointed at a folder holding its inputs and a bystander
file, with and without --overwrite, leaves every pre-existing file byte-identical (lavps.outputs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from lavps.imaging.io import write_png
from lavps.outputs import OutputFolder

TINY_GMM = [
    "--dim",
    "2",
    "--obs-dim",
    "1",
    "--problems",
    "1",
    "--samples",
    "4",
    "--samplers",
    "ddrm",
    "--workers",
    "1",
    "--quiet",
]
TINY_TRAIN = ["--prior", "gmm:2:fresh", "--iterations", "2", "--batch-size", "4", "--quiet"]
TINY_CALIBRATION = ["--problems", "1", "--samples", "2", "--groups", "2", "--dim", "2", "--quiet", "--out"]
FLAG = {"degrade", "restore", "demo"}  # the commands with --overwrite (bench JSONs replace their own; train resumes)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def data(tmp_path) -> Path:
    """A user's folder: a clean image, a degraded observation with its record, notes and a sub-folder."""
    folder = tmp_path / "data"
    folder.mkdir()
    write_png(torch.linspace(-1, 1, 32 * 32).reshape(1, 32, 32), folder / "clean.png")
    (folder / "my_thesis.txt").write_text("years of work\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.md").write_text("keep\n")
    return folder


def _commands(d: Path) -> list[list[str]]:
    """Every output-writing command with its output in `d` (the inputs' folder), tiny budgets."""
    obs = d / "obs.observation.pt"
    return [
        ["degrade", d / "clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", d / "obs.png"],
        ["degrade", d / "clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", d / "my_thesis.txt"],
        ["degrade", d / "clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", d / "clean.png"],
        ["restore", obs, "--preset", "tiny", "--sampler", "ddrm", "--quiet", "--out", d],
        ["restore", obs, "--preset", "tiny", "--sampler", "ddrm", "--quiet", "--out", "."],
        ["restore", obs, "--preset", "tiny", "--sampler", "ddrm", "--quiet", "--out", d / "sub"],
        ["restore", d, "--simulate", "sr:2", "--sigma", "0.1", "--sampler", "ddrm", "--quiet", "--out", d],
        ["restore", d, "--simulate", "sr:2", "--sigma", "0.1", "--sampler", "ddrm", "--quiet", "--out", d / "sub"],
        ["demo", "--quick", "--quiet", "--out", d],
        ["demo", "--quick", "--quiet", "--out", "."],
        ["bench", "gmm", *TINY_GMM, "--json", d / "gmm.json"],
        ["bench", "gmm", *TINY_GMM, "--json", d / "my_thesis.txt"],
        ["bench", "speed", "--quick", "--quiet", "--json", d / "clean.png"],
        ["bench", "prior", "--json", d / "my_thesis.txt"],
        ["bench", "spread", "--quiet", "--json", d / "my_thesis.txt"],
        ["bench", "gmm", *TINY_GMM, "--json", d / "obs.json"],  # degrade's record: not a bench's own output
        ["bench", "pareto", "--json", d / "p.json", "--png", d / "clean.png"],
        ["train-amortizer", *TINY_TRAIN, "--out", d],
        ["train-supervised", *TINY_TRAIN, "--out", d],
        ["train-prior", "--iterations", "1", "--out", d],
        ["bench", "calibration", "--prior", "gmm", "--operator", "dense:1", "--samplers", "mgdm", *TINY_CALIBRATION, d],
        [
            "bench",
            "ratio",
            "--amortizer",
            d / "amortizer.safetensors",
            "--prior",
            "gmm:2:fresh",
            "--json",
            d / "clean.png",
        ],
    ]


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_no_command_loses_or_changes_a_pre_existing_file(data, overwrite, monkeypatch, _cli):
    monkeypatch.chdir(data)
    (data / "mnist32_prior_samples.png").write_bytes(b"not a lavps file")  # train-prior must refuse to replace it
    users = _hashes(data)
    first = _cli("degrade", data / "clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", data / "obs.png")
    assert first.returncode == 0, first.stderr
    kept = _hashes(data) if not overwrite else users  # --overwrite may replace lavps's own earlier outputs
    lost, refused = [], 0
    for args in _commands(data):
        if overwrite and (args[0] in FLAG or args[1] == "calibration"):
            args = [*args, "--overwrite"]
        run = _cli(*args)
        assert "Traceback" not in run.stderr
        if run.returncode != 0:
            refused += 1
            assert len([line for line in run.stderr.splitlines() if line.startswith("error: ")]) == 1, run.stderr
        after = _hashes(data)
        lost += [f"{' '.join(map(str, args[:2]))}: {name}" for name, h in kept.items() if after.get(name) != h]
    assert lost == [], lost
    # beside the inputs ran: bench gmm's new JSON, the two trainings; with --overwrite also degrade (its own
    # outputs). bench calibration's --out is an exclusive folder: refused beside the user's files either way
    assert refused == len(_commands(data)) - 3 - overwrite
    assert not list(data.glob(".*lavps-tmp*")) and not list(data.parent.glob(".*lavps-tmp*"))


def test_overwrite_replaces_only_the_earlier_runs_outputs(tmp_path):
    out = tmp_path / "out"
    for samples, overwrite in ((3, False), (1, True)):
        with OutputFolder(out, "restore.json", overwrite) as tmp:
            for i in range(samples):
                (tmp / f"reconstruction_{i:03d}.png").write_text(str(i))
            (tmp / "restore.json").write_text(json.dumps({"samples": samples}))
    assert sorted(p.name for p in out.iterdir()) == ["reconstruction_000.png", "restore.json"]  # 001, 002 gone
    zero = {"file": "reconstruction_000.png", "sha256": hashlib.sha256(b"0").hexdigest(), "bytes": 1}
    assert json.loads((out / "restore.json").read_text())["outputs"] == [zero]  # the record lists the others
    with pytest.raises(FileExistsError, match="--overwrite"):
        OutputFolder(out, "restore.json", overwrite=False)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="did not write.*notes.txt"):
        OutputFolder(out, "restore.json", overwrite=True)


def test_a_failed_write_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="boom"), OutputFolder(out, "restore.json") as tmp:
        (tmp / "reconstruction_000.png").write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
