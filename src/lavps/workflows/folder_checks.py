"""Checks of a folder restore made before any work (names, inputs, references, the output folder, the run
record) and the hidden temp folders of its images (`lavps.workflows.folder`)."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import socket
import sys
from pathlib import Path

import torch

from ..data.folder import ImageList, named_root
from ..distributed import World, barrier
from ..imaging.fit import IMAGE_SUFFIXES, image_size, read_fitted
from ..imaging.io import read_image
from ..jsonfile import write_json
from ..outputs import file_sha256  # re-exported: the one file digest lives in lavps.outputs
from ..priors.latent import image_shape
from ..version import __version__

__all__ = [
    "names_of",
    "check_inputs",
    "references",
    "read_exact",
    "refuse_foreign",
    "claim",
    "file_sha256",
    "temp_folder",
    "sweep_stale",
]

#: the run's own files in OUT: an image may not restore into a folder of that name
RUN_FILES = ("run.json", "metrics.csv")

#: run.json keys that only describe what an identity key below pins down (the same folder or prior spelled
#: differently): compared only when one of the two records lacks the identity key
DESCRIBED_BY = {"source": "source_path", "prior": "prior_fingerprint"}


def names_of(images: ImageList) -> list[str]:
    """Each image's output folder name (its relative path without suffix); two images may not share one, and
    no image's folder may hold another's (`sub.png` -> `sub/`, `sub/b.png` -> `sub/b/`): a re-run would
    take the first for unfinished and replace it, results of the second included."""
    names, seen = [], {}
    for p in images.files:
        name = images.name(p).rsplit(".", 1)[0]
        if name in seen:
            raise ValueError(f"{seen[name]} and {p} have the same name {name!r}; rename one")
        if name.lower() in RUN_FILES:  # its folder would take the place of the run's record or its table
            raise ValueError(f"{p} would restore into {name}/, the name of the run's own {name}; rename it")
        seen[name] = p
        names.append(name)
    for name, p in seen.items():
        parts = name.split("/")
        for k in range(1, len(parts)):
            parent = "/".join(parts[:k])
            if parent in seen:
                raise ValueError(
                    f"{seen[parent]} restores into {parent}/, the folder that holds the results of {p}; rename one"
                )
    return names


def check_inputs(job, images: ImageList, prior) -> None:
    """Every file decoded before any work (a transparent, truncated or too small image stops the run before its
    first batch, on every rank alike): clean images as they will be fitted, observations as stored."""
    shape = image_shape(prior)
    _, h, w = shape
    oh, ow = job.operator.out_shape[1:]
    for p in images.files:
        width, height = image_size(p)
        if job.simulate and (width < w or height < h):
            raise ValueError(f"image {p} is {width}x{height} pixels, smaller than the prior's {w}x{h}")
        if not job.simulate and (width, height) != (ow, oh):
            raise ValueError(f"observation {p} is {width}x{height} pixels; the operator observes {ow}x{oh}")
    for p in images.files:
        if job.simulate:
            read_fitted(p, shape)
        else:  # an observation is data: its channels are never converted (as one image's are not)
            read_exact(p, tuple(job.operator.out_shape), "observation", "the operator observes")


def references(job, images: ImageList, names: list[str], prior_shape) -> list[Path | None]:
    """Each observation's clean image (simulate: the input itself), matched by name and by suffix in any case;
    a reference must have the prior's image shape exactly (`lavps restore IMAGE --reference` without --fit):
    nothing is cropped to fit."""
    if job.simulate:
        return list(images.files)
    if job.references is None:
        return [None] * len(names)
    root = Path(job.references)
    if not root.is_dir():
        raise FileNotFoundError(f"reference folder {root} does not exist")
    found = []
    for name in names:
        folder, stem = (root / name).parent, (root / name).name
        hits = sorted(folder.glob(f"{glob_escape(stem)}.*")) if folder.is_dir() else []
        hits = [m for m in hits if m.is_file() and m.suffix.lower() in IMAGE_SUFFIXES and m.stem == stem]
        if not hits:
            raise ValueError(f"no reference image {root / name}.png (or .jpg) for observation {name!r}")
        if len(hits) > 1:
            raise ValueError(f"{' and '.join(map(str, hits))} are both references of {name!r}; keep one")
        read_exact(hits[0], prior_shape, "reference image", "the prior's images are")  # checked before any work
        found.append(hits[0])
    return found


def glob_escape(text: str) -> str:
    """`text` matched literally by Path.glob (`scan[1]` is a name, not a pattern)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def read_exact(path, shape, what: str, by: str = "expected") -> torch.Tensor:
    """(1, C, H, W) of an image that must be of `shape` as stored: a folder run converts no observation or
    reference (no --fit there), so a grey/RGB or size mismatch is an error naming the file."""
    x = read_image(path)
    if tuple(x.shape[1:]) != tuple(shape):
        have, want = "x".join(map(str, x.shape[1:])), "x".join(map(str, shape))
        raise ValueError(f"{what} {path} is {have} (C x H x W); {by} {want}")
    return x


