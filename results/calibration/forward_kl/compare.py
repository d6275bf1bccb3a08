"""Paired table: for each (base, row) pair, coverage at 80 / 90% per statistic, beyond-all share, one-sample PSNR
the paired PSNR difference row - base (mean over each problem's K samples, 95% interval over problems) and
the per-problem seconds ratio row / base (meaningful only for rows that ran in the same process),
from the per-problem files of run.py (the summaries of ../final/table.py).

    python compare.py DIR SEED TASK[,TASK..] BASE:ROW[,BASE:ROW..] [EXTRA_ROW,..]
"""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("final_table", Path(__file__).resolve().parent.parent / "final" / "table.py")
table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(table)

from lavps.evaluation.stats import mean_ci95  # noqa: E402


def line(spec: str, name: str, runs: dict, delta: str, ratio: str = "") -> str:
    s = table.summary(runs, sorted(runs))
    rep = s["report"]
    return (f"| {spec} | {name} | {table.cov(rep, 'projections')} | {table.cov(rep, 'pixels')} | "
            f"{table.cov(rep, 'distance')} | {rep['statistics']['distance']['above_all']:.3f} | "
            f"{s['psnr_one']:.2f} ± {s['psnr_one_ci95']:.2f} | {delta} | {ratio} |")


def main() -> None:
    root, seed, tasks = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
    pairs = [p.split(":") for p in sys.argv[4].split(",")]
    extra = sys.argv[5].split(",") if len(sys.argv) > 5 else []
    print("| task | row | projections 80/90 | pixels 80/90 | distance 80/90 | beyond all | PSNR(1) ± 95% "
          "| Δ PSNR(1) row - base, paired | seconds row / base, paired |")
    print("|" + "---|" * 9)
    for spec in tasks:
        folder = root / f"s{seed}" / spec
        for name in extra:
            print(line(spec, name, table.load(folder / name), ""))
        for base, row in pairs:
            b, r = table.load(folder / base), table.load(folder / row)
            shared = sorted(set(b) & set(r))
            if not shared:
                continue
            m, h = mean_ci95([table.sample_psnr(r[p]) - table.sample_psnr(b[p]) for p in shared])
            print(line(spec, base, {p: b[p] for p in shared}, ""))
            t, th = mean_ci95([r[p]["seconds"] / b[p]["seconds"] for p in shared])  # only same-process rows compare
            delta = f"{m:+.2f} ± {h:.2f} (n={len(shared)}, vs {base})"
            print(line(spec, row, {p: r[p] for p in shared}, delta, f"{t:.2f} ± {th:.2f}"))


if __name__ == "__main__":
    main()
