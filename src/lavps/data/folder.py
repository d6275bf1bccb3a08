"""Clean training images from a folder (or glob): listing, held-out split, streaming loader.

- Listing: a DIR is searched recursively; a GLOB is expanded with `**` support. Files ending in .png,
  .jpg or .jpeg (any case) are images; every other file, and every file under a hidden name (`.x.png`,
  anything in a `.folder/`), is skipped with one warning line each.
- Fit: every image is center-cropped and resized to the prior's shape (`lavps.imaging.fit`); an
  image smaller than the prior, or an unreadable or transparent one, is an error naming the file (every
  file is decoded up front).
- Held-out split: the `val_count` images whose names hash lowest (sha256 of the path relative to the
  root) are held out for validation: stable whatever the file order, the machine or the world size.
- Order: epoch e visits the training images in the permutation drawn from (seed, e). Global sample
  position p = step * B + chunk * (B / K) + j is image perm_{p // n}[p % n]. `StepSampler` hands a
  rank exactly the positions of its chunks, so the data of chunk c never depends on the world size
  and a resumed run restarts mid-epoch at its step. (torch's DistributedSampler deals indices by
  rank, so the data seen by a chunk would change with the number of processes: not used for that
  reason.) DataLoader workers read and fit the images in the background.
"""

from __future__ import annotations

import glob
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..imaging.fit import IMAGE_SUFFIXES, image_size, read_fitted
from ..random import derive_seed

__all__ = [
    "ImageList",
    "list_images",
    "is_glob",
    "source_root",
    "named_root",
    "check_images",
    "split_holdout",
    "ImageFolder",
    "StepSampler",
    "FolderData",
]


