"""Folder restores never lose finished results or user files, and read every image by the single-image rules:
nested names that would share a folder, file names that look like globs, outputs inside a glob's root,
16-bit and RGB files, a corrupt run record."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lavps.data.folder import is_glob, list_images, named_root, source_root
from lavps.imaging.fit import read_fitted
from lavps.imaging.io import read_image, write_png

FAST = ["--sigma", "0.1", "--sampler", "mgdm", "--steps", "4", "--adam-out", "1", "--adam-in", "1", "--quiet"]


def digit(path: Path, seed: int = 0) -> Path:
    g = torch.Generator().manual_seed(seed)
    return write_png(torch.rand(1, 8, 8, generator=g) * 2 - 1, path)


def one_line_error(run, *args) -> str:
    done = run(*args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_an_image_whose_folder_would_hold_another_images_results_is_refused_before_any_work(tmp_path, _cli, tiny_prior):
    inputs, out = tmp_path / "in", tmp_path / "out"
    digit(inputs / "sub" / "b.png")
    base = ["restore", inputs, "--simulate", "denoise", "--prior", tiny_prior, *FAST, "--out", out]
    assert _cli(*base).returncode == 0 and (out / "sub" / "b" / "restore.json").is_file()
    digit(inputs / "sub.png", seed=1)  # would restore into out/sub/, which holds sub/b's results
    error = one_line_error(_cli, *base)
    assert "sub.png restores into sub/" in error and "sub/b.png" in error
    assert (out / "sub" / "b" / "restore.json").is_file()  # the finished result is untouched


def test_an_existing_file_whose_name_looks_like_a_glob_is_restored_itself(tmp_path, _cli, tiny_prior):
    assert is_glob(tmp_path / "scan[1].png") and is_glob(tmp_path / "*.png")
    literal = digit(tmp_path / "scan[1].png")
    digit(tmp_path / "scan1.png", seed=1)  # what the pattern scan[1].png matches
    assert not is_glob(literal) and source_root(literal) == literal
    out = tmp_path / "out"
    done = _cli("restore", literal, "--operator", "denoise", "--prior", tiny_prior, *FAST, "--out", out)
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "restore.json").read_text())  # the single-image form, of that very file
    assert Path(record["observation"]) == literal
    assert not (out / "metrics.csv").exists() and not (out / "scan1").exists()


def test_an_out_folder_inside_a_globs_root_is_refused(tmp_path, _cli, tiny_prior):
    digit(tmp_path / "in" / "a.png")
    assert source_root(f"{tmp_path}/in/**/*.png") == tmp_path / "in"
    out = tmp_path / "in" / "res"
    glob = f"{tmp_path}/in/**/*.png"
    error = one_line_error(_cli, "restore", glob, "--simulate", "denoise", "--prior", tiny_prior, *FAST, "--out", out)
    assert "inside the input folder" in error and not out.exists()


def test_a_glob_that_names_no_folder_is_rooted_at_its_matches_folder(tmp_path, _cli, tiny_prior, monkeypatch):
    monkeypatch.chdir(tmp_path)
    digit(Path("clean/d0.png"))
    digit(Path("clean/d1.png"), seed=1)
    digit(Path("data/sub/e.png"), seed=2)
    images = list_images("cle*/d*.png")
    assert images.root == Path("clean") and [images.name(p) for p in images.files] == ["d0.png", "d1.png"]
    assert source_root("*/*.png", [Path("clean/d0.png"), Path("noisy/d0.png")]) == Path(".")  # no folder holds both
    assert named_root("cle*/d*.png") is None and named_root("/*/x.png") is None
    assert source_root("data/**/*.png", [Path("data/sub/e.png")]) == Path("data")  # a named folder stays the root
    assert list_images("data/**/*.png").name(Path("data/sub/e.png")) == "sub/e.png"
    base = ["restore", "cle*/d*.png", "--simulate", "denoise", "--prior", tiny_prior, *FAST]
    error = one_line_error(_cli, "restore", "**/*.png", *base[2:], "--out", "rg")  # a re-run would read rg/ back
    assert "**/*.png would match its outputs" in error and not Path("rg").exists()
    done = _cli(*base, "--out", "rg")  # was refused: "--out rg is inside the input folder ."
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in Path("rg").iterdir() if p.is_dir()) == ["d0", "d1"]  # not clean/d0
    assert (Path("rg") / "d0" / "restore.json").is_file()
    error = one_line_error(_cli, *base, "--out", "clean/rg")  # inside a folder the glob reads
    assert "inside the input folder clean" in error and not Path("clean/rg").exists()
    Path("clean/d1.png").unlink()  # an input removed since: its finished result is said on a resume, and kept
    done = _cli(*base, "--out", "rg")
    assert done.returncode == 0, done.stderr
    assert "rg holds 1 finished image folder(s) this run does not list (e.g. d1)" in done.stderr
    assert (Path("rg") / "d1" / "restore.json").is_file()


def test_sixteen_bit_and_eight_bit_copies_of_an_image_read_the_same(tmp_path):
    levels = np.linspace(0, 65535, 12 * 10).reshape(10, 12).astype(np.uint16)
    Image.fromarray(levels).save(tmp_path / "wide16.png")
    Image.fromarray((levels / 257).round().astype(np.uint8)).save(tmp_path / "wide8.png")
    a, b = read_fitted(tmp_path / "wide16.png", (1, 8, 8)), read_fitted(tmp_path / "wide8.png", (1, 8, 8))
    assert a.max() > 0.9 and (a - b).abs().max() < 2 * 2 / 255  # was: 16-bit clipped to white
    exact = tmp_path / "exact16.png"
    Image.fromarray(levels[:8, :8]).save(exact)
    torch.testing.assert_close(read_fitted(exact, (1, 8, 8)), read_image(exact)[0])
    rgba = np.zeros((10, 12, 4), np.uint8)
    Image.fromarray(rgba).save(tmp_path / "transparent.png")
    with pytest.raises(ValueError, match="transparent pixels"):
        read_fitted(tmp_path / "transparent.png", (1, 8, 8))


def test_folder_observations_and_references_are_read_without_conversion(tmp_path, _cli, tiny_prior):
    obs, refs = tmp_path / "obs", tmp_path / "refs"
    digit(obs / "d.png")
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(obs / "rgb.png")  # an RGB observation, grey prior
    base = ["restore", obs, "--operator", "denoise", "--prior", tiny_prior, *FAST]
    error = one_line_error(_cli, *base, "--out", tmp_path / "o1")
    assert "observation" in error and "rgb.png is 3x8x8" in error and not (tmp_path / "o1").exists()
    (obs / "rgb.png").unlink()
    refs.mkdir()
    Image.fromarray(np.full((10, 12), 90, np.uint8)).save(refs / "d.png")  # not the prior's 8x8
    error = one_line_error(_cli, *base, "--reference", refs, "--out", tmp_path / "o2")
    assert "reference image" in error and "1x10x12" in error and not (tmp_path / "o2").exists()
    # a 16-bit reference scores as its 8-bit copy does
    clean = read_image(obs / "d.png")[0, 0].numpy()
    for depth, scale, dtype in ((8, 255, np.uint8), (16, 65535, np.uint16)):
        Image.fromarray(((clean + 1) / 2 * scale).round().astype(dtype)).save(refs / "d.png")
        assert _cli(*base, "--reference", refs, "--out", tmp_path / f"r{depth}").returncode == 0
    rows = [(tmp_path / f"r{d}" / "metrics.csv").read_text().splitlines()[1].split(",") for d in (8, 16)]
    assert rows[0][4] == rows[1][4] and float(rows[0][4]) > 0  # identical PSNR


def test_reference_with_simulate_and_a_corrupt_run_record_are_refused(tmp_path, _cli, tiny_prior):
    digit(tmp_path / "in" / "a.png")
    base = ["restore", tmp_path / "in", "--simulate", "denoise", "--prior", tiny_prior, *FAST]
    error = one_line_error(_cli, *base, "--reference", tmp_path / "in", "--out", tmp_path / "o")
    assert "--reference" in error and "--simulate" in error
    for text in ("[]", '{"settings": {'):
        out = tmp_path / "bad"
        out.mkdir(exist_ok=True)
        (out / "run.json").write_text(text)
        error = one_line_error(_cli, *base, "--out", out)
        assert str(out / "run.json") in error and "not a folder run's record" in error
        assert (out / "run.json").read_text() == text  # left as it was
