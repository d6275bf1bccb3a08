"""HDiT architecture settings: the two published presets (the LAVPS paper's FFHQ and ImageNet 256x256
priors, from the InvFussion code base), `tiny` (the same structure at 32x32, for quick checks) and JSON
files with the same keys.

Presets as the official code builds them (hyperparameters per data set, then its defaults): feed-forward
width 3 x the level width, mapping network 2 GEGLU blocks of width 256 (FFHQ) / 768 (ImageNet) and
feed-forward 3 x that, head width 64, neighbourhood kernel 5 then 7 (FFHQ) / 7 and 7 (ImageNet), dropout
0.05 (FFHQ) / 0 (ImageNet, training only), EDM preconditioning with sigma_data = 0.5. ImageNet is
class-conditional: 1000 classes plus the null class (index 1000).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..config_checks import check_int, check_ints, check_number

__all__ = ["HDiTConfig", "HDIT_PRESETS", "hdit_config"]


@dataclass(frozen=True)
class HDiTConfig:
    """One HDiT network.

    Attributes:
        image_size: side of the (square) images, pixels.
        channels: image channels (in_channels = channels * in_mult, out_channels = channels).
        patch_size: side of the first token patch.
        depths: layers per level (the last level is the middle; the others run down and again up).
        widths: token width per level.
        kernel_sizes: neighbourhood kernel per level; 0 = global attention.
        d_head: attention head width.
        mapping_width, mapping_depth: the conditioning network.
        dropout: per-level dropout (training only).
        num_classes: class embeddings including the null class (0 = unconditional).
        sigma_data: EDM preconditioning's data standard deviation.
        in_mult: input channels as a multiple of `channels` (the amortizer's palette inputs use 3).
        out_mult: output channels as a multiple of `channels` (the amortizer's (dmu, drho) use 2).
    """

    image_size: int = 256
    channels: int = 3
    patch_size: int = 4
    depths: tuple[int, ...] = (2, 2, 4, 2)
    widths: tuple[int, ...] = (192, 384, 768, 1536)
    kernel_sizes: tuple[int, ...] = (5, 7, 0, 0)
    d_head: int = 64
    mapping_width: int = 256
    mapping_depth: int = 2
    dropout: float = 0.0
    num_classes: int = 0
    sigma_data: float = 0.5
    in_mult: int = 1
    out_mult: int = 1

    def __post_init__(self):
        _check_values(self, _WHERE)
        levels = len(self.widths)
        if len(self.depths) != levels or len(self.kernel_sizes) != levels:
            raise ValueError(
                f"{_WHERE}: depths, widths and kernel_sizes need one entry per level, got "
                f"{len(self.depths)}, {levels}, {len(self.kernel_sizes)}"
            )
        if any(w % self.d_head for w in self.widths):
            raise ValueError(f"{_WHERE}: every width must be a multiple of d_head={self.d_head}: {self.widths}")
        tokens = self.image_size // self.patch_size
        if self.image_size % (self.patch_size * 2 ** (levels - 1)):
            raise ValueError(
                f"{_WHERE}: image_size {self.image_size} is not divisible by patch_size * "
                f"2^(levels - 1) = {self.patch_size * 2 ** (levels - 1)}"
            )
        for i, k in enumerate(self.kernel_sizes):
            if k and (k % 2 == 0 or k > tokens >> i):
                raise ValueError(
                    f"{_WHERE}: level {i} kernel {k} must be odd and at most its {tokens >> i} tokens per side"
                )

    @property
    def d_ffs(self) -> tuple[int, ...]:
        return tuple(3 * w for w in self.widths)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def to_json(self) -> dict:
        return asdict(self)


#: how errors name a config that did not come from a file (`hdit_config` names the file instead)
_WHERE = "HDiT config"


def _check_values(config: HDiTConfig, where: str) -> None:
    """Each value's type and range (a zero would otherwise divide by zero in the checks and the network);
    the lists become tuples."""
    for name in ("image_size", "channels", "patch_size", "d_head", "mapping_width", "in_mult", "out_mult"):
        check_int(where, name, getattr(config, name), 1)
    check_int(where, "mapping_depth", config.mapping_depth, 0)
    check_int(where, "num_classes", config.num_classes, 2, also=(0,))  # classes plus the null class, or none
    for name, minimum in (("depths", 1), ("widths", 1), ("kernel_sizes", 0)):
        object.__setattr__(config, name, check_ints(where, name, getattr(config, name), minimum))
    check_number(where, "dropout", config.dropout, "a number in [0, 1)", lambda v: 0 <= v < 1)
    check_number(where, "sigma_data", config.sigma_data, "a finite number > 0", lambda v: v > 0)


HDIT_PRESETS: dict[str, HDiTConfig] = {
    "ffhq": HDiTConfig(dropout=0.05),
    "imagenet": HDiTConfig(
        depths=(2, 2, 16), widths=(384, 768, 1536), kernel_sizes=(7, 7, 0), mapping_width=768, num_classes=1001
    ),
    # not published: the same structure at 32x32 (two neighbourhood levels, two global), for quick checks
    "tiny": HDiTConfig(
        image_size=32,
        patch_size=2,
        depths=(1, 1, 1, 1),
        widths=(32, 64, 64, 64),
        kernel_sizes=(5, 3, 0, 0),
        d_head=32,
        mapping_width=32,
    ),
}


def hdit_config(source: str | dict | HDiTConfig) -> HDiTConfig:
    """A config from a preset name, a JSON file (HDiTConfig's keys; missing ones default) or a dict."""
    if isinstance(source, HDiTConfig):
        return source
    path = None
    if isinstance(source, str) and source.lower() in HDIT_PRESETS:
        return HDIT_PRESETS[source.lower()]
    if isinstance(source, str):
        path = Path(source)
        if not source.endswith(".json"):
            raise ValueError(f"unknown HDiT config {source!r}; allowed: {', '.join(HDIT_PRESETS)} or a .json file")
        if not path.is_file():
            raise FileNotFoundError(f"HDiT config file not found: {path}")
        try:
            source = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
    prefix = f"{path}: " if path else ""
    if not isinstance(source, dict):
        raise ValueError(f"{prefix}an HDiT config must be a JSON object, got {type(source).__name__}")
    known = {f.name for f in fields(HDiTConfig)}
    unknown = sorted(set(source) - known)
    if unknown:
        raise ValueError(f"{prefix}unknown HDiT config keys {unknown}; allowed: {sorted(known)}")
    try:
        return HDiTConfig(**source)
    except ValueError as e:  # name the file the user wrote rather than "HDiT config"
        if not prefix:
            raise
        raise ValueError(prefix + str(e).removeprefix(_WHERE + ": ")) from None
