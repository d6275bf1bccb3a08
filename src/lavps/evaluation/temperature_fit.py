"""A variance temperature per operator family for an amortizer, fitted by simulation-based calibration.

The amortizer learns a mean-field Gaussian by reverse KL, which under-states the posterior's spread, and by
how much depends on the family (docs/calibration.md). `fastest` widens the network's variance by a
temperature T (`temperature`, the draw's variance x T at every step). This module fits T per family on
draws from the prior itself, where the Bayesian posterior is the right answer: for each T of a grid, K
samples of `fastest` on P problems (`run_image_calibration`), their pooled spread ratio
(`calibration.spread_ratio`: 1 for an exact sampler, > 1 too narrow), then the T where a least-squares line
of log ratio against log T crosses 0, clamped to the grid. The spread ratio pools squared distances over
problems and pixels: a smoother target than coverages, where each problem counts once.

The fitted table goes in the amortizer's card (`info["calibration"]`); `fastest` (and `auto` where it runs
`fastest`) then takes the family's temperature instead of the preset's 2 (`calibrated_temperature`).
The problems must be ones no report uses (default seed 500, 250-step prior draws: the tuning problems of
results/calibration).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration

__all__ = ["TemperatureFitConfig", "fit_log_linear", "fit_temperatures", "CALIBRATION_KEY"]

#: where the fitted table lives in an amortizer's info / card
CALIBRATION_KEY = "calibration"


@dataclass(frozen=True)
class TemperatureFitConfig:
    """families: canonical operator specs; temperatures: the grid (>= 2 values, each > 0)."""

    families: tuple[str, ...]
    temperatures: tuple[float, ...] = (1.5, 2.0, 2.5)
    problems: int = 24
    samples: int = 15
    prior_steps: int = 250
    seed: int = 500
    sigma: float = 0.05

    def __post_init__(self) -> None:
        if not self.families:
            raise ValueError("need at least one operator family to calibrate")
        temps = self.temperatures
        if len(set(temps)) < 2 or not all(math.isfinite(t) and t > 0 for t in temps):
            raise ValueError(f"need at least two distinct temperatures > 0, got {list(temps)}")


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
    """{"temperature": {family: T}, "how": {family: ...}, "spread_ratio": {family: {T: ratio}}, "fit": config}:
    the calibration record for `amortizer`'s card. Each family's rows run LAVPS `fastest` with its
    temperature overridden (the other fastest settings unchanged)."""
    temps = [float(t) for t in config.temperatures]
    keys = {f"T={t:g}": f"{t:g}" for t in temps}  # row label -> the ratios' key for T
    rows = tuple(CalibrationRow(f"T={t:g}", "lavps", "fastest", {"temperature": t}) for t in temps)
    run = ImageCalibrationConfig(
        operators=tuple(config.families), sigma=config.sigma, problems=config.problems, samples=config.samples,
        rows=rows, prior_steps=config.prior_steps, seed=config.seed,
    )  # fmt: skip
    out = run_image_calibration(run, prior, progress=progress, amortizer=amortizer)
    ratios: dict[str, dict[str, float]] = {}
    for entry in out["results"]:
        ratios.setdefault(entry["operator"], {})[keys[entry["sampler"]]] = entry["report"]["spread_ratio"]
    temperature, how = {}, {}
    for family in config.families:
        t, how[family] = fit_log_linear(temps, [ratios[family][key] for key in keys.values()])
        temperature[family] = round(t, 2)
    return {
        "temperature": temperature,
        "how": how,
        "spread_ratio": ratios,
        "preset": "fastest",
        "fit": asdict(config),
        "results": out["results"],
    }
