"""atomic_dir (bench calibration's report folder): overwrite replaces only the files the run writes."""

import pytest

from lavps.workflows.image import atomic_dir


def test_overwrite_keeps_bystanders_and_replaces_outputs(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "my_thesis.txt").write_text("keep me")
    (out / "calibration.json").write_text("old")
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "calibration.json").write_text("new")
    assert (out / "my_thesis.txt").read_text() == "keep me"
    assert (out / "calibration.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary folder left


def test_failure_writes_nothing_and_a_full_folder_needs_overwrite(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        atomic_dir(out)
    with pytest.raises(RuntimeError), atomic_dir(out, overwrite=True) as tmp:
        (tmp / "calibration.json").write_text("half")
        raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
