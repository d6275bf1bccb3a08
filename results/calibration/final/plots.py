"""coverage.png and rank_histograms.png of the final rows: the 48-problem old / new default
(../default_fix/rows.jsonl) and this folder's rows.jsonl (table.py --json), plus the rank-histogram summary
(per row and statistic: share of truths outside all / beyond all samples, mean u, uniformity p-value)."""
import json
from pathlib import Path

from lavps.evaluation.calibration_table import plot_coverage, plot_rank_histograms

here = Path(__file__).parent
rows = [json.loads(line) for line in (here.parent / "default_fix" / "rows.jsonl").read_text().splitlines()]
rows += [json.loads(line) for line in (here / "rows.jsonl").read_text().splitlines()]
keys = ("operator", "sampler")
# the plots: the 48-problem old / new default, calibrated reference and MGDM-ref (all rows: rank_summary.md)
shown = [r for r in rows if r.get("problems") == 48 or r["sampler"].startswith(("reference", "mgdm"))]
plot_coverage(shown, keys, here / "coverage.png")
plot_rank_histograms(shown, keys, here / "rank_histograms.png")
out = ["| task | row | statistic | outside all | beyond all | mean u | uniformity p |", "|" + "---|" * 7]
for r in rows:
    for name, st in r["report"]["statistics"].items():
        out.append(f"| {r['operator']} | {r['sampler']} | {name} | {st['outside']:.3f} | "
                   f"{st['above_all']:.3f} | {st['mean_u']:.3f} | {st['uniformity_p']:.2g} |")
(here / "rank_summary.md").write_text("\n".join(out) + "\n")
print("\n".join(out))
