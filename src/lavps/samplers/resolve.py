"""Which options a sampler runs with: its budget preset, then the amortizer's card, then the user's overrides."""

from __future__ import annotations

from pathlib import Path

from ..amortize.checkpoint import load_amortizer
from ..amortize.defaults import default_amortizer_path
from ..amortize.network import trained_families
from .presets import SETTING_KEYS, auto_budget, preset_options
from .registry import DEFAULTS

__all__ = ["resolve_settings"]


def resolve_settings(
    sampler: str, preset: str | None, overrides: dict, prior, operator_family: str | None = None
) -> tuple[str, dict, dict]:
    """(preset name, options for `build_sampler`, what to record): preset < amortizer card < overrides.

    The one rule that `lavps.restore`, `lavps restore` and folder restores share. For LAVPS the amortizer
    (None: the shipped one; a path; or a loaded network) is loaded here, and every preset but `tiny` takes
    the grid and window it was trained for from its card. `overrides` may only name settings of this
    sampler (SETTING_KEYS); "steps" is every sampler's grid size. `operator_family` (the canonical spec
    of the family that drew the operator, `LinearOperator.family`; None: unknown) decides LAVPS's `auto`
    preset: `fastest` for a family in the amortizer's card, `reference` otherwise (recorded as "auto").

    Raises:
        ValueError: an unknown preset or setting, or an amortizer given to another sampler.
    """
    overrides = dict(overrides)
    if sampler in ("dps", "ddrm", "diffpir") and "steps" in overrides:
        overrides[f"{sampler}_steps"] = overrides.pop("steps")  # "steps" is every sampler's grid size
    amortizer = overrides.pop("amortizer", None)
    record_extra, chosen = {}, {}
    if sampler == "lavps":
        amortizer = default_amortizer_path() if amortizer is None else amortizer
        net = load_amortizer(amortizer, prior=prior) if isinstance(amortizer, (str, Path)) else amortizer
        known = operator_family is not None and operator_family in trained_families(net, tuple(prior.shape))
        name, options = preset_options(sampler, preset, trained=known)
        if name == "auto":
            chosen["auto"] = {"operator_family": operator_family, "trained_family": known, "ran": auto_budget(known)}
        trained = (getattr(net, "info", None) or {}).get("window", {})
        if name != "tiny" and "grid_steps" in trained:  # the grid and window it was trained for
            options.update(steps=int(trained["grid_steps"]), window=int(trained.get("window", options["window"])))
        record_extra["amortizer"] = str(amortizer) if isinstance(amortizer, (str, Path)) else "in-memory network"
        amortizer = net
    elif amortizer is not None:
        raise ValueError(f"an amortizer is used by the lavps sampler only, not by {sampler!r}")
    else:
        name, options = preset_options(sampler, preset)
    unknown = sorted(set(overrides) - set(SETTING_KEYS[sampler]))
    if unknown:
        allowed = ", ".join(SETTING_KEYS[sampler])
        raise ValueError(f"sampler {sampler!r} has no setting(s) {', '.join(unknown)}; allowed: {allowed}")
    options.update(overrides)
    # record every setting this sampler reads, the registry's defaults for those the preset leaves out
    effective = {k: DEFAULTS[k] for k in SETTING_KEYS[sampler] if k in DEFAULTS and k not in options}
    record = {"sampler": sampler, "preset": name, **chosen, "settings": {**effective, **options, **record_extra}}
    if amortizer is not None:
        options["amortizer"] = amortizer
    return name, options, record
