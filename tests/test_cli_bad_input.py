"""Bad input through the real CLI (`python -m lavps.cli` in a subprocess): every case must exit non-zero with
exactly one `error: ...` line naming the problem, no traceback, and must leave no file behind. Each case
fails during validation, before any sampling or training."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import torch

from lavps.imaging.io import write_png

MISSING = "/nonexistent/nothing.safetensors"

# (id, arguments, text the error line must contain). {in} is the folder of the input files below.
CASES = [
    # degrade
    ("degrade-no-operator", ["degrade", "{in}/clean.png", "--sigma", "0.1", "--out", "o.png"], "--operator"),
    (
        "degrade-sigma-nan",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "nan", "--out", "o.png"],
        "finite",
    ),
    (
        "degrade-sigma-inf",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "inf", "--out", "o.png"],
        "finite",
    ),
    (
        "degrade-sigma-zero",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0", "--out", "o.png"],
        "> 0",
    ),
    (
        "degrade-sigma-text",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "x", "--out", "o.png"],
        "number",
    ),
    (
        "degrade-no-clean",
        ["degrade", "{in}/absent.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "o.png"],
        "absent.png",
    ),
    (
        "degrade-size-2d",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "o.png", "--size", "32,32"],
        "C,H,W",
    ),
    (
        "degrade-size-zero",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "o.png", "--size", "0,32,32"],
        "C,H,W",
    ),
    (
        "degrade-seed-text",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "o.png", "--seed", "a"],
        "integer",
    ),
    (
        "degrade-overwrite",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "{in}/existing.png"],
        "did not write",
    ),
    (
        "degrade-wrong-size",
        ["degrade", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "o.png", "--size", "1,16,16"],
        "16",
    ),
    # restore
    ("restore-no-sigma", ["restore", "{in}/clean.png", "--operator", "sr:2", "--out", "r"], "--sigma"),
    (
        "restore-sigma-nan",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "nan", "--out", "r"],
        "finite",
    ),
    (
        "restore-sigma-negative",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "-1", "--out", "r"],
        "> 0",
    ),
    (
        "restore-sampler",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--sampler", "nope", "--out", "r"],
        "nope",
    ),
    (
        "restore-samples-zero",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--samples", "0", "--out", "r"],
        "--samples",
    ),
    (
        "restore-grid-small",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--steps", "2", "--out", "r"],
        "--steps",
    ),
    (
        "restore-grid-large",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--steps", "5000", "--out", "r"],
        "--steps",
    ),
    ("restore-no-sigma", ["restore", "{in}/clean.png", "--operator", "sr:2", "--out", "r"], "--sigma"),
    (
        "restore-final-tau-zero",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--final-tau", "0", "--out", "r"],
        "--final-tau",
    ),
    (
        "restore-adam-negative",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--adam-out", "-1", "--out", "r"],
        "--adam-out",
    ),
    (
        "restore-no-observation",
        ["restore", "{in}/absent.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "r"],
        "absent.png",
    ),
    (
        "restore-no-amortizer",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--amortizer", MISSING, "--out", "r"],
        "nothing.safetensors",
    ),
    (
        "restore-no-prior",
        ["restore", "{in}/clean.png", "--operator", "sr:2", "--sigma", "0.1", "--prior", MISSING, "--out", "r"],
        "nothing.safetensors",
    ),
    (
        "restore-no-kernel",
        ["restore", "{in}/clean.png", "--kernel", "{in}/k.npy", "--sigma", "0.1", "--out", "r"],
        "k.npy",
    ),
    (
        "restore-no-reference",
        [
            "restore",
            "{in}/clean.png",
            "--operator",
            "sr:2",
            "--sigma",
            "0.1",
            "--reference",
            "{in}/ref.png",
            "--out",
            "r",
        ],
        "ref.png",
    ),
    # bench
    ("gmm-obs-dim-zero", ["bench", "gmm", "--obs-dim", "0"], "--obs-dim"),
    ("gmm-dim-zero", ["bench", "gmm", "--dim", "4", "0"], "--dim"),
    ("gmm-dim-text", ["bench", "gmm", "--dim", "x"], "integer"),
    ("gmm-zeta-nan", ["bench", "gmm", "--dps-zeta", "nan"], "finite"),
    ("gmm-lr-inf", ["bench", "gmm", "--lr", "inf"], "finite"),
    ("gmm-sigma-minus-inf", ["bench", "gmm", "--sigma", "-inf"], "finite"),
    ("gmm-sigma-zero", ["bench", "gmm", "--sigma", "0"], "--sigma"),
    ("gmm-problems-zero", ["bench", "gmm", "--problems", "0"], "--problems"),
    ("gmm-samples-one", ["bench", "gmm", "--samples", "1"], "--samples"),
    ("gmm-workers-zero", ["bench", "gmm", "--workers", "0"], "--workers"),
    ("gmm-unknown-sampler", ["bench", "gmm", "--samplers", "dps", "nope", "--json", "g.json"], "unknown sampler"),
    ("gmm-lavps-no-amortizer", ["bench", "gmm", "--samplers", "lavps", "--json", "g.json"], "--amortizer"),
    (
        "gmm-mask-too-many",
        ["bench", "gmm", "--dim", "4", "--obs-dim", "8", "--operator", "mask", "--json", "g.json"],
        "d_y",
    ),
    ("gmm-diffpir-lambda-nan", ["bench", "gmm", "--diffpir-lambda", "nan"], "finite"),
    ("gmm-ddrm-eta-range", ["bench", "gmm", "--ddrm-eta", "1.5"], "--ddrm-eta"),
    ("gmm-unknown-option", ["bench", "gmm", "--nope", "1"], "--nope"),
    ("bench-unknown-command", ["bench", "nope"], "nope"),
    ("pareto-one-problem", ["bench", "pareto", "--problems", "1"], "--problems"),
    ("pareto-inner-negative", ["bench", "pareto", "--inner-steps", "-1"], "--inner-steps"),
    ("pareto-sigma-nan", ["bench", "pareto", "--operator", "dense:1@nan", "--json", "p.json"], "dense:1@nan"),
    ("ratio-no-amortizer", ["bench", "ratio"], "--amortizer"),
    ("ratio-sigma-nan", ["bench", "ratio", "--amortizer", MISSING, "--sigma", "nan"], "finite"),
    # train-amortizer / train-supervised / train-prior
    (
        "train-resume-nothing",
        ["train-amortizer", "--prior", "gmm:4:fresh", "--resume", "--out", "run"],
        "no checkpoint",
    ),
    ("train-lr-nan", ["train-amortizer", "--lr", "nan", "--out", "run"], "finite"),
    ("train-sigma-zero", ["train-amortizer", "--sigma", "0", "--out", "run"], "--sigma"),
    ("train-sigma-max-inf", ["train-amortizer", "--sigma-max", "inf", "--out", "run"], "finite"),
    ("train-old-steps", ["train-amortizer", "--steps", "3000", "--out", "run"], "--iterations"),
    ("train-iterations-zero", ["train-amortizer", "--iterations", "0", "--out", "run"], "--iterations"),
    ("train-window-zero", ["train-amortizer", "--window", "0", "--out", "run"], "--window"),
    ("train-channels", ["train-amortizer", "--prior", "mnist", "--channels", "12,x", "--out", "run"], "--channels"),
    ("train-bad-family", ["train-amortizer", "--prior", "gmm:4", "--operator", "dense:0", "--out", "run"], "dense:0"),
    ("supervised-decay-nan", ["train-supervised", "--weight-decay", "nan", "--out", "run"], "finite"),
    ("prior-out-is-file", ["train-prior", "--out", "{in}/existing.png"], "is a file"),
    ("train-out-is-file", ["train-amortizer", "--out", "{in}/existing.png"], "is a file"),
    ("prior-ema", ["train-prior", "--ema", "2", "--out", "run"], "--ema"),
    # demo
    ("demo-images-zero", ["demo", "--images", "0", "--out", "d"], "--images"),
    ("demo-bad-task", ["demo", "--operator", "sr:2", "swirl:3", "--out", "d"], "swirl"),
    ("demo-no-prior", ["demo", "--prior", MISSING, "--out", "d"], "nothing.safetensors"),
    ("demo-no-amortizer", ["demo", "--amortizer", MISSING, "--out", "d"], "nothing.safetensors"),
    ("demo-workers-zero", ["demo", "--workers", "0", "--out", "d"], "--threads"),
    ("demo-seed-text", ["demo", "--seed", "one", "--out", "d"], "integer"),
    ("demo-unknown-row", ["demo", "--samplers", "ddrm-20", "oracle", "--out", "d"], "oracle"),
    ("bench-prior-times", ["bench", "prior", "--times", "0,5000"], "--times"),
    ("bench-prior-times-text", ["bench", "prior", "--times", "late"], "--times"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    write_png(torch.zeros(1, 32, 32), folder / "clean.png")
    (folder / "existing.png").write_bytes(b"keep me")
    return folder


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for folder in folders for p in folder.rglob("*") if p.exists()
    }


@pytest.mark.parametrize("args,needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line_and_leaves_nothing(args, needle, inputs, tmp_path):
    args = [a.replace("{in}", str(inputs)) for a in args]
    before = _snapshot(inputs, tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "lavps.cli", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert len(errors) == 1, proc.stderr
    assert needle in errors[0], errors[0]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert _snapshot(inputs, tmp_path) == before, "the failed command left or changed files"


def test_renamed_options_still_work_with_one_warning():
    proc = subprocess.run(
        [sys.executable, "-m", "lavps.cli", "bench", "gmm", "--seeds", "0"], capture_output=True, text=True, timeout=60
    )
    assert "warning: --seeds is deprecated" in proc.stderr
    assert "error: " in proc.stderr and "--problems" in proc.stderr  # the value reached the new option


def _commands(group, path=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def test_every_option_has_help_and_a_shown_default():
    from lavps.cli.main import _register, cli

    _register()
    commands = dict(_commands(cli))
    assert {"degrade", "restore", "demo", "bench gmm", "bench pareto", "bench ratio", "train-prior"} <= set(commands)
    for name, command in commands.items():
        for param in command.params:
            if param.param_type_name != "option" or param.hidden:
                continue
            assert param.help, f"{name} {param.opts[0]} has no help"
            if not (param.is_flag or param.required):
                assert param.show_default not in (None, False), f"{name} {param.opts[0]} hides its default"


def test_float_options_are_finite_everywhere():
    from lavps.cli.main import _register, cli
    from lavps.cli.options import FiniteFloat

    _register()
    for name, command in _commands(cli):
        for param in command.params:
            item = getattr(param, "item_type", param.type)
            assert item is not click.FLOAT, f"{name} {param.opts[0]} accepts nan"
    kind = FiniteFloat(min=0.0, min_open=True)
    assert kind.convert("0.5", None, None) == 0.5
    for bad in ("nan", "inf", "-inf", "0", "-1", "x"):
        with pytest.raises(Exception, match="finite|> 0|number"):
            kind.convert(bad, None, None)


def test_main_help_lists_whole_descriptions():
    proc = subprocess.run([sys.executable, "-m", "lavps.cli", "--help"], capture_output=True, text=True, timeout=60)
    commands = proc.stdout.split("Commands:")[1]
    assert "..." not in commands
    text = " ".join(commands.split())
    assert "writes amortizer.safetensors + card." in text  # the full first paragraph, not cut at 45 characters


def test_interval_of_one_value_prints_na():
    from lavps.evaluation.gmm_bench import format_table
    from lavps.evaluation.stats import format_interval, mean_ci95

    mean, half = mean_ci95([2.0])
    assert mean == 2.0 and format_interval(half) == "    n/a"
    assert format_interval(mean_ci95([1.0, 3.0])[1]).strip() == f"{12.706 * 1.0:.3f}"  # t_{0.975,1} * s / sqrt(2)
    row = dict(dim=4, obs_dim=1, sampler="dps", sw_mean=1.0, sw_ci95=half, seconds=0.1)
    row.update(denoiser_forwards=1, denoiser_backwards=1, psnr_gain_db=0.5, psnr_gain_ci95=half)
    assert "n/a" in format_table([row]) and "nan" not in format_table([row])


def test_prior_training_refuses_to_resume_nothing(tmp_path):
    from lavps.training.prior import PriorTrainConfig, train_prior

    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train_prior(PriorTrainConfig(steps=1, out_dir=str(tmp_path / "run")), progress=False, resume=True)
    assert not (tmp_path / "run").exists()
