"""Records list what their run wrote with digests (lavps.outputs): restore.json's "outputs" (one image, and each
image of a folder restore) are exactly the other files of its folder, each with the sha256 and size of the bytes
on disk; a folder restore's run.json lists metrics.csv and every image's restore.json the same way."""

import hashlib
import json
from pathlib import Path

import pytest
import torch

from lavps.imaging.io import write_png
from lavps.outputs import OutputFolder, bench_output, recorded_outputs, write_bench_json

FAST = ["--sigma", "0.1", "--sampler", "mgdm", "--steps", "4", "--adam-out", "1", "--adam-in", "1", "--quiet"]
TINY = ["--sampler", "ddrm", "--preset", "tiny", "--quiet"]
pytestmark = pytest.mark.filterwarnings("ignore:.*the sampler diverged")  # the tiny prior's weights are random


def assert_lists_its_folder(folder: Path, record: str = "restore.json") -> list[dict]:
    """The record's outputs are every other file under `folder`, with the digest and size of its bytes now."""
    listed = json.loads((folder / record).read_text())["outputs"]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert [e["file"] for e in listed] == [f for f in files if f != record]
    for entry in listed:
        data = (folder / entry["file"]).read_bytes()
        assert entry == {"file": entry["file"], "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return listed


def test_a_restore_lists_every_file_it_wrote_with_its_digest(tmp_path, _cli, tiny_prior):
    write_png(torch.linspace(-1, 1, 64).reshape(1, 8, 8), tmp_path / "clean.png")
    made = _cli("degrade", tmp_path / "clean.png", "--operator", "sr:2", "--sigma", "0.1", "--prior", tiny_prior,
                "--out", tmp_path / "obs.png")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert {e["file"] for e in json.loads((tmp_path / "obs.json").read_text())["outputs"]} == {
        "obs.png", "obs.operator.safetensors", "obs.observation.pt"}  # fmt: skip
    run = ["restore", tmp_path / "obs.observation.pt", "--prior", tiny_prior, *TINY, "--out", tmp_path / "r"]
    done = _cli(*run, "--samples", "2", "--reference", tmp_path / "clean.png")
    assert done.returncode == 0, done.stderr
    listed = assert_lists_its_folder(tmp_path / "r")
    assert [e["file"] for e in listed] == [
        "observation.png", "posterior_mean.png", "posterior_std.png", "reconstruction_000.png",
        "reconstruction_001.png"]  # fmt: skip
    assert _cli(*run, "--overwrite").returncode == 0  # into the existing folder: one sample, no posterior images
    assert len(assert_lists_its_folder(tmp_path / "r")) == 2
    (tmp_path / "r" / "reconstruction_000.png").write_bytes(b"changed later")
    entry = json.loads((tmp_path / "r" / "restore.json").read_text())["outputs"][1]
    assert entry["sha256"] != hashlib.sha256(b"changed later").hexdigest()  # what a later check catches


def test_each_image_of_a_folder_restore_lists_its_files_and_run_json_lists_the_records(tmp_path, _cli, tiny_prior):
    clean = tmp_path / "clean"
    for i, name in enumerate(("a", "b", "sub/c")):
        (clean / name).parent.mkdir(parents=True, exist_ok=True)
        write_png(torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(i)) * 2 - 1, clean / f"{name}.png")
    out = tmp_path / "out"
    run = ["restore", clean, "--simulate", "motion_blur:3:0.5", "--prior", tiny_prior, *FAST, "--out", out]
    assert _cli(*run).returncode == 0
    names = ["a", "b", "sub/c"]
    for name in names:
        listed = assert_lists_its_folder(out / name)
        assert [e["file"] for e in listed] == [
            "observation.png", "operator.safetensors", "reconstruction.png", "reference.png"]  # fmt: skip
    assert_run_json_lists(out, names)
    before = (out / "a" / "restore.json").read_bytes()
    (out / "b" / "restore.json").unlink()  # unfinished: a resume restores it again and lists it anew
    assert _cli(*run).returncode == 0
    assert (out / "a" / "restore.json").read_bytes() == before  # a finished image is left as it was
    assert_run_json_lists(out, names)
    assert json.loads((out / "run.json").read_text())["settings"]["simulate"] is True  # its settings kept


def assert_run_json_lists(out: Path, names: list[str]) -> None:
    listed = json.loads((out / "run.json").read_text())["outputs"]
    assert [e["file"] for e in listed] == ["metrics.csv"] + [f"{n}/restore.json" for n in names]
    for entry in listed:
        data = (out / entry["file"]).read_bytes()
        assert (entry["sha256"], entry["bytes"]) == (hashlib.sha256(data).hexdigest(), len(data))


def test_records_of_earlier_runs_are_still_recognised(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "reconstruction_000.png").write_text("old")
    record = out / "restore.json"  # written before entries had digests: bare names, the record among them
    record.write_text(json.dumps({"outputs": ["reconstruction_000.png", "restore.json"]}))
    assert recorded_outputs(record) == {"reconstruction_000.png", "restore.json"}
    with OutputFolder(out, "restore.json", overwrite=True) as tmp:
        (tmp / "reconstruction_000.png").write_text("new")
        (tmp / "restore.json").write_text("{}")
    assert recorded_outputs(record) == {"reconstruction_000.png", "restore.json"}
    report = tmp_path / "bench.json"  # a record whose only output is itself lists nothing, and is still its own
    for _ in range(2):
        write_bench_json(bench_output(report), {"rows": []})
    assert json.loads(report.read_text())["outputs"] == [] and recorded_outputs(report) == {"bench.json"}
    mine = tmp_path / "mine" / "OBS.json"  # a user's JSON that happens to list nothing is not ours to replace
    mine.parent.mkdir()
    mine.write_text(json.dumps({"outputs": [], "note": "my own notes"}))
    assert recorded_outputs(mine) == set()
    with pytest.raises(FileExistsError, match="OBS.json"):
        with OutputFolder(mine.parent, "OBS.json", overwrite=True, names=["OBS.json", "OBS.observation.pt"]) as tmp:
            (tmp / "OBS.json").write_text("{}")
    assert json.loads(mine.read_text())["note"] == "my own notes"
