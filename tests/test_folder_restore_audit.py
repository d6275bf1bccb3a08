"""Folder restore and training-data loading, as docs/scale.md states them: refusals before any work (non-linear
--simulate, colliding names, undecodable images, --noise-on-device), --particles with per-image operators,
temp folders that never pile up, run.json pinning what a resume must agree with, and the smaller rules
(references in any case, hidden files listed, EXIF orientation, a DataLoader worker's error unwrapped)."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lavps.imaging.fit import image_size, read_fitted
from lavps.imaging.io import write_png
from lavps.workflows import folder_checks

FAST = ["--sigma", "0.1", "--sampler", "mgdm", "--steps", "4", "--adam-out", "1", "--adam-in", "1", "--quiet"]
SIM = ["--simulate", "motion_blur:3:0.5"]


def digits(folder: Path, names=("a", "b", "c")) -> Path:
    for i, name in enumerate(names):
        g = torch.Generator().manual_seed(i)
        write_png(torch.rand(1, 8, 8, generator=g) * 2 - 1, folder / f"{name}.png")
    return folder


def one_line_error(done) -> str:
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def restore(_cli, tiny_prior, source, out, *extra):
    return _cli("restore", source, *SIM, "--prior", tiny_prior, *FAST, "--out", out, *extra)


@pytest.mark.parametrize("spec", ["jpeg:10", "phase:2"])
def test_simulating_a_non_linear_family_is_refused_before_any_work(tmp_path, _cli, tiny_prior, spec):
    clean, out = digits(tmp_path / "clean"), tmp_path / "out"
    done = _cli("restore", clean, "--simulate", spec, "--prior", tiny_prior, *FAST, "--out", out)
    error = one_line_error(done)
    assert f"--simulate {spec}" in error and "lavps degrade" in error and f"--operator {spec}" in error
    assert not out.exists()


def test_simulate_with_particles_gives_each_image_its_own_operator(tmp_path, _cli, tiny_prior):
    clean = digits(tmp_path / "clean")
    for batch in (1, 3):
        done = restore(_cli, tiny_prior, clean, tmp_path / f"b{batch}", "--particles", "2", "--batch-size", batch)
        assert done.returncode == 0, done.stderr
    for name in ("a", "b", "c"):  # an image's result never depends on its batch-mates' operators
        one, three = (tmp_path / f"b{b}" / name / "reconstruction.png" for b in (1, 3))
        assert one.read_bytes() == three.read_bytes()


def test_an_undecodable_clean_image_stops_the_run_before_any_output(tmp_path, _cli, tiny_prior):
    clean = digits(tmp_path / "clean")
    rgba = np.full((8, 8, 4), 200, np.uint8)
    rgba[0, 0, 3] = 0
    Image.fromarray(rgba).save(clean / "z_rgba.png")  # sorted last: the others would be restored first
    error = one_line_error(restore(_cli, tiny_prior, clean, tmp_path / "out", "--batch-size", "1"))
    assert "z_rgba.png" in error and "transparent" in error and not (tmp_path / "out").exists()
    (clean / "z_rgba.png").unlink()
    whole = (clean / "a.png").read_bytes()
    (clean / "z_trunc.png").write_bytes(whole[: len(whole) // 2])
    error = one_line_error(restore(_cli, tiny_prior, clean, tmp_path / "out", "--batch-size", "1"))
    assert "z_trunc.png" in error and not (tmp_path / "out").exists()


def test_train_amortizer_data_is_decoded_before_training(tmp_path, _cli):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(6):
        Image.fromarray(np.full((32, 32), 40 * i, np.uint8)).save(data / f"d{i}.png")
    whole = (data / "d0.png").read_bytes()
    (data / "z_trunc.png").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    args = ["train-amortizer", "--prior", "mnist", "--operator", "denoise", "--data", data, "--iterations", "2"]
    error = one_line_error(_cli(*args, "--batch-size", "2", "--quiet", "--out", out))
    assert "z_trunc.png" in error and not (out / "amortizer_checkpoint.json").exists()


def test_a_dataloader_workers_error_reaches_the_user_as_its_own_message():
    from torch._utils import ExceptionWrapper

    from lavps.cli.main import _unwrapped

    try:
        raise ValueError("cannot read image d/z.png: image file is truncated")
    except ValueError:
        wrapped = ExceptionWrapper(sys.exc_info(), where="in DataLoader worker process 0")
    with pytest.raises(ValueError) as caught:
        wrapped.reraise()
    assert _unwrapped(str(caught.value)) == "cannot read image d/z.png: image file is truncated"
    assert _unwrapped("plain message") == "plain message"


@pytest.mark.parametrize("name", ["run.json.png", "METRICS.csv.png"])
def test_an_image_named_like_the_runs_own_files_is_refused_before_any_work(tmp_path, _cli, tiny_prior, name):
    clean = digits(tmp_path / "clean", ("a",))
    write_png(torch.zeros(1, 8, 8), clean / name)
    error = one_line_error(restore(_cli, tiny_prior, clean, tmp_path / "out"))
    assert name in error and "rename it" in error and not (tmp_path / "out").exists()


def test_a_long_nested_name_restores_and_its_temp_folder_name_is_short(tmp_path, _cli, tiny_prior):
    deep = "/".join(["d" * 60] * 3) + "/" + "e" * 200
    clean = digits(tmp_path / "clean", (deep,))
    out = tmp_path / "out"
    assert restore(_cli, tiny_prior, clean, out).returncode == 0
    assert (out / deep / "restore.json").is_file()
    assert len(folder_checks.temp_folder(out, deep).name) < 64


def test_run_json_pins_precision_device_source_and_prior_and_a_resume_checks_them(
    tmp_path, _cli, tiny_prior, monkeypatch
):
    clean, out = digits(tmp_path / "clean"), tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    assert restore(_cli, tiny_prior, "clean", out).returncode == 0
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["source_path"] == str(clean.resolve()) and settings["precision"] == "fp32"
    assert settings["device"] == "cpu" and len(settings["prior_fingerprint"]) >= 8
    for spelled in ("./clean", str(clean)):  # the same folder, named otherwise: a resume
        done = restore(_cli, tiny_prior, spelled, out)
        assert done.returncode == 0 and "3 already done" in done.stdout, done.stderr
    error = one_line_error(restore(_cli, tiny_prior, clean, out, "--precision", "bf16"))
    assert "precision: 'fp32' there, 'bf16' here" in error
    record = json.loads((out / "run.json").read_text())
    record["settings"]["prior_fingerprint"] = "0123456789abcdef"  # the prior file retrained in place
    (out / "run.json").write_text(json.dumps(record))
    assert "prior_fingerprint" in one_line_error(restore(_cli, tiny_prior, clean, out))
    other = digits(tmp_path / "other")  # the same names, another folder
    assert "source_path" in one_line_error(restore(_cli, tiny_prior, other, out))
    for key in ("prior_fingerprint", "source_path", "precision", "device", "amortizer_sha256"):
        record["settings"].pop(key)  # a run.json of an earlier lavps: these are unknown, not different
    (out / "run.json").write_text(json.dumps(record))
    done = restore(_cli, tiny_prior, "clean", out)
    assert done.returncode == 0 and "3 already done" in done.stdout, done.stderr


def test_a_resume_removes_dead_processes_temp_folders_but_not_a_live_ones(tmp_path, _cli, tiny_prior):
    clean, out = digits(tmp_path / "clean"), tmp_path / "out"
    assert restore(_cli, tiny_prior, clean, out).returncode == 0
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = folder_checks.temp_folder(out, "x").name.split("-")[2]
    dead, live = out / f".tmp-aaaa-{host}-{gone.pid}", out / f".tmp-bbbb-{host}-{os.getppid()}"
    for tmp in (dead, live):
        tmp.mkdir()
        (tmp / "observation.png").write_bytes(b"half")
    assert restore(_cli, tiny_prior, clean, out).returncode == 0
    assert not dead.exists() and live.is_dir()


def test_an_interrupted_image_write_leaves_no_temp_folder(tmp_path, _cli, tiny_prior, monkeypatch):
    import lavps.workflows.folder as folder

    clean, out = digits(tmp_path / "clean"), tmp_path / "out"

    real, calls = folder.write_json, []

    def interrupted(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the second image, after the first is finished
            raise SystemExit(143)  # what SIGTERM raises in the CLI
        return real(path, *args, **kwargs)

    monkeypatch.setattr(folder, "write_json", interrupted)
    assert restore(_cli, tiny_prior, clean, out, "--batch-size", "1").returncode == 143
    assert (out / "a" / "restore.json").is_file() and not list(out.glob(".tmp-*"))
    monkeypatch.undo()
    done = restore(_cli, tiny_prior, clean, out)
    assert done.returncode == 0 and not list(out.glob(".tmp-*"))


def test_references_match_any_suffix_case_and_noise_on_device_is_refused(tmp_path, _cli, tiny_prior):
    obs, refs = digits(tmp_path / "obs", ("d0",)), digits(tmp_path / "refs", ("d0",))
    (refs / "d0.png").rename(refs / "d0.Png")
    out = tmp_path / "out"
    done = _cli(
        "restore", obs, "--operator", "denoise", "--prior", tiny_prior, *FAST, "--reference", refs, "--out", out
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "d0" / "restore.json").read_text())["psnr"] > 0
    error = one_line_error(restore(_cli, tiny_prior, obs, tmp_path / "out2", "--noise-on-device"))
    assert "--noise-on-device" in error and not (tmp_path / "out2").exists()


def test_hidden_files_are_skipped_with_a_warning_and_listed(tmp_path, _cli, tiny_prior):
    clean, out = digits(tmp_path / "clean", ("a", ".x", ".cache/b")), tmp_path / "out"
    done = restore(_cli, tiny_prior, clean, out)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: skipping") == 2 and ".x.png" in done.stderr
    with (out / "metrics.csv").open() as f:
        rows = {r["name"]: r["status"] for r in csv.DictReader(f)}
    assert rows["a"] == "ok" and rows[".x.png"].startswith("skipped: a hidden name")
    assert rows[".cache/b.png"].startswith("skipped")


def test_exif_orientation_is_applied_where_images_are_fitted(tmp_path):
    upright = np.zeros((8, 12), np.uint8)
    upright[:, :6] = 255  # left half white: a 90-degree turn moves it
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer turns the stored pixels 90 degrees clockwise
    stored = Image.fromarray(np.rot90(upright, 1).copy())  # pixels stored turned, as a phone does
    stored.save(tmp_path / "e.jpg", exif=exif, quality=100)
    assert image_size(tmp_path / "e.jpg") == (12, 8)
    x = read_fitted(tmp_path / "e.jpg", (1, 8, 12))
    want = torch.from_numpy(upright.astype(np.float32) / 255 * 2 - 1)
    assert (x[0] - want).abs().mean() < 0.1
    from lavps.imaging.io import read_image

    one = read_image(tmp_path / "e.jpg")  # one image (restore's --reference, degrade's clean image): upright too
    assert one.shape == (1, 1, 8, 12) and (one[0, 0] - want).abs().mean() < 0.1
