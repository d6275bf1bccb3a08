"""Where lavps writes: every output-writing command prepares its output folder here.

Rules (nothing the user owns is ever deleted or replaced):
- lavps replaces only files it wrote itself: a run lists its outputs under "outputs" in its record
  (restore.json, summary.json, the JSON of a bench or of degrade); a later run replaces exactly those,
  and only with --overwrite (benchmarks, which have no --overwrite, replace their own JSON). Each entry is
  {"file", "sha256", "bytes"} of one output besides the record itself (`output_entries`), so that a
  result folder can be checked later; records written before entries had digests list bare names.
- An exclusive folder (restore, demo) must be empty or hold only an earlier run's outputs; anything
  else in it (the inputs, notes, sub-folders) is refused before any work, in one line.
- A shared folder (degrade, bench --json) may hold other files; only the names this run writes are
  checked.
- Outputs are written to a hidden temporary folder and moved into place on success: an error leaves
  nothing behind; a new folder appears whole, the record is moved last.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "OutputFolder",
    "file_sha256",
    "output_entry",
    "output_entries",
    "make_public",
    "bench_output",
    "write_bench_json",
    "refuse_existing",
    "recorded_outputs",
    "TEMP_PREFIX",
]

TEMP_PREFIX = ".lavps-tmp-"


def file_sha256(path) -> str:
    """The sha256 of a file's bytes (hex): records pin the inputs a run read and list the outputs it wrote."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def output_entry(folder: Path, name: str) -> dict:
    """{"file": name, "sha256", "bytes"} of the file `name` (relative to `folder`, posix); an empty folder, which
    has no bytes, is {"file": name} alone."""
    path, entry = folder / name, {"file": name}
    if path.is_file():
        entry.update(sha256=file_sha256(path), bytes=path.stat().st_size)
    return entry


def output_entries(folder: Path, record: str) -> list[dict]:
    """What a record lists under "outputs": the `output_entry` of every file under `folder` but the record
    itself, sorted by name. Taken once every output is written: the digests are those of the files that stay."""
    return [output_entry(folder, name) for name in _entries(folder) if name != record]


def recorded_outputs(record: Path) -> set[str]:
    """The file names (relative to the record's folder) a record lists as its run's outputs, the record
    included; empty for a missing or unreadable record, or one written before records listed their outputs.
    An entry is {"file", "sha256", "bytes"} (`output_entries`), or a bare name in records written before
    entries had digests. A record whose only output is itself (a bench JSON without a plot) lists nothing and
    is known by its "lavps_version" (`write_bench_json`)."""
    try:
        payload = json.loads(record.read_text())
        listed = payload["outputs"]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return set()
    if not isinstance(listed, list):
        return set()
    names = [entry.get("file") if isinstance(entry, dict) else entry for entry in listed]
    if not all(isinstance(n, str) for n in names):
        return set()
    if not names and "lavps_version" not in payload:  # a user's JSON that lists nothing is not a record of ours
        return set()
    return set(names) | {record.name}


def _entries(folder: Path) -> list[str]:
    """Files and empty folders under `folder`, relative, skipping our own temporary folders."""
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if rel.parts[0].startswith(TEMP_PREFIX):
            continue
        if p.is_file() or p.is_symlink() or (p.is_dir() and not any(p.iterdir())):
            out.append(rel.as_posix())
    return out