def refuse_foreign(out: Path, source: str, images: ImageList, names: list[str], world: World) -> None:
    """A new run needs a new or empty folder outside the inputs: the user's files are never mixed in or
    replaced (an image `a.png` restores into `a/`, which may be the user's folder), and outputs inside the
    input folder would be read back as inputs by a re-run. The input folder is the one `source` names (a
    glob's root: `data/**/*.png` would read `data/out/` back); a glob that names none (`cle*/*.png`) is
    checked against the folders of the files it matched and against its pattern."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    root = named_root(source)
    matched = [*images.files, *(p for p, _ in images.skipped)]
    folders = [root] if root is not None else sorted({p.parent for p in matched})
    for folder in folders:
        if folder.is_dir() and out.resolve().is_relative_to(folder.resolve()):
            raise ValueError(f"--out {out} is inside the input folder {folder}; choose a folder outside it")
    if root is None and _outputs_match(source, out, names):
        raise ValueError(f"--out {out}: {source} would match its outputs and read them back; choose another folder")
    if world.is_main and out.is_dir() and not (out / "run.json").is_file():
        foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith(".tmp-"))
        if foreign:
            raise FileExistsError(
                f"--out {out} holds files lavps did not write ({', '.join(foreign[:3])}); choose a new or empty folder"
            )


def _outputs_match(pattern: str, out: Path, names: list[str]) -> bool:
    """Whether the glob `pattern` (as `glob.glob(recursive=True)` reads it) matches an image this run writes."""
    relative = not os.path.isabs(pattern)
    pattern_parts = os.path.normpath(pattern).split(os.sep)
    base = os.path.abspath(out)
    for name in names:
        for file in ("reconstruction.png", "observation.png", "reference.png"):
            path = os.path.join(base, name, file)
            path = os.path.relpath(path) if relative else path
            if _glob_match(path.split(os.sep), pattern_parts):
                return True
    return False


def _glob_match(parts: list[str], pattern: list[str]) -> bool:
    # `**` spans any number of folders; every other component matches one name
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_glob_match(parts[k:], pattern[1:]) for k in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and _glob_match(parts[1:], pattern[1:])


def claim(out: Path, settings: dict, world: World) -> str | None:
    """run.json records the settings; a re-run must use the same ones (else its images would mix). A key an
    older record lacks is unknown, not a difference.

    Returns "created" (a new folder), "claimed" (run.json written into an empty folder) or None (resumed).
    """
    run = out / "run.json"
    new = None if run.is_file() else ("claimed" if out.is_dir() else "created")
    if world.is_main:
        settings = json.loads(json.dumps(settings, default=str))
        if run.is_file():
            try:
                before = json.loads(run.read_text())["settings"]
                diff = _differences(before, settings)
            except (ValueError, KeyError, TypeError, AttributeError) as e:  # not lavps's: never resumed, replaced
                raise ValueError(
                    f"{run} is not a folder run's record ({type(e).__name__}: {e}); use another --out"
                ) from None
            if diff:
                said = "; ".join(f"{k}: {before.get(k)!r} there, {settings.get(k)!r} here" for k in diff)
                raise ValueError(f"{out} holds a run with other settings ({said}); use another --out")
        else:
            write_json(run, {"settings": settings, "lavps_version": __version__}, sort_keys=True)
    barrier(world)
    return new


def _differences(before: dict, now: dict) -> list[str]:
    keys = set(before) & set(now)  # a key one record lacks (an older lavps's) is unknown: not a difference
    keys -= {k for k, pin in DESCRIBED_BY.items() if pin in before and pin in now}
    if "source_path" not in before and "source" in before and "source_path" in now:  # an older record
        keys.discard("source")
        if str(Path(str(before["source"])).resolve()) != now["source_path"]:
            keys.add("source_path")
            before = {**before, "source_path": str(Path(str(before["source"])).resolve())}
    return sorted(k for k in keys if before.get(k) != now.get(k))


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def temp_folder(out: Path, name: str) -> Path:
    """The hidden folder image `name` is written to before it is renamed to `<name>/`: a short hash of the name
    (a long nested name stays a legal file name), this host and this process (a sweep tells whose it is)."""
    return out / f".tmp-{hashlib.sha256(name.encode()).hexdigest()[:16]}-{_HOST}-{os.getpid()}"


def sweep_stale(out: Path) -> None:
    """Remove the temp folders of processes of this host that are gone (killed runs); a live process's, or
    another host's (a rank elsewhere), is left alone."""
    for tmp in out.glob(".tmp-*-*-*"):
        parts = tmp.name.split("-")
        if len(parts) != 4 or parts[2] != _HOST or not parts[3].isdigit() or not tmp.is_dir():
            continue
        if not _alive(int(parts[3])):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():  # swept before this call writes any: one of ours is an earlier call's, left behind
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def warn_unlisted(out: Path, names: list[str]) -> None:
    """One warning line when a resumed `out` holds finished image folders this run does not list (an input
    removed or renamed since; or a glob with a wildcard in its first folder, whose images lavps named from `.`
    until 2026-12-08): they are left as they are and are not in metrics.csv."""
    listed = set(names)
    unlisted = sorted(
        rel
        for rel in (r.parent.relative_to(out).as_posix() for r in out.glob("**/restore.json"))
        if rel not in listed and not rel.startswith(".")
    )
    if unlisted:
        print(
            f"warning: {out} holds {len(unlisted)} finished image folder(s) this run does not list (e.g. "
            f"{unlisted[0]}): left as they are, not in metrics.csv",
            file=sys.stderr,
        )
