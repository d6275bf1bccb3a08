"""More bad input through the CLI, run in-process (one interpreter: fast): every case must exit non-zero with
exactly one `error: ...` line naming the problem (other stderr lines may only be `warning: ...`), no
traceback (an exception escaping `lavps.cli.main` fails the test), and must leave no file behind or changed.
Each case fails before any long work. The subprocess suite (test_cli_bad_input.py) checks the real process."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lavps.imaging.io import write_png

NAN_EDM = """
class NaNDenoiser:
    shape = (1, 32, 32)

    def __call__(self, x, sigma):
        return x * float("nan")


def make():
    return NaNDenoiser()
"""

OBS = "{in}/obs.observation.pt"  # degrade's observation of clean.png (sr:2, 1x16x16) with its record
DEGRADE = ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1"]
RESTORE = ["restore", OBS, "--quiet"]
PNG = ["restore", "{in}/small.png", "--sigma", "0.1", "--quiet"]  # a 16x16 observation PNG
FOLDER = ["restore", "{in}/imgs", "--sigma", "0.1", "--quiet"]  # a folder of 32x32 images

# (id, arguments, text the error line must contain). {in} is the folder of the input files below.
CASES = [
    # the cases
    ("samples-1e12", [*RESTORE, "--samples", str(10**12), "--out", "r"], "cannot fit"),
    ("seed-2-70", [*RESTORE, "--seed", str(2**70), "--out", "r"], "2**63"),
    ("seed-2-70-degrade", [*DEGRADE, "--seed", str(2**70), "--out", "o.png"], "--seed"),
    ("op-seed-2-70", [*PNG, "--operator", "motion_blur:9:0.5", "--op-seed", str(2**70), "--out", "r"], "--op-seed"),
    ("data-one-png", ["train-amortizer", "--data", "{in}/clean.png", "--out", "run"], "is a file, not a folder"),
    ("data-missing", ["train-amortizer", "--data", "{in}/nope", "--out", "run"], "does not exist"),
    # a missing observation is named before the options its record would have given (--sigma)
    ("observation-missing", ["restore", "{in}/nope.observation.pt", "--out", "r"], "observation.pt' does not exist"),
    ("sr2-shape", ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "r"], "operator"),
    (
        "nan-prior",
        [*PNG, "--operator", "sr:2", "--prior", "edm:{in}/nan_edm.py:make", "--sampler", "ddrm", "--out", "r"],
        "non-finite",
    ),
    ("train-steps-200", ["train-amortizer", "--steps", "200", "--out", "run"], "--iterations"),
    ("window-500", [*RESTORE, "--window", "500", "--steps", "12", "--out", "r"], "window"),
    ("final-tau-5000", [*RESTORE, "--final-tau", "5000", "--out", "r"], "final_tau"),
    ("restore-steps-3", [*RESTORE, "--steps", "3", "--out", "r"], "4..1000"),
    ("restore-steps-1001", [*RESTORE, "--steps", "1001", "--out", "r"], "4..1000"),
    ("demo-steps-2", ["demo", "--steps", "2", "--out", "d"], "steps"),
    # threads and workers
    ("restore-threads-zero", [*RESTORE, "--threads", "0", "--out", "r"], "--threads"),
    ("degrade-threads-text", [*DEGRADE, "--threads", "x", "--out", "o.png"], "--threads"),
    ("demo-threads-zero", ["demo", "--threads", "0", "--out", "d"], "--threads"),
    ("train-prior-threads", ["train-prior", "--threads", "0", "--out", "run"], "--threads"),
    ("train-workers-alias", ["train-amortizer", "--workers", "0", "--out", "run"], "--threads"),
    ("speed-threads", ["bench", "speed", "--threads", "-1"], "--threads"),
    ("pareto-workers-zero", ["bench", "pareto", "--workers", "0"], "--workers"),
    # degrade
    ("noise-unknown", [*DEGRADE[:4], "--noise", "laplace:1", "--out", "o.png"], "laplace"),
    ("noise-poisson-zero", [*DEGRADE[:4], "--noise", "poisson:0", "--out", "o.png"], "poisson:0"),
    ("sigma-and-noise", [*DEGRADE, "--noise", "gaussian:0.1", "--out", "o.png"], "one of"),
    ("op-unknown", [*DEGRADE[:2], "--operator", "swirl:3", "--sigma", "0.1", "--out", "o.png"], "swirl"),
    ("op-sr-zero", [*DEGRADE[:2], "--operator", "sr:0", "--sigma", "0.1", "--out", "o.png"], "sr:0"),
    ("op-sr-3", [*DEGRADE[:2], "--operator", "sr:3", "--sigma", "0.1", "--out", "o.png"], "divide"),
    ("op-blur-even", [*DEGRADE[:2], "--operator", "gaussian_blur:4:1.0", "--sigma", "0.1", "--out", "o.png"], "odd"),
    ("op-center-big", [*DEGRADE[:2], "--operator", "center:1.5", "--sigma", "0.1", "--out", "o.png"], "(0, 1)"),
    ("degrade-small", ["degrade", "{in}/small.png", *DEGRADE[2:], "--out", "o.png"], "--fit"),
    ("degrade-not-image", ["degrade", "{in}/notes.txt", *DEGRADE[2:], "--out", "o.png"], "notes.txt"),
    ("degrade-out-input", [*DEGRADE, "--out", "{in}/clean.png"], "did not write"),
    ("degrade-fit", [*DEGRADE, "--fit", "stretch", "--out", "o.png"], "--fit"),
    # restore: inputs
    ("restore-not-image", ["restore", "{in}/notes.txt", "--operator", "sr:2", "--sigma", "0.1", "--out", "r"], "notes"),
    ("restore-missing", ["restore", "{in}/absent.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "r"], "absent"),
    ("restore-bad-kernel", [*PNG[:-1], "--kernel", "{in}/kernel.txt", "--out", "r"], "kernel.txt"),
    ("restore-mask-text", [*PNG[:-1], "--mask", "{in}/notes.txt", "--out", "r"], "notes.txt"),
    ("restore-opfile-text", [*PNG[:-1], "--operator-file", "{in}/notes.txt", "--out", "r"], "notes.txt"),
    ("restore-op-seed-missing", [*PNG, "--operator", "motion_blur:9:0.5", "--out", "r"], "--op-seed"),
    ("restore-amortizer-text", [*RESTORE, "--amortizer", "{in}/notes.txt", "--out", "r"], "notes.txt"),
    ("restore-reference-size", [*RESTORE, "--reference", "{in}/small.png", "--out", "r"], "small.png"),
    ("restore-prior-unknown", [*RESTORE, "--prior", "sd15", "--out", "r"], "sd15"),
    ("restore-class-label", [*RESTORE, "--class-label", "3", "--out", "r"], "class"),
    # restore: settings and outputs
    ("restore-sampler", [*RESTORE, "--sampler", "nope", "--out", "r"], "nope"),
    ("restore-preset", [*RESTORE, "--preset", "nope", "--out", "r"], "nope"),
    ("restore-device", [*RESTORE, "--device", "tpu", "--out", "r"], "tpu"),
    ("restore-precision", [*RESTORE, "--precision", "fp8", "--out", "r"], "fp8"),
    ("restore-batch-zero", [*RESTORE, "--batch-size", "0", "--out", "r"], "--batch-size"),
    ("restore-samples-zero", [*RESTORE, "--samples", "0", "--out", "r"], "--samples"),
    ("restore-ddrm-inner", [*RESTORE, "--sampler", "ddrm", "--inner-steps", "3", "--out", "r"], "inner_steps"),
    ("restore-lr-negative", [*RESTORE, "--lr", "-1", "--out", "r"], "lr"),
    ("restore-sigma-and-noise", [*RESTORE, "--sigma", "0.1", "--noise", "poisson:5", "--out", "r"], "either"),
    ("restore-out-file", [*RESTORE, "--out", "{in}/notes.txt"], "notes.txt"),
    ("restore-out-inputs", [*RESTORE, "--out", "{in}"], "did not write"),
    ("restore-simulate-file", [*RESTORE, "--simulate", "sr:2", "--out", "r"], "--simulate"),
    # folder restore
    ("folder-samples", [*FOLDER, "--operator", "sr:2", "--samples", "2", "--out", "r"], "--samples"),
    ("folder-overwrite", [*FOLDER, "--operator", "sr:2", "--overwrite", "--out", "r"], "--overwrite"),
    ("folder-noise", ["restore", "{in}/imgs", "--operator", "sr:2", "--noise", "poisson:10", "--out", "r"], "--noise"),
    ("folder-wrong-size", [*FOLDER, "--operator", "sr:2", "--out", "r"], "16x16"),
    ("folder-fit", [*FOLDER, "--operator", "sr:2", "--fit", "crop", "--out", "r"], "--fit"),
    ("folder-inside", [*FOLDER, "--simulate", "sr:2", "--out", "{in}/imgs/out"], "inside the input folder"),
    ("folder-out-foreign", [*FOLDER, "--simulate", "sr:2", "--out", "{in}/sub"], "did not write"),
    ("folder-simulate-and-op", [*FOLDER, "--simulate", "sr:2", "--operator", "sr:2", "--out", "r"], "--simulate"),
    # training
    (
        "train-data-vector",
        ["train-amortizer", "--prior", "gmm:4", "--data", "{in}/imgs", "--out", "run"],
        "image prior",
    ),
    ("supervised-image", ["train-supervised", "--prior", "mnist", "--out", "run"], "vector priors"),
    ("train-prior-size", ["train-prior", "--size", "0", "--out", "run"], "--size"),
    ("train-grad-accum", ["train-prior", "--grad-accum", "0", "--out", "run"], "--grad-accum"),
    (
        "train-init-text",
        ["train-amortizer", "--prior", "gmm:4", "--init-from", "{in}/notes.txt", "--out", "run"],
        "notes",
    ),
    ("train-prior-unknown", ["train-amortizer", "--prior", "nope:3", "--out", "run"], "nope:3"),
    ("train-prior-seed", ["train-amortizer", "--prior-seed", str(2**64), "--out", "run"], "--prior-seed"),
    ("train-out-holds", ["train-amortizer", "--prior", "gmm:4", "--out", "{in}/run"], "amortizer.json"),
    ("train-prior-out-holds", ["train-prior", "--out", "{in}/run"], "checkpoint.safetensors"),
    # bench and demo
    ("speed-sampler", ["bench", "speed", "--samplers", "ddim"], "ddim"),
    ("speed-precision", ["bench", "speed", "--precision", "fp8"], "fp8"),
    ("speed-device", ["bench", "speed", "--device", "tpu"], "tpu"),
    ("speed-batch", ["bench", "speed", "--batch-size", "0"], "--batch-size"),
    ("speed-json-input", ["bench", "speed", "--json", "{in}/clean.png"], "did not write"),
    ("gmm-json-foreign", ["bench", "gmm", "--json", "{in}/notes.txt"], "did not write"),
    ("gmm-json-record", ["bench", "gmm", "--json", "{in}/obs.json"], "another lavps run"),
    ("pareto-png-elsewhere", ["bench", "pareto", "--json", "p.json", "--png", "{in}/p.png"], "beside"),
    ("spread-rows", ["bench", "spread", "--samplers", "nope"], "nope"),
    ("spread-samples", ["bench", "spread", "--samples", "1"], "--samples"),
    ("spread-operator", ["bench", "spread", "--operator", "swirl:3"], "swirl"),
    ("spread-json-foreign", ["bench", "spread", "--json", "{in}/notes.txt"], "did not write"),
    ("prior-samples", ["bench", "prior", "--samples", "0"], "--samples"),
    ("prior-steps", ["bench", "prior", "--steps", "1"], "--steps"),
    ("prior-json-foreign", ["bench", "prior", "--json", "{in}/notes.txt"], "did not write"),
    ("ratio-prior", ["bench", "ratio", "--amortizer", "{in}/notes.txt", "--prior", "nope"], "nope"),
    ("calibration-option", ["bench", "calibration", "--nope", "1"], "--nope"),
    ("demo-out-foreign", ["demo", "--quick", "--out", "{in}"], "did not write"),
    ("demo-out-file", ["demo", "--quick", "--out", "{in}/notes.txt"], "notes.txt"),
    ("demo-row-unknown", ["demo", "--samplers", "oracle", "--out", "d"], "oracle"),
    ("demo-prior-draws-one", ["demo", "--prior-draws", "1", "--out", "d"], "prior-draw"),
    ("demo-draw-operator", ["demo", "--draw-operator", "swirl:3", "--out", "d"], "swirl"),
    ("demo-prior-shape", ["demo", "--prior", "gmm:8", "--out", "d"], "1x32x32"),
    ("unknown-command", ["frobnicate"], "frobnicate"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    from lavps.cli.main import main

    folder = tmp_path_factory.mktemp("inputs")
    write_png(torch.zeros(1, 32, 32), folder / "clean.png")
    write_png(torch.zeros(1, 16, 16), folder / "small.png")
    (folder / "notes.txt").write_text("notes\n")
    (folder / "kernel.txt").write_text("1 2\n3\n")
    (folder / "nan_edm.py").write_text(NAN_EDM)
    (folder / "imgs").mkdir()
    write_png(torch.zeros(1, 32, 32), folder / "imgs" / "a.png")
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.md").write_text("keep\n")
    (folder / "run").mkdir()  # a folder holding an earlier run's files: a new run must not replace them
    for name in ("amortizer.json", "checkpoint.safetensors"):
        (folder / "run" / name).write_text("an earlier run\n")
    try:
        main([*(a.replace("{in}", str(folder)) for a in DEGRADE), "--out", str(folder / "obs.png")])
    except SystemExit as e:
        assert e.code in (0, None)
    return folder


def _snapshot(*folders: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file()}


def test_the_suite_is_large_enough():
    assert len(CASES) >= 90 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("args,needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line_and_leaves_nothing(args, needle, inputs, tmp_path, monkeypatch, _cli):
    monkeypatch.chdir(tmp_path)
    before = _snapshot(inputs, tmp_path)
    run = _cli(*(a.replace("{in}", str(inputs)) for a in args))
    lines = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith("warning: ")]
    assert run.returncode != 0, run.stdout + run.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in run.stderr
    assert _snapshot(inputs, tmp_path) == before, "the failed command left or changed files"


@pytest.mark.parametrize("rank", ["0", "1", "3"])
def test_under_torchrun_only_rank_0_prints_the_error(rank, inputs, tmp_path, monkeypatch, _cli):
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.chdir(tmp_path)
    run = _cli("restore", str(inputs / "obs.observation.pt"), "--seed", str(2**70), "--out", "r")
    assert run.returncode == 2  # every rank fails, so torchrun stops
    assert run.stderr.strip().startswith("error: ") if rank == "0" else run.stderr.strip() == ""
