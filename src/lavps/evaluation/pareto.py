"""Quality-versus-seconds study on the exact-posterior benchmark: MGDM budgets against LAVPS budgets,
in-distribution (the amortizer's training family) and out-of-distribution, with the paper's targets
computed as ratios measured in the same run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .gmm_bench import GMMBenchConfig, SamplerEntry, run_gmm_benchmark

__all__ = ["Panel", "parse_panel", "pareto_entries", "run_pareto", "targets"]


@dataclass(frozen=True)
class Panel:
    """A problem family: operator family, observation dimension and sigma_y. Spec: 'dense:1@1.0'."""

    family: str
    obs_dim: int
    sigma: float

    @property
    def spec(self) -> str:
        return f"{self.family}:{self.obs_dim}@{self.sigma:g}"


def parse_panel(spec: str, default_sigma: float) -> Panel:
    try:
        head, _, sig = spec.partition("@")
        family, _, dy = head.partition(":")
        panel = Panel(family, int(dy), float(sig) if sig else default_sigma)
    except ValueError:
        raise ValueError(
            f"bad problem family {spec!r}; expected FAMILY:D_Y[@SIGMA], e.g. dense:1 or mask:4@0.5"
        ) from None
    if (
        panel.family not in ("dense", "mask")
        or panel.obs_dim < 1
        or not (math.isfinite(panel.sigma) and panel.sigma > 0)
    ):
        raise ValueError(f"bad problem family {spec!r}: family dense|mask, d_y >= 1, finite sigma > 0")
    return panel


def pareto_entries(
    mgdm_out: tuple[int, ...],
    mgdm_in: tuple[int, ...],
    lavps_in: tuple[int, ...],
    with_amortizer: bool,
    with_supervised: bool,
) -> tuple[SamplerEntry, ...]:
    entries = [SamplerEntry("dps", "dps")]
    for g_out in mgdm_out:
        for g_in in mgdm_in:
            entries.append(SamplerEntry(f"mgdm[{g_out},{g_in}]", "mgdm", {"adam_out": g_out, "adam_in": g_in}))
    if with_amortizer:
        for g_out in mgdm_out:
            for g_in in lavps_in:
                entries.append(
                    SamplerEntry(f"lavps[{g_out},{g_in}]", "lavps", {"adam_out": g_out, "inner_steps": g_in})
                )
            entries.append(SamplerEntry(f"amortized-only[{g_out},0]", "amortized-only", {"adam_out": g_out}))
    if with_supervised:
        entries.append(SamplerEntry("supervised", "supervised"))
    return tuple(entries)


def run_pareto(base: GMMBenchConfig, panels: dict[str, Panel], build, progress: bool = True) -> dict:
    """Run the benchmark once per panel ('id', 'ood:...') with the same entries and seeds."""
    out = {
        "config": {
            "base": base.__dict__ | {"entries": [e.__dict__ for e in base.entries]},
            "panels": {k: p.spec for k, p in panels.items()},
        },
        "panels": {},
    }
    for key, panel in panels.items():
        cfg = replace(base, obs_dims=(panel.obs_dim,), family=panel.family, sigma=panel.sigma)
        res = run_gmm_benchmark(cfg, build, progress=progress, desc=f"bench pareto ({key})")
        out["panels"][key] = {
            "spec": panel.spec,
            "results": res["results"],
            "per_problem": res["per_problem"],
            "targets": targets(res["results"], in_distribution=key == "id"),
        }
    return out


def _family(label: str) -> str:
    return label.split("[")[0]


def _budget(label: str) -> tuple[int, int] | None:
    if "[" not in label:
        return None
    a, b = label[label.index("[") + 1 : -1].split(",")
    return int(a), int(b)


def targets(results: list[dict], in_distribution: bool) -> dict:
    """The issue's targets as ratios of numbers measured in this run.

    ID: the cheapest LAVPS setting whose SW is within the 95% interval of MGDM's best setting, and its
    seconds as a fraction of that MGDM setting's (target <= 1/4).
    OOD: for each budget run by both, LAVPS SW / MGDM SW (target <= 1.10), and the same ratio for
    "amortized only" and "supervised" against MGDM's best.
    """
    rows = {r["sampler"]: r for r in results}
    mgdm = [r for r in results if _family(r["sampler"]) == "mgdm"]
    lavps = [r for r in results if _family(r["sampler"]) == "lavps"]
    if not mgdm:
        return {}
    best = min(mgdm, key=lambda r: r["sw_mean"])
    out: dict = {
        "mgdm_best": best["sampler"],
        "mgdm_best_sw": best["sw_mean"],
        "mgdm_best_ci95": best["sw_ci95"],
        "mgdm_best_seconds": best["seconds"],
    }
    if lavps:
        within = [r for r in lavps if r["sw_mean"] <= best["sw_mean"] + best["sw_ci95"]]
        if within:
            cheap = min(within, key=lambda r: r["seconds"])
            out.update(
                lavps_matching=cheap["sampler"],
                lavps_matching_sw=cheap["sw_mean"],
                lavps_matching_seconds=cheap["seconds"],
                seconds_ratio=cheap["seconds"] / best["seconds"],
            )
        else:
            out.update(lavps_matching=None, seconds_ratio=None)
        pairs = {}
        for r in lavps:
            g_out, g_in = _budget(r["sampler"])
            ref = rows.get(f"mgdm[{g_out},{g_in}]")
            if ref is not None:
                pairs[r["sampler"]] = {
                    "vs": ref["sampler"],
                    "sw_ratio": r["sw_mean"] / ref["sw_mean"],
                    "seconds_ratio": r["seconds"] / ref["seconds"],
                }
        out["lavps_vs_mgdm_same_budget"] = pairs
    for name in ("amortized-only", "supervised", "dps"):
        cands = [r for r in results if _family(r["sampler"]) == name]
        if cands:
            b = min(cands, key=lambda r: r["sw_mean"])
            out[f"{name}_sw_over_mgdm_best"] = b["sw_mean"] / best["sw_mean"]
    out["in_distribution"] = in_distribution
    return out