@dataclass(frozen=True)
class ImageList:
    """Image files found under `root` (sorted by relative name) and the skipped files with the reason."""

    root: Path
    files: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def name(self, path: Path) -> str:
        """The path relative to the root, with / separators (stable image names)."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def list_images(source: str | Path, warn: bool = True) -> ImageList:
    """PNG/JPEG files under DIR (recursive) or matching GLOB; other files are skipped (one warning line each).

    Raises:
        FileNotFoundError: DIR does not exist (and is not a glob pattern).
        ValueError: DIR is a file, or no image file found.
    """
    text = str(source)
    root = source_root(text)
    if is_glob(text):
        candidates = [Path(p) for p in glob.glob(text, recursive=True)]
        root = source_root(text, [p for p in candidates if p.is_file()])
    else:
        if root.is_file():
            raise ValueError(
                f"{root} is a file, not a folder of images; give a folder or a glob (e.g. '{root.parent}/*.png')"
            )
        if not root.is_dir():
            raise FileNotFoundError(f"image folder {root} does not exist")
        candidates = list(root.rglob("*"))
    candidates = sorted((p for p in candidates if p.is_file()), key=lambda p: p.as_posix())
    hidden = [p for p in candidates if _hidden(p, root)]  # .DS_Store, a .git folder, ...: listed, as skipped
    candidates = [p for p in candidates if not _hidden(p, root)]
    files = [p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES]
    skipped = [(p, "not a .png/.jpg/.jpeg file") for p in candidates if p.suffix.lower() not in IMAGE_SUFFIXES]
    skipped = sorted(skipped + [(p, "a hidden name (starts with '.')") for p in hidden], key=lambda s: s[0].as_posix())
    if warn:
        for p, why in skipped:
            print(f"warning: skipping {p}: {why}", file=sys.stderr)
    if not files:
        raise ValueError(f"no PNG/JPEG images in {source}")
    return ImageList(root=root, files=files, skipped=skipped)


def is_glob(source: str | Path) -> bool:
    """A pattern to expand: holds *, ? or [ and names no existing file or folder (`scan[1].png` is a file)."""
    text = str(source)
    return any(ch in text for ch in "*?[") and not Path(text).exists()


def source_root(source: str | Path, matches: list[Path] | None = None) -> Path:
    """The folder an image list is named relative to: DIR itself, or a glob's deepest folder before its
    first wildcard (`data/**/*.png` -> `data`). A glob that names no folder before it (`cle*/*.png`,
    `*/*.png`, `../*/x.png`) is rooted at the deepest folder holding all its `matches` (`clean` when they
    all lie in `clean/`), or without them at its prefix (`.`)."""
    text = str(source)
    root = named_root(text)
    if root is not None:
        return root
    if matches:  # every match lies under the prefix, so this folder does too
        return Path(os.path.commonpath([str(p.parent) for p in matches]) or ".")
    return _glob_prefix(text)


def named_root(source: str | Path) -> Path | None:
    """The folder `source` names: DIR itself, or a glob's deepest folder before its first wildcard
    (`data/**/*.png` -> `data`); None for a glob that names none (`cle*/*.png`, `*/*.png`, `/*/x.png`)."""
    text = str(source)
    if not is_glob(text):
        return Path(text)
    root = _glob_prefix(text)
    return root if any(part not in (".", "..", root.anchor) for part in root.parts) else None


def _glob_prefix(pattern: str) -> Path:
    root = Path(pattern.split("*")[0].split("?")[0].split("[")[0] or ".")
    return root if root.is_dir() else root.parent


def _hidden(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts[-1:]
    return any(p.startswith(".") for p in parts)  # temp folders of interrupted runs, .DS_Store, ...


def check_images(files: list[Path], shape: tuple[int, int, int]) -> None:
    """Every file is a readable image at least as large as the prior, decoded as it will be (a transparent or
    truncated file stops the command before training, not in the middle of it)."""
    _, h, w = shape
    for p in files:
        width, height = image_size(p)
        if width < w or height < h:
            raise ValueError(f"image {p} is {width}x{height} pixels, smaller than the prior's {w}x{h}")
    for p in files:
        read_fitted(p, shape)


def split_holdout(images: ImageList, val_count: int) -> tuple[list[Path], list[Path]]:
    """(train, validation): the val_count files whose relative names hash lowest are held out."""
    if val_count < 0 or val_count >= len(images.files):
        raise ValueError(f"cannot hold out {val_count} of {len(images.files)} images; need 0 <= count < number")
    ranked = sorted(images.files, key=lambda p: hashlib.sha256(images.name(p).encode()).hexdigest())
    held = set(ranked[:val_count])
    return [p for p in images.files if p not in held], [p for p in images.files if p in held]


class ImageFolder(Dataset):
    """Item i = files[i] fitted to `shape`, as a (C, H, W) float32 tensor in [-1, 1]."""

    def __init__(self, files: list[Path], shape: tuple[int, int, int]):
        self.files, self.shape = list(files), tuple(shape)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        return read_fitted(self.files[i], self.shape)


class StepSampler(Sampler[int]):
    """Indices of the data items of chunks `chunks` of steps start, start+1, ..., steps-1 (see module docstring)."""

    def __init__(self, n: int, seed: int, batch_size: int, micro_batches: int, chunks: range, start: int, steps: int):
        if n < 1:
            raise ValueError("no training images")
        self.n, self.seed, self.batch, self.k = n, seed, batch_size, micro_batches
        self.chunks, self.start, self.steps = chunks, start, steps
        self._perm: tuple[int, torch.Tensor] | None = None

    def _order(self, epoch: int) -> torch.Tensor:
        if self._perm is None or self._perm[0] != epoch:
            g = torch.Generator().manual_seed(derive_seed(self.seed, 1, epoch))  # 1: the data-order stream
            self._perm = (epoch, torch.randperm(self.n, generator=g))
        return self._perm[1]

    def __len__(self) -> int:
        return max(self.steps - self.start, 0) * len(self.chunks) * (self.batch // self.k)

    def __iter__(self) -> Iterator[int]:
        size = self.batch // self.k
        for step in range(self.start, self.steps):
            for c in self.chunks:
                for j in range(size):
                    p = step * self.batch + c * size + j
                    yield int(self._order(p // self.n)[p % self.n])


@dataclass
class FolderData:
    """A `lavps.training.loop.DataFactory` streaming the chunks of a rank through a DataLoader."""

    dataset: ImageFolder
    seed: int
    batch_size: int
    micro_batches: int
    steps: int
    workers: int = 0
    description: dict = field(default_factory=dict)

    def __call__(self, start: int, chunks: range) -> Iterator[torch.Tensor]:
        sampler = StepSampler(
            len(self.dataset), self.seed, self.batch_size, self.micro_batches, chunks, start, self.steps
        )
        loader = DataLoader(
            self.dataset,
            batch_size=self.batch_size // self.micro_batches,
            sampler=sampler,
            num_workers=self.workers,
            persistent_workers=False,
        )
        return iter(loader)
