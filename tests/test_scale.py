"""Scale: the shared training loop under DDP (2 gloo processes via torchrun), kill/resume, image-folder
data order, and folder restoration (world size and batch size never change an image's result)."""

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lavps.training.amortizer as training
from lavps.cli.main import main
from lavps.data.folder import StepSampler, list_images, split_holdout
from lavps.imaging.fit import read_fitted
from lavps.imaging.io import read_png, write_png
from lavps.priors.checkpoint import load_tensors

TRAIN = ["train-amortizer", "--prior", "gmm:4:fresh", "--operator", "dense:1", "--steps", "12", "--window", "5"]
TRAIN += ["--hidden", "16", "--depth", "1", "--iterations", "6", "--batch-size", "8", "--ckpt-every", "3", "--quiet"]


def cli(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def torchrun(*commands: list, nproc: int = 2) -> subprocess.CompletedProcess:
    """`lavps` commands run one after the other by `nproc` gloo processes of ONE torchrun launch."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    cmd += [str(Path(__file__).with_name("ddp_cli.py"))]
    for i, args in enumerate(commands):
        cmd += (["--then"] if i else []) + [str(a) for a in args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def weights(folder: Path, stem: str = "amortizer") -> dict[str, torch.Tensor]:
    return load_tensors(folder / f"{stem}.safetensors")[0]


def assert_same_weights(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=0, msg=k)


class Killed(BaseException):
    """A kill -9 stand-in: nothing in lavps or click catches it, so no checkpoint is written on the way out."""


def dying_loss(real, step: int):
    """amortized_loss that dies in the chunks of optimizer step `step` (0-based)."""
    from lavps.training.loop import chunk_seed

    doomed = {chunk_seed(0, step, c) for c in range(2)}

    def loss(net, generator, *args):
        if generator.initial_seed() in doomed:
            raise Killed
        return real(net, generator, *args)

    return loss


# -- the training loop ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory, tiny_prior):
    """Single-process runs, then ONE torchrun launch (2 gloo ranks) that resumes a killed training run
    and restores a folder; returns the folder."""
    root = tmp_path_factory.mktemp("ddp")
    with pytest.MonkeyPatch.context() as mp:
        main_ok(*TRAIN, "--grad-accum", "2", "--out", root / "straight")
        real = training.AMORTIZED
        mp.setattr(training, "AMORTIZED", replace(real, fn=dying_loss(real.fn, 4)))  # dies after the checkpoint at 3
        with pytest.raises(Killed):
            main([str(a) for a in (*TRAIN, "--grad-accum", "2", "--out", root / "killed")])
    header = json.loads((root / "killed" / "amortizer_checkpoint.json").read_text())
    assert header["step"] == 3 and not (root / "killed" / "amortizer.safetensors").exists()
    write_digits(root / "clean", 4)
    (root / "clean" / "readme.md").write_text("not an image")
    restore = ["restore", root / "clean", "--prior", tiny_prior, *RESTORE]
    for batch in (1, 3):
        main_ok(*restore, "--batch-size", batch, "--out", root / f"b{batch}")
    torchrun(
        [*TRAIN, "--resume", "--out", root / "killed"],  # --grad-accum 2 read from the checkpoint
        [*restore, "--batch-size", "3", "--out", root / "w2"],
    )
    return root


def main_ok(*args) -> None:
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        assert e.code in (0, None)


def test_run_killed_in_one_process_resumed_by_two_ddp_processes_matches_the_straight_run(ddp_runs):
    # DDP steps 4-6 of a global batch of 8 (2 ranks x 1 micro-batch of 4) equal the single-process
    # steps, and the data order/seed does not depend on the world size, so a run resumes at another one.
    assert_same_weights(weights(ddp_runs / "straight"), weights(ddp_runs / "killed"), atol=1e-6)
    a, b = (load_tensors(ddp_runs / x / "amortizer_checkpoint.safetensors")[0] for x in ("straight", "killed"))
    torch.testing.assert_close(a["history.loss"], b["history.loss"], rtol=1e-6, atol=0)
    assert not torch.equal(a["history.loss"][:3], a["history.loss"][3:])


def test_killed_run_resumes_bit_identically_in_one_process(tmp_path, capsys, monkeypatch):
    assert cli(capsys, *TRAIN, "--grad-accum", "2", "--precision", "bf16", "--out", tmp_path / "a")[0] == 0
    real = training.AMORTIZED
    monkeypatch.setattr(training, "AMORTIZED", replace(real, fn=dying_loss(real.fn, 4)))  # after the checkpoint at 3
    with pytest.raises(Killed):
        main([str(a) for a in (*TRAIN, "--grad-accum", "2", "--precision", "bf16", "--out", tmp_path / "b")])
    monkeypatch.setattr(training, "AMORTIZED", real)
    assert cli(capsys, *TRAIN, "--precision", "bf16", "--resume", "--out", tmp_path / "b")[0] == 0
    a, b = (load_tensors(tmp_path / x / "amortizer_checkpoint.safetensors")[0] for x in "ab")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    code, _, err = cli(capsys, *TRAIN, "--grad-accum", "3", "--out", tmp_path / "c")
    assert code == 2 and err.strip() == "error: batch size 8 is not divisible by --grad-accum 3"


# -- image folders as training data -------------------------------------------------------------------
def write_digits(folder: Path, count: int, size: tuple[int, int] = (12, 10)) -> list[Path]:
    g = torch.Generator().manual_seed(0)
    paths = []
    for i in range(count):
        p = folder / ("sub" if i % 2 else "") / f"img{i:02d}.png"
        write_png(torch.rand(1, size[1], size[0], generator=g) * 2 - 1, p)
        paths.append(p)
    return paths


def test_step_sampler_order_does_not_depend_on_world_size_or_resume():
    def chunks(world: int, rank: int, start: int) -> list[int]:
        return list(StepSampler(10, 3, 4, 4, range(rank * 4 // world, (rank + 1) * 4 // world), start, 6))

    one = chunks(1, 0, 0)
    assert sorted(one[:10]) == list(range(10)) and sorted(one[10:20]) == list(range(10))  # epochs = permutations
    assert one[:10] != one[10:20]  # reshuffled per epoch
    r0, r1 = chunks(2, 0, 0), chunks(2, 1, 0)
    merged = [x for s in range(6) for x in r0[2 * s : 2 * s + 2] + r1[2 * s : 2 * s + 2]]
    assert merged == one
    assert chunks(1, 0, 2) == one[8:]  # resuming at step 2 continues mid-epoch


def test_folder_listing_split_and_fit(tmp_path, capsys):
    write_digits(tmp_path / "d", 6)
    (tmp_path / "d" / "notes.txt").write_text("x")
    images = list_images(tmp_path / "d")
    assert len(images.files) == 6 and [p.name for p, _ in images.skipped] == ["notes.txt"]
    assert capsys.readouterr().err.count("warning: skipping") == 1
    train, held = split_holdout(images, 2)
    assert len(held) == 2 and not set(train) & set(held)
    assert split_holdout(list_images(f"{tmp_path}/d/**/*.png"), 2)[1] == held  # glob: same names, same split
    # Fit: center crop to the target's aspect ratio, then resize: a 12x8 image with a constant 8x8
    # center gives that constant; an image of the right size comes back unchanged.
    arr = np.zeros((8, 12), np.uint8)
    arr[:, 2:10] = 200
    Image.fromarray(arr).save(tmp_path / "wide.png")
    torch.testing.assert_close(read_fitted(tmp_path / "wide.png", (1, 4, 4)), torch.full((1, 4, 4), 200 / 127.5 - 1))
    exact = tmp_path / "d" / "img00.png"
    torch.testing.assert_close(read_fitted(exact, (1, 10, 12)), read_png(exact, 1)[0])
    with pytest.raises(ValueError, match="12x10 pixels, smaller than the prior's 16x16"):
        read_fitted(exact, (1, 16, 16))


RESTORE = ["--simulate", "motion_blur:3:0.5", "--sigma", "0.1", "--sampler", "mgdm", "--steps", "5"]
RESTORE += ["--adam-out", "1", "--adam-in", "1", "--seed", "7", "--quiet"]


def outputs(out: Path) -> tuple[dict[str, bytes], list[dict]]:
    pngs = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}
    with (out / "metrics.csv").open() as f:
        rows = [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]
    return pngs, rows


def test_folder_restore_is_identical_for_any_batch_and_world_size_and_resumes(ddp_runs, capsys, tiny_prior):
    ref_pngs, ref_rows = outputs(ddp_runs / "b1")
    assert len(ref_pngs) == 12 and len(ref_rows) == 5  # 4 images x 3 PNGs; 4 rows + 1 skipped file
    skipped = [r for r in ref_rows if r["status"] != "ok"]
    assert [(r["name"], r["status"]) for r in skipped] == [("readme.md", "skipped: not a .png/.jpg/.jpeg file")]
    assert all(float(r["psnr"]) > 0 and int(r["denoiser_forwards"]) > 0 for r in ref_rows if r["status"] == "ok")
    # Image img00 was degraded with the operator `lavps degrade --operator SPEC --seed s` draws, s its seed.
    from lavps.operators import load_operator, parse_operator_spec
    from lavps.random import name_seed

    seed = int(next(r for r in ref_rows if r["name"] == "img00")["seed"])
    assert seed == name_seed(7, "img00")
    drawn = parse_operator_spec("motion_blur:3:0.5", (1, 8, 8)).sample_one(torch.Generator().manual_seed(seed))
    torch.testing.assert_close(load_operator(ddp_runs / "b1" / "img00" / "operator.safetensors").kernel, drawn.kernel)
    for other in ("b3", "w2"):  # batch size 3; world size 2 with batch size 3
        pngs, rows = outputs(ddp_runs / other)
        assert pngs == ref_pngs and rows == ref_rows, other
    base = ["restore", ddp_runs / "clean", "--prior", tiny_prior, *RESTORE]
    # Resume: an image whose folder is missing is redone, finished ones are skipped, nothing half-written stays.
    import shutil

    shutil.rmtree(ddp_runs / "b3" / "sub" / "img01")
    code, out, _ = cli(capsys, *base, "--batch-size", "3", "--out", ddp_runs / "b3")
    assert code == 0 and "restored 1 image(s)" in out and "3 already done" in out
    assert outputs(ddp_runs / "b3") == (ref_pngs, ref_rows)
    assert not [p for p in (ddp_runs / "b3").rglob(".*")]
    code, _, err = cli(capsys, *base, "--sigma", "0.2", "--batch-size", "3", "--out", ddp_runs / "b3")
    assert code == 2 and "other settings (sigma: 0.1 there, 0.2 here)" in err


def test_folder_bad_inputs_give_one_line_errors(tmp_path, capsys, tiny_prior):
    (tmp_path / "empty").mkdir()
    base = ["restore", "--prior", tiny_prior, *RESTORE]
    cases = {
        "empty": ("no PNG/JPEG images in", None),
        "small": ("smaller than the prior's 8x8", lambda d: write_digits(d, 2, size=(6, 12))),
        "broken": ("cannot read image", lambda d: (d / "x.png").write_bytes(b"not a png")),
    }
    for name, (message, make) in cases.items():
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        if make:
            make(folder)
        code, _, err = cli(capsys, base[0], folder, *base[1:], "--out", tmp_path / f"out_{name}")
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
        assert not (tmp_path / f"out_{name}").exists()
    code, _, err = cli(
        capsys, "train-amortizer", "--prior", "mnist", "--operator", "denoise", "--data", tmp_path / "small", "--quiet"
    )
    assert code == 2 and err.strip().startswith("error: image") and "smaller than the prior's 32x32" in err


def test_loop_validates_stops_early_and_keeps_the_metrics_file_consistent_on_resume(tmp_path):
    from lavps.training.loop import LoopSettings, Validation, run_loop

    values = iter([1.0, 0.5, 0.6, 0.7, 0.8])

    def step(net, chunk):
        x = torch.randn(chunk.size, 2, generator=chunk.generator)
        return net(x).pow(2).mean(), {}

    def build():
        return torch.nn.Linear(2, 1)

    settings = LoopSettings(steps=20, batch_size=4, lr=1e-2, ckpt_every=3, val_every=2, patience=2)
    ckpt, metrics = tmp_path / "run_checkpoint.safetensors", tmp_path / "metrics.jsonl"
    args = (settings, build, step, ckpt, {"name": "test"})
    state = run_loop(
        *args, progress=False, validation=Validation(lambda net: {"v": next(values)}, "v"), metrics_path=metrics
    )
    # validations at steps 2, 4, 6, 8 give 1.0, 0.5, 0.6, 0.7: two without improvement after the best -> stop at 8
    assert state.stopped_early and state.step == 8 and state.best == 0.5
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 3, 4, 6, 8] and rows[-1]["stopped_early"] is True
    again = run_loop(*args, resume=True, progress=False, metrics_path=metrics)  # a stopped run stays stopped
    assert again.step == 8 and again.stopped_early
    with pytest.raises(ValueError, match="exists; resume it"):
        run_loop(*args, progress=False)


def test_train_amortizer_on_a_folder_validates_and_records_its_data(tmp_path, capsys):
    from lavps.data.mnist import mnist_split

    digits, _ = mnist_split("test")
    for i in range(10):
        write_png(
            torch.nn.functional.interpolate(digits[i : i + 1], size=(40, 36), mode="bilinear")[0],
            tmp_path / "d" / f"{i}.png",
        )
    args = ["train-amortizer", "--prior", "mnist", "--operator", "motion_blur:5:0.5", "--sigma", "0.05", "--data"]
    args += [tmp_path / "d", "--val-count", "2", "--val-every", "2", "--psnr-images", "1", "--steps", "8"]
    args += ["--window", "3", "--iterations", "2", "--batch-size", "2", "--loader-workers", "0", "--quiet"]
    args += ["--out", tmp_path / "run"]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    assert "val_ratio" in out and "val_psnr" in out
    (row,) = [json.loads(line) for line in (tmp_path / "run" / "amortizer_metrics.jsonl").read_text().splitlines()]
    assert row["step"] == 2 and row["val_ratio"] > 0 and np.isfinite(row["val_psnr"]) and "train_ratio" in row
    card = json.loads((tmp_path / "run" / "amortizer.json").read_text())
    assert (
        card["data"]["train"] == 8
        and card["data"]["held_out"] == 2
        and card["validation"]["last"] == {k: row[k] for k in ("val_ratio", "val_psnr")}
    )


def test_stacked_operator_equals_the_batched_operator_of_the_same_kernels():
    from lavps.operators import CircularBlur, parse_operator_spec
    from lavps.operators.stack import StackedOperator

    family = parse_operator_spec("motion_blur:5:0.7", (1, 8, 8))
    ops = [family.sample_one(torch.Generator().manual_seed(s)) for s in (1, 2, 3)]
    stack, batched = StackedOperator(ops), CircularBlur(torch.stack([o.kernel for o in ops]), (1, 8, 8))
    x, y = torch.randn(3, 1, 8, 8, dtype=torch.float64), torch.randn(3, 1, 8, 8, dtype=torch.float64)
    for method in ("forward", "adjoint", "pinv"):
        torch.testing.assert_close(getattr(stack, method)(x), getattr(batched, method)(x))
    torch.testing.assert_close((stack(x) * y).sum((1, 2, 3)), (x * stack.adjoint(y)).sum((1, 2, 3)))
    assert stack.batch_size == 3
    with pytest.raises(ValueError, match="share their shapes"):
        StackedOperator([ops[0], parse_operator_spec("denoise", (1, 4, 4)).sample_one(torch.Generator())])
