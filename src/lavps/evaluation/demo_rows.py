"""The demo's rows (sampler, preset), the settings each row runs with on a task, and the priors it runs on.
Free of torch: `lavps demo --help` generates its settings options from the rows' samplers."""

from __future__ import annotations

from dataclasses import dataclass

from ..samplers.presets import (
    auto_budget,
    calibrated_fields,
    fit_to_grid,
    preset_options,
    tuned_options,
    with_kind_defaults,
)

__all__ = ["DEMO_ROWS", "DEMO_SAMPLERS", "LINEAR_ONLY", "DemoPrior", "row_options"]

#: demo row -> (sampler, budget preset of lavps.samplers.presets): the demo runs the presets users get
DEMO_ROWS = {
    "ddrm-20": ("ddrm", "fast"),
    "ddrm-100": ("ddrm", "reference"),
    "diffpir-100": ("diffpir", "reference"),
    "dps": ("dps", "reference"),
    "mgdm": ("mgdm", "reference"),
    "lavps": ("lavps", "auto"),
    "lavps-fast": ("lavps", "fast"),
    "lavps-fastest": ("lavps", "fastest"),
    "lavps-ref": ("lavps", "reference"),
}
#: row label -> (registry name, options); LAVPS's rows are resolved per task ({"preset": ...}, see
#: `row_options`): `auto`'s budget depends on whether the task is one of the amortizer's training families,
#: and on a latent prior a preset takes presets.LATENT's fields
DEMO_SAMPLERS = {
    label: (name, {"preset": preset} if name == "lavps" else preset_options(name, preset)[1])
    for label, (name, preset) in DEMO_ROWS.items()
}
#: samplers that need a linear operator in the prior's own space (not run on non-linear or latent tasks)
LINEAR_ONLY = ("ddrm", "diffpir")


@dataclass(frozen=True)
class DemoPrior:
    """A prior the demo runs on: its name in the report, the loaded prior, the amortizer of LAVPS's rows
    and, for a pixel prior, the one of its non-linear tasks (None: `amortizer` everywhere)."""

    name: str
    prior: object
    amortizer: object
    nonlinear_amortizer: object = None
    amortizer_files: tuple[str, ...] = ()  # where the amortizer(s) came from, for the report

    def amortizer_for(self, linear: bool):
        from ..priors.latent import LatentPrior  # imported here: the rows are read by `--help`, without torch

        latent = isinstance(self.prior, LatentPrior)
        return self.amortizer if linear or latent or self.nonlinear_amortizer is None else self.nonlinear_amortizer


def row_options(
    config,
    name: str,
    options: dict,
    amortizer,
    family_spec: str,
    trained: bool,
    latent: bool = False,
    linear: bool = True,
    multimodal: bool = False,
) -> tuple[dict, dict]:
    """(options a row runs with, the per-family tuned setting among them): the row's options, the
    amortizer for LAVPS rows, and, unless config.tuned_baselines is off, the family's setting tuned on
    other digits (DDRM / DiffPIR / LAVPS). `trained`: the family is one of the amortizer's (auto row);
    `latent`: a latent prior, where LAVPS's preset takes its latent fields as `lavps restore` does;
    `linear`: the operator is linear (else the auto row runs AUTO["nonlinear"]); `multimodal`: its likelihood has
    several exact modes (the auto row then runs AUTO["multimodal"])."""
    if "preset" in options:  # LAVPS's rows: the budget follows the task's family and the prior
        rest = {k: v for k, v in options.items() if k != "preset"}
        preset, values = preset_options(name, options["preset"], trained, linear, latent, multimodal)
        ran = auto_budget(trained, linear, latent, multimodal) if preset == "auto" else preset
        if name == "lavps":  # the amortizer's fitted temperature for this family, as `lavps restore` takes it
            values.update(calibrated_fields(ran, amortizer, family_spec, latent))
        options = {**values, **rest}
    opts = {**options, "amortizer": amortizer} if name in ("lavps", "amortized-only") else dict(options)
    opts, _ = with_kind_defaults(name, opts, family_spec)  # as lavps.restore: not a tuning, any prior
    tuned = tuned_options(name, family_spec) if config.tuned_baselines and not latent else {}
    given = config.settings.get(name, {})
    return {**fit_to_grid({**opts, **tuned}, given), **given}, tuned
