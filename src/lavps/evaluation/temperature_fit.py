"""A variance temperature per operator family for an amortizer, fitted by simulation-based calibration.

The amortizer learns a mean-field Gaussian by reverse KL, which under-states the posterior's spread, and by
how much depends on the family (docs/calibration.md). `fastest` widens the network's variance by a
temperature T (`temperature`, the draw's variance x T at every step). This module fits T per family on
draws from the prior itself, where the Bayesian posterior is the right answer: for each T of a grid, K
samples of `fastest` on P problems (`run_image_calibration`), their pooled spread ratio
(`calibration.spread_ratio`: 1 for an exact sampler, > 1 too narrow), then the T where a least-squares line
of log ratio against log T crosses 0, clamped to the grid. The spread ratio pools squared distances over
problems and pixels: a smoother target than coverages, where each problem counts once.

With several draws (`draws`: "diagonal", the network's mean-field variance, and "linearised", the
Gaussian-linearised inner problem's full covariance: `VISettings.draw`) the temperature is fitted for each,
and each family keeps the draw whose energy score (`calibration.energy_score`, proper: lowest for the right
law) is lower at its own fitted temperature (`choose_draw`).

The fitted table goes in the amortizer's card (`info["calibration"]`); `fastest` (and `auto` where it runs
`fastest`) then takes the family's temperature instead of the preset's 2 and its draw
(`calibrated_temperature`, `calibrated_draw`). The same fit for `reference` (`preset`), what `auto` runs on
a linear family the amortizer was not trained on, goes in `info["calibration_reference"]`
(`constants.calibration_key`) and is taken by `reference` on those families alike.
The problems must be ones no report uses (default seed 500, 250-step prior draws: the tuning problems of
results/calibration).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..constants import CALIBRATED_PRESETS, DRAWS
from .calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration

__all__ = [
    "TemperatureFitConfig",
    "choose_draw",
    "fit_log_linear",
    "fit_temperatures",
    "merge_fits",
    "PER_FAMILY",
]

#: the record's tables keyed by family (what `merge_fits` merges)
PER_FAMILY = ("temperature", "draw", "how", "spread_ratio", "energy_score", "by_draw")


@dataclass(frozen=True)
class TemperatureFitConfig:
    """families: canonical operator specs; temperatures: the grid (>= 2 values, each > 0); draws: the ways of
    drawing x_tau to fit and choose between (`VISettings.draw`); preset: the LAVPS preset fitted
    (CALIBRATED_PRESETS)."""

    families: tuple[str, ...]
    temperatures: tuple[float, ...] = (1.5, 2.0, 2.5)
    draws: tuple[str, ...] = ("diagonal",)
    problems: int = 24
    samples: int = 15
    prior_steps: int = 250
    seed: int = 500
    sigma: float = 0.05
    preset: str = "fastest"

    def __post_init__(self) -> None:
        if self.preset not in CALIBRATED_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(CALIBRATED_PRESETS)}, got {self.preset!r}")
        if not self.families:
            raise ValueError("need at least one operator family to calibrate")
        temps = self.temperatures
        if len(set(temps)) < 2 or not all(math.isfinite(t) and t > 0 for t in temps):
            raise ValueError(f"need at least two distinct temperatures > 0, got {list(temps)}")
        if not self.draws or len(set(self.draws)) != len(self.draws) or not set(self.draws) <= set(DRAWS):
            raise ValueError(f"draws must be distinct names from {', '.join(DRAWS)}, got {list(self.draws)}")


def fit_log_linear(temperatures, ratios) -> tuple[float, str]:
    """(T, how): the temperature where the least-squares line of log(ratio) on log(T) crosses 0, clamped to
    the grid's range. how: "interpolated", "clamped low" / "clamped high" (the crossing lies beyond the grid),
    or "flat" (the ratio does not fall as T grows: the grid's T whose ratio is closest to 1)."""
    if len(temperatures) != len(ratios) or len(temperatures) < 2:
        raise ValueError("need one spread ratio per temperature, at least two")
    if not all(r > 0 and math.isfinite(r) for r in ratios):
        raise ValueError(f"spread ratios must be finite and > 0, got {list(ratios)}")
    xs = [math.log(t) for t in temperatures]
    ys = [math.log(r) for r in ratios]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    low, high = min(temperatures), max(temperatures)
    if not slope < 0:
        best = min(zip(temperatures, ratios, strict=True), key=lambda tr: abs(math.log(tr[1])))
        return float(best[0]), "flat"
    t = math.exp(mx - my / slope)
    if t < low:
        return float(low), "clamped low"
    if t > high:
        return float(high), "clamped high"
    return t, "interpolated"


def fit_temperatures(config: TemperatureFitConfig, prior, amortizer, progress: bool = True) -> dict:
    """{"temperature": {family: T}, "draw": {family: d}, "how": {family: ...}, "spread_ratio": {family: {T:
    ratio}}, "energy_score": {family: {T: ES}}, "by_draw": {family: {draw: the same per draw}}, "preset",
    "fit": config}: the calibration record for `amortizer`'s card (the top-level tables are the chosen draw's).
    Each row runs LAVPS at config.preset with its temperature and draw overridden (its other settings unchanged)."""
    temps = [float(t) for t in config.temperatures]
    rows = {
        _label(d, t, config.draws): (d, f"{t:g}") for d in config.draws for t in temps
    }  # row label -> (draw, the tables' key for T)
    run = ImageCalibrationConfig(
        operators=tuple(config.families), sigma=config.sigma, problems=config.problems, samples=config.samples,
        rows=tuple(CalibrationRow(label, "lavps", config.preset, {"temperature": float(t), "draw": d})
                   for label, (d, t) in rows.items()),
        prior_steps=config.prior_steps, seed=config.seed,
    )  # fmt: skip
    out = run_image_calibration(run, prior, progress=progress, amortizer=amortizer)
    measured: dict[str, dict[str, dict]] = {}
    for entry in out["results"]:
        draw, key = rows[entry["sampler"]]
        cell = measured.setdefault(entry["operator"], {}).setdefault(draw, {"spread_ratio": {}, "energy_score": {}})
        cell["spread_ratio"][key] = entry["report"]["spread_ratio"]
        cell["energy_score"][key] = entry["report"]["energy_score"]
    record = {k: {} for k in PER_FAMILY}
    for family in config.families:
        chosen = choose_draw(measured[family], temps)
        best = measured[family][chosen]
        record["draw"][family] = chosen
        for key in ("temperature", "how", "spread_ratio", "energy_score"):
            record[key][family] = best[key]
        record["by_draw"][family] = measured[family]
    return {**record, "preset": config.preset, "fit": asdict(config), "results": out["results"]}


def merge_fits(earlier: dict | None, new: dict) -> dict:
    """The card's calibration record after the fit `new` (a `fit_temperatures` record without its results): the
    families it fitted take its entries, every other family of `earlier` (the card's record before it) keeps its
    own, and "earlier_fits" lists the settings of each earlier fit that still supplies families, with those
    families. Fitting one new family thus never drops the others' fits. `new` alone when there is no earlier
    record, it was fitted for another preset, or its tables are not per-family dictionaries (a corrupt record
    is replaced, not merged)."""
    if not isinstance(earlier, dict) or earlier.get("preset") != new.get("preset"):
        return new
    if not all(isinstance(earlier.get(key), dict) for key in PER_FAMILY):
        return new
    fitted = set(new["fit"]["families"])
    kept = [family for family in earlier["temperature"] if family not in fitted]
    if not kept:
        return new
    previous = earlier.get("earlier_fits")
    previous = [e for e in previous if isinstance(e, dict)] if isinstance(previous, list) else []
    history, unclaimed = [], set(kept)  # each kept family is credited to the oldest fit that names it
    for entry in [*previous, {**(earlier.get("fit") or {}), "families": kept}]:
        named = entry.get("families") if isinstance(entry.get("families"), list) else []
        families = [f for f in named if f in unclaimed]
        unclaimed.difference_update(families)
        if families:
            history.append({**entry, "families": families})
    merged = {key: {**{f: v for f, v in earlier[key].items() if f in kept}, **new[key]} for key in PER_FAMILY}
    return {**new, **merged, "earlier_fits": history}


def choose_draw(by_draw: dict[str, dict], temperatures) -> str:
    """Fits each draw's temperature (`fit_log_linear` on its spread ratios, keyed by f"{T:g}") and returns the
    draw whose energy score at its fitted temperature is lowest (ties: the first): each draw is judged where it
    is calibrated. The energy score there is interpolated linearly in log T between the two grid points around
    it. Adds "temperature" (rounded to 0.01), "how" and "energy_score_at_fit" to each draw's entry."""
    temps = sorted(float(t) for t in temperatures)
    for cell in by_draw.values():
        t, cell["how"] = fit_log_linear(temps, [cell["spread_ratio"][f"{x:g}"] for x in temps])
        cell["temperature"] = round(t, 2)
        cell["energy_score_at_fit"] = _log_interpolate(temps, [cell["energy_score"][f"{x:g}"] for x in temps], t)
    return min(by_draw, key=lambda d: by_draw[d]["energy_score_at_fit"])


def _log_interpolate(xs: list[float], ys: list[float], x: float) -> float:
    """ys at x, linear in log x between the neighbouring xs (sorted); the end value outside them."""
    if x <= xs[0]:
        return ys[0]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=True):
        if x <= x1:
            w = math.log(x / x0) / math.log(x1 / x0)
            return y0 + w * (y1 - y0)
    return ys[-1]


def _label(draw: str, temperature: float, draws: tuple[str, ...]) -> str:
    return f"T={temperature:g}" if len(draws) == 1 else f"{draw} T={temperature:g}"
