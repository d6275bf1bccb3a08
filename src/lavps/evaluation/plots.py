"""Plots written by the benchmarks (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_pareto"]

_STYLE = {
    "mgdm": ("o", "tab:blue"),
    "lavps": ("s", "tab:red"),
    "amortized-only": ("^", "tab:orange"),
    "supervised": ("D", "tab:green"),
    "dps": ("x", "tab:gray"),
}


def plot_pareto(payload: dict, path: Path) -> None:
    """One panel per problem family: SW (mean, 95% interval) against seconds per problem."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = payload["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, (key, panel) in zip(axes[0], panels.items(), strict=True):
        for family, (marker, color) in _STYLE.items():
            rows = [r for r in panel["results"] if r["sampler"].split("[")[0] == family]
            if not rows:
                continue
            rows.sort(key=lambda r: r["seconds"])
            ax.errorbar(
                [r["seconds"] for r in rows],
                [r["sw_mean"] for r in rows],
                yerr=[r["sw_ci95"] for r in rows],
                fmt=marker,
                color=color,
                label=family,
                capsize=2,
                ms=5,
            )
        for ref, style in (("exact", ":"), ("prior", "--")):
            rows = [r for r in panel["results"] if r["sampler"] == ref]
            if rows:
                ax.axhline(rows[0]["sw_mean"], ls=style, color="k", lw=0.8, label=ref)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("seconds per problem")
        ax.set_ylabel("sliced Wasserstein to exact posterior")
        ax.set_title(f"{'ID' if key == 'id' else 'OOD'}: {panel['spec']}")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_quality_vs_seconds(summary: list[dict], path: Path) -> None:
    """PSNR (mean, 95% interval) against seconds per image, one marker per sampler, one colour per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    tasks = list(dict.fromkeys(r["task"] for r in summary))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = {"dps": "x", "mgdm": "o", "mgdm-fast": "v", "lavps": "s"}
    for r in summary:
        c = colors[tasks.index(r["task"]) % len(colors)]
        ax.errorbar(
            r["seconds_per_image"],
            r["psnr"],
            yerr=r["psnr_ci95"],
            fmt=markers.get(r["sampler"], "^"),
            color=c,
            capsize=2,
        )
    for i, t in enumerate(tasks):
        ax.plot([], [], color=colors[i % len(colors)], label=t)
    for m, k in markers.items():
        ax.plot([], [], marker=k, ls="", color="k", label=m)
    ax.set_xscale("log")
    ax.set_xlabel("seconds per image")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
