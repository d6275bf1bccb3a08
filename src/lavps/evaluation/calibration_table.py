"""Text table and plots of calibration results (`lavps bench calibration`).

A result is a dict with its key columns (e.g. operator and sampler) and "report" from
`lavps.evaluation.calibration.calibration_report`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["format_calibration_table", "plot_coverage", "plot_rank_histograms"]


def _label(result: dict, keys: tuple[str, ...]) -> str:
    return " ".join(str(result[k]) for k in keys)


def format_calibration_table(results: list[dict], keys: tuple[str, ...], extra: dict[str, str] | None = None) -> str:
    """One line per (result, statistic) and one TARP line per result.

    extra: {key: column title} of numbers printed on each of a result's lines, looked up in the result, else in
    its report (e.g. one-sample PSNR, "spread_ratio", "energy_score").
    """
    extra = extra or {}
    levels = [c["level"] for c in next(iter(results[0]["report"]["statistics"].values()))["coverage"]]
    k = results[0]["report"]["samples"]
    width = max(len(" ".join(keys)), *(len(_label(r, keys)) for r in results)) + 1
    head = (
        f"{' '.join(keys):<{width}} {'statistic':<12}"
        + "".join(f" {f'{q:.0%}':>6}" for q in levels)
        + f" {'90% Wilson':>13} {'p-unif':>8} {'outside':>8}"
        + "".join(f" {title:>9}" for title in extra.values())
    )
    lines = [head, "-" * len(head)]
    for r in results:
        rep = r["report"]
        for name, s in rep["statistics"].items():
            cov = {c["level"]: c for c in s["coverage"]}
            ninety = cov.get(0.9)
            wilson = f"[{ninety['low']:.2f},{ninety['high']:.2f}]" if ninety else ""
            lines.append(
                f"{_label(r, keys):<{width}} {name:<12}"
                + "".join(f" {cov[q]['coverage']:>6.3f}" for q in levels)
                + f" {wilson:>13} {s['uniformity_p']:>8.1e} {s['outside']:>8.3f}"
                + "".join(f" {_number(r.get(key, rep.get(key))):>9}" for key in extra)
            )
        t = rep["tarp"]
        ecp = dict(zip(t["alpha"], t["ecp"], strict=True))
        lines.append(
            f"{_label(r, keys):<{width}} {'TARP ECP':<12}"
            + "".join(f" {_nearest(ecp, q):>6.3f}" for q in levels)
            + f" {'':>13} {t['ks_p']:>8.1e} {'':>8}"
        )
    lines.append(
        f"coverage: share of truths inside the central credible interval of the K = {k} samples (randomised ranks; "
        f"nominal = the level); 90% Wilson: its 95% interval, n = truths; p-unif: chi-square uniformity of the "
        f"ranks per component, Bonferroni over components (TARP: KS of f); outside: truth beyond every sample "
        f"(nominal {2 / (k + 1):.3f}); TARP ECP at alpha = the level (nominal = alpha)"
        + (
            "; ES: energy score, lower is better (a proper score of accuracy and spread together, RMS units); "
            "spread: spread ratio (1 = exact, > 1 samples too close together)"
            if {"energy_score", "spread_ratio"} & set(extra)
            else ""
        )
    )
    return "\n".join(lines)


def _number(value) -> str:
    return "-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def _nearest(ecp: dict[float, float], level: float) -> float:
    return ecp[min(ecp, key=lambda a: abs(a - level))]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_coverage(results: list[dict], keys: tuple[str, ...], path: Path) -> None:
    """Coverage against nominal level, one panel per statistic (and TARP's ECP), one line per result."""
    plt = _pyplot()
    names = list(results[0]["report"]["statistics"])
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(4.2 * (len(names) + 1), 4.0), squeeze=False)
    for ax, name in zip(axes[0], [*names, "TARP"], strict=True):
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--")
        for r in results:
            if name == "TARP":
                ax.plot(r["report"]["tarp"]["alpha"], r["report"]["tarp"]["ecp"], lw=1.2, label=_label(r, keys))
                continue
            cov = r["report"]["statistics"][name]["coverage"]
            q = [c["level"] for c in cov]
            ax.errorbar(
                q,
                [c["coverage"] for c in cov],
                yerr=[
                    [max(0.0, c["coverage"] - c["low"]) for c in cov],
                    [max(0.0, c["high"] - c["coverage"]) for c in cov],
                ],
                marker="o",
                ms=3,
                capsize=2,
                lw=1,
                label=_label(r, keys),
            )
        ax.set_title(name if name == "TARP" else f"{name}: central intervals")
        ax.set_xlabel("credibility alpha" if name == "TARP" else "nominal level")
        ax.set_ylabel("expected coverage" if name == "TARP" else "coverage")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0][0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_rank_histograms(results: list[dict], keys: tuple[str, ...], path: Path) -> None:
    """Rank histograms (share of ranks per value 0..K, pooled over components): rows = results, columns =
    statistics; the dashed line is the uniform share 1 / (K + 1)."""
    plt = _pyplot()
    names = list(results[0]["report"]["statistics"])
    fig, axes = plt.subplots(
        len(results), len(names), figsize=(3.2 * len(names), 1.9 * len(results)), squeeze=False, sharex=True
    )
    for row, r in zip(axes, results, strict=True):
        for ax, name in zip(row, names, strict=True):
            hist = r["report"]["statistics"][name]["rank_histogram"]
            total = sum(hist)
            ax.bar(range(len(hist)), [h / total for h in hist], width=1.0, color="tab:blue", edgecolor="white")
            ax.axhline(1 / len(hist), color="black", lw=0.8, ls="--")
            ax.set_title(f"{_label(r, keys)}: {name}", fontsize=7)
            ax.tick_params(labelsize=6)
    for ax in axes[-1]:
        ax.set_xlabel("rank of x* among the K samples", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
