"""Which settings a sampler runs with: its budget preset, then the amortizer's card, then the user's."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..amortize.checkpoint import load_amortizer
from ..amortize.defaults import default_amortizer_path
from ..amortize.network import trained_family_for
from ..operators.spec import parse_operator_spec
from ..priors.latent import LatentPrior, image_shape
from ..samplers.config import SamplerConfig, canonical_names, make_config, setting_names
from ..samplers.presets import auto_budget, calibrated_fields, fit_to_grid, preset_options, with_kind_defaults
from ..samplers.registry import config_class, settings_record

__all__ = ["Resolved", "resolve_settings", "check_overrides", "check_latent_sampler"]


@dataclass(frozen=True)
class Resolved:
    """The outcome of `resolve_settings`: preset name, the config, the loaded networks, what to record."""

    preset: str | None
    config: SamplerConfig
    networks: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)


def resolve_settings(
    sampler: str,
    preset: str | None,
    overrides: SamplerConfig | Mapping | None,
    prior,
    operator_family: str | None = None,
    amortizer=None,
) -> Resolved:
    """The settings of one run: preset < amortizer card < overrides (the rule `lavps.restore`, `lavps restore`
    and folder restores share).

    `overrides`: a dict of the sampler's config fields over the preset, or a complete config object (then
    no preset may be named: the config is the whole setting). For LAVPS the amortizer (None: the shipped
    one; a path; or a loaded network) is loaded here, and every preset but `tiny` takes the grid and window
    it was trained for from its card. `operator_family` (the canonical spec of the family that drew the
    operator, `LinearOperator.family`; None: unknown) decides LAVPS's `auto` preset: `fastest` for a linear
    family in the amortizer's card, `reference` otherwise (unseen or non-linear, or any family on a latent
    prior; recorded as "auto"). A preset's window and final_tau are fitted to a grid the user gives
    (`presets.fit_to_grid`).

    Raises:
        ValueError: an unknown preset or setting, a setting out of its range, or an amortizer given to
            another sampler.
    """
    cls = config_class(sampler)
    overrides = {} if overrides is None else overrides
    if isinstance(overrides, Mapping) and "amortizer" in overrides:
        warnings.warn("settings={'amortizer': ...} is deprecated; pass amortizer=...", DeprecationWarning, 3)
        overrides = dict(overrides)
        given = overrides.pop("amortizer")
        amortizer = given if amortizer is None else amortizer
    networks, extra, chosen = {}, {}, {}
    flags = family_flags(operator_family, image_shape(prior))  # (linear, multimodal)
    if sampler == "lavps":
        if amortizer is None:  # the shipped one for this prior and this family (linear or not)
            amortizer = default_amortizer_path(prior, flags[0])
        net = load_amortizer(amortizer, prior=prior) if isinstance(amortizer, (str, Path)) else amortizer
        networks["amortizer"] = net
        extra["amortizer"] = str(amortizer) if isinstance(amortizer, (str, Path)) else "in-memory network"
    elif amortizer is not None:
        raise ValueError(f"an amortizer is used by the lavps sampler only, not by {sampler!r}")
    if isinstance(overrides, SamplerConfig):
        if preset is not None:
            raise ValueError("give a preset with a dict of settings over it, or a complete config without one")
        config, name = make_config(cls, overrides), None
    else:
        name, values = _preset_values(sampler, preset, networks.get("amortizer"), prior, operator_family, flags, chosen)
        given = canonical_names(cls, overrides)
        # particles and temperature_prior_only are mean-field by construction: the card's draw yields to them
        # rather than refusing the run
        mean_field = given.get("particles") or given.get("temperature_prior_only")
        if mean_field and "draw" not in given and chosen.get("calibrated_temperature", {}).pop("draw", None):
            values.pop("draw")
        for entry in ("calibrated_temperature", "kind_default"):
            _forget_given(chosen, entry, given)
        unknown = sorted(set(given) - set(setting_names(cls)))
        if unknown:  # named before the preset is merged (make_config would say the same)
            make_config(cls, {k: given[k] for k in unknown})
        values = fit_to_grid(values, given, prior.schedule.num_steps)
        config = make_config(cls, {**values, **given})
    record = {**settings_record(sampler, config), "preset": name, **chosen, **extra}
    return Resolved(name, config, networks, record)


def _forget_given(chosen: dict, entry: str, given: dict) -> None:
    """The user's value wins over the card's fit or the kind's default: such a setting is not recorded as used
    (and the entry goes when nothing of it is left but its family)."""
    fields = chosen.get(entry)
    if fields is None:
        return
    for key in set(fields) & set(given):
        fields.pop(key)
    if set(fields) <= {"operator_family"}:
        chosen.pop(entry)


def check_overrides(sampler: str, overrides: SamplerConfig | Mapping | None) -> None:
    """Refuse unknown fields and values outside their rule before anything else is read: the overrides over
    the config's defaults, fitted to a grid they give (no spurious error: a preset's grid is never longer
    than the default's for the fields a grid bounds). The merged settings are checked again in full."""
    cls = config_class(sampler)
    if overrides is None or isinstance(overrides, SamplerConfig):
        make_config(cls, overrides)
        return
    if not isinstance(overrides, Mapping):
        raise TypeError(
            f"settings must be a dict of {cls.__name__}'s fields or a {cls.__name__}, got {type(overrides).__name__}"
        )
    given = canonical_names(cls, {k: v for k, v in overrides.items() if k != "amortizer"})
    defaults = {k: getattr(cls(), k) for k in ("window", "final_tau") if k in setting_names(cls)}
    make_config(cls, {**fit_to_grid(defaults, given), **given})


