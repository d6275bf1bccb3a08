"""Plots written by the benchmarks (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["plot_pareto", "plot_quality_vs_seconds", "plot_demo_grid"]

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
    """PSNR (mean, 95% interval) against seconds per image: one marker per sampler, one colour per task;
    the legend sits outside the axes so it never hides a point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    tasks = list(dict.fromkeys(r["task"] for r in summary))
    samplers = list(dict.fromkeys(r["sampler"] for r in summary))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    shapes = "so^vDxP*<>h"
    markers = {name: shapes[i % len(shapes)] for i, name in enumerate(samplers)}
    for r in summary:
        c = colors[tasks.index(r["task"]) % len(colors)]
        # over 2 digits a t-interval is +-12.7 sd wide and would swamp the axis: drawn from 3 digits on
        enough = r.get("images", 3) >= 3 and r["psnr_ci95"] == r["psnr_ci95"]
        yerr = r["psnr_ci95"] if enough else None
        ax.errorbar(r["seconds_per_image"], r["psnr"], yerr=yerr, fmt=markers[r["sampler"]], color=c, capsize=2)
    for i, t in enumerate(tasks):
        ID = any(r["in_distribution"] for r in summary if r["task"] == t)
        ax.plot([], [], color=colors[i % len(colors)], lw=4, label=f"{t}{' (ID)' if ID else ' (unseen)'}")
    for m, k in markers.items():
        ax.plot([], [], marker=k, ls="", color="k", label=m)
    ax.set_xscale("log")
    ax.set_xlabel("seconds per image (log scale)")
    ax.set_ylabel("PSNR (dB), mean and 95% interval (from 3 images on)")
    ax.set_title("Quality against time: every sampler on every task")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), title="task / sampler")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_demo_grid(rows: dict[str, torch.Tensor], title: str, path: Path, max_columns: int = 10) -> None:
    """One labelled grid per task: a row per entry of `rows` (reference, observation, samplers), a
    column per digit (at most max_columns), images (B, 1, H, W) in [-1, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    cols = min(max_columns, len(next(iter(rows.values()))))
    fig, axes = plt.subplots(len(names), cols, figsize=(1.1 * cols + 1.4, 1.1 * len(names) + 0.6), squeeze=False)
    for r, name in enumerate(names):
        for c in range(cols):
            ax = axes[r][c]
            img = rows[name][c].detach().float().cpu().clamp(-1, 1)
            ax.imshow(((img + 1) / 2).permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