class OutputFolder:
    """Check an output folder now, then write into a temporary folder and move the outputs in on success.

    Args:
        path: the output folder (created if absent; `.` works).
        record: the name of the JSON file in which this run's outputs are listed (it must be written).
        overwrite: replace an earlier run's outputs (those its record lists).
        inputs: files this run reads; refused if they would be replaced.
        names: for a shared folder, the names this run will write (None: an exclusive folder).
        option, flag: the option that names the folder and the overwrite switch, for messages ("out_dir",
            "overwrite=True" in Python).
        legacy: a regular expression of the names taken as an earlier run's outputs when its record
            predates output lists (records written before lavps listed its outputs).
        subject: how messages name the folder (default: "{option} {path}").

    Raises (at construction, before any work):
        FileExistsError: the folder is a file, holds files lavps did not write (exclusive), holds an
            earlier run's outputs without overwrite, or a name to write exists and is not ours.
        ValueError: an input would be replaced.
    """

    def __init__(
        self,
        path: str | Path,
        record: str,
        overwrite: bool = False,
        inputs=(),
        names: list[str] | None = None,
        option: str = "--out",
        flag: str = "--overwrite",
        legacy: str | None = None,
        subject: str | None = None,
    ):
        self.path, self.record = Path(path), record
        subject = subject or f"{option} {self.path}"
        if self.path.exists() and not self.path.is_dir():
            raise FileExistsError(f"{subject} is a file, not a folder")
        exists = self.path.is_dir()
        self.previous = recorded_outputs(self.path / record) if exists else set()
        if names is None:
            present = set(_entries(self.path)) if exists else set()
        else:  # a shared folder: only the names we write (and those we wrote before) matter
            present = {n for n in set(names) | self.previous if (self.path / n).is_file()}
        if exists and not self.previous and legacy and (self.path / record).is_file():
            self.previous = {n for n in present if re.fullmatch(legacy, n)} | {record}
        others = sorted(self.previous - set(names)) if names is not None else []
        if others:  # another command's record (e.g. a bench --json at degrade's OBS.json): never ours to replace
            raise FileExistsError(
                f"{subject} is the record of another lavps run (it lists {others[0]}); choose another name"
            )
        foreign = sorted(present - self.previous)
        if foreign:
            what = "holds files lavps did not write" if names is None else "would replace files lavps did not write"
            raise FileExistsError(
                f"{subject} {what} ({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); "
                f"{'choose a new or empty folder' if names is None else 'choose another name'}"
            )
        replaced = present & self.previous
        if replaced and not overwrite:
            raise FileExistsError(
                f"{subject} holds the outputs of an earlier run ({sorted(replaced)[0]}, ...); "
                f"use {flag} to replace them"
            )
        self.replaced = self.previous if replaced else set()
        for item in inputs:
            p = Path(item)
            for name in self.replaced:
                q = self.path / name
                if q.exists() and p.exists() and os.path.samefile(p, q):
                    raise ValueError(f"{subject} would replace the input {item}; choose another folder")

    def __enter__(self) -> Path:
        if self.path.is_dir():  # inside: moves stay on one file system and nothing is written outside
            self.tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=self.path))
        else:
            parent = self.path.absolute().parent
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}{TEMP_PREFIX}", dir=parent))
            make_public(self.tmp)  # it becomes the new folder: the mode of any folder the user makes
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        try:
            self._commit()
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return False

    def _commit(self) -> None:
        written = _entries(self.tmp)
        if self.record not in written:
            raise RuntimeError(f"internal: {self.record} was not written")
        self._list_outputs()
        if not self.path.exists():
            os.replace(self.tmp, self.path)  # a new folder appears whole
            return
        for name in sorted(set(self.replaced) - set(written)):  # an earlier output this run does not write
            (self.path / name).unlink(missing_ok=True)
        for name in [n for n in written if n != self.record] + [self.record]:  # the record last
            dest = self.path / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.tmp / name, dest)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _list_outputs(self) -> None:
        """Every other output is complete: the record lists each with its digest (rewritten atomically)."""
        from .jsonfile import write_json

        path = self.tmp / self.record
        payload = json.loads(path.read_text())
        payload["outputs"] = output_entries(self.tmp, self.record)
        write_json(path, payload)


def make_public(folder: Path) -> None:
    """Give a `tempfile.mkdtemp` folder (mode 0700) the mode a plain mkdir would: 0777 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)


def bench_output(json_path: str | Path, extra=(), option: str = "--json") -> OutputFolder:
    """The output of a benchmark: its JSON (which lists the outputs) and `extra` files beside it (a plot).

    A benchmark replaces its own earlier JSON (and the files it lists) without --overwrite; a JSON written
    before JSONs listed their outputs is recognised by its "config" (or "eps_loss") entry; any other
    existing file of those names is refused.
    """
    path = Path(json_path)
    names = [path.name, *(Path(e).name for e in extra)]
    if any(Path(e).parent.absolute() != path.parent.absolute() for e in extra):
        raise ValueError(f"write the plot beside {option} {path} (same folder)")
    legacy = None
    try:
        payload = json.loads(path.read_text()) if path.is_file() else None
        if isinstance(payload, dict) and ("config" in payload or "eps_loss" in payload):
            legacy = "|".join(map(re.escape, names))
    except (OSError, ValueError):
        pass
    return OutputFolder(path.parent, path.name, True, names=names, legacy=legacy, subject=f"{option} {path}")


def write_bench_json(target: OutputFolder, payload: dict, plot=None) -> None:
    """Write a benchmark's JSON (and its plot: plot(folder) writes it there) through `target` (bench_output)."""
    from .jsonfile import write_json
    from .version import __version__

    with target as tmp:
        write_json(tmp / target.record, {**payload, "lavps_version": payload.get("lavps_version", __version__)})
        if plot is not None:
            plot(tmp)


def refuse_existing(folder: str | Path, names, hint: str, option: str = "--out") -> None:
    """A new run that writes `names` into `folder` (training: checkpoints, cards) never replaces a file."""
    found = [n for n in names if (Path(folder) / n).exists()]
    if found:
        raise FileExistsError(f"{option} {folder} already holds {', '.join(found)}; {hint}")