def family_flags(operator_family: str | None, shape) -> tuple[bool, bool]:
    """(linear, multimodal) of the family of this canonical spec: whether it draws linear operators and whether
    its likelihood has several exact modes (`ImageOperatorFamily`). Unknown or unparsable: (True, False)."""
    if operator_family is None:
        return True, False
    try:
        family = parse_operator_spec(operator_family, tuple(shape))
    except ValueError:
        return True, False
    return family.linear, family.multimodal


def _preset_values(sampler, preset, net, prior, operator_family, flags, chosen: dict) -> tuple[str, dict]:
    """(preset name, its fields): LAVPS's `auto` by the operator's family (`flags`: its `family_flags`), the
    amortizer card's grid."""
    if sampler != "lavps":
        name, values = preset_options(sampler, preset)
        values, needed = with_kind_defaults(sampler, values, operator_family)  # DPS's step on JPEG: 1 diverges
        if needed:
            chosen["kind_default"] = {"operator_family": operator_family, **needed}
        return name, values
    trained_as = trained_family_for(net, operator_family, image_shape(prior))  # itself, or a family holding it
    known = trained_as is not None
    linear, multimodal = flags
    latent = isinstance(prior, LatentPrior)
    name, values = preset_options(sampler, preset, known, linear, latent, multimodal)
    ran = auto_budget(known, linear, latent, multimodal) if name == "auto" else name
    fitted = calibrated_fields(ran, net, operator_family, latent, image_shape(prior))
    if fitted:  # the amortizer's own temperature (and draw) for this family (lavps calibrate-amortizer)
        values.update(fitted)
        chosen["calibrated_temperature"] = {"operator_family": operator_family, **fitted}
    if name == "auto":
        chosen["auto"] = {
            "operator_family": operator_family,
            "trained_family": known,
            **({"inside_trained_family": trained_as} if known and trained_as != operator_family else {}),
            "linear": linear,
            "multimodal": multimodal,
            "ran": ran,
        }
    trained = (getattr(net, "info", None) or {}).get("window", {})
    if name != "tiny" and "grid_steps" in trained:  # the grid and window it was trained for
        values.update(steps=int(trained["grid_steps"]), window=int(trained.get("window", values["window"])))
    return name, values


def check_latent_sampler(sampler: str, prior) -> None:
    """Refuse ddrm / diffpir on a latent prior before any work: they need a linear operator on the prior's space,
    and A(decode(z)) is not (else they fail later with "... of decode is non-linear", which names no remedy)."""
    if isinstance(prior, LatentPrior) and sampler in ("ddrm", "diffpir"):
        raise ValueError(
            f"{sampler} needs a linear operator on the prior's space; a latent prior observes A(decode(z)): "
            "use --sampler lavps, mgdm or dps"
        )
