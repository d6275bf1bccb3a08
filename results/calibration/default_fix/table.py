"""rows.jsonl (old / new default, 48 problems) + peers.jsonl (fewer problems) -> table.md, coverage.png,
rank_histograms.png."""
import json
from pathlib import Path

from lavps.evaluation.calibration_table import plot_coverage, plot_rank_histograms

here = Path(__file__).parent
rows = [json.loads(line) for name in ("rows.jsonl", "peers.jsonl") if (here / name).exists()
        for line in (here / name).read_text().splitlines()]
order = {"sr:4": 0, "box:0.3:0.5": 1, "motion_blur:9:0.5": 2}
rows.sort(key=lambda r: (order[r["operator"]], -r["problems"]))
out = ["| task | sampler | problems | projections 80/90 | pixels 80/90 | distance 80/90 | beyond all (dist.) "
       "| PSNR(1) ± 95% | s/sample | load |", "|" + "---|" * 10]
for r in rows:
    st = r["report"]["statistics"]

    def cov(k):
        return " / ".join(f"{st[k]['coverage'][i]['coverage']:.3f}" for i in (1, 2))

    half = r["psnr_one_ci95"]
    out.append(f"| {r['operator']} | {r['sampler']} | {r['problems']} | {cov('projections')} | {cov('pixels')} | "
               f"{cov('distance')} | {st['distance']['above_all']:.3f} | {r['psnr_one']:.2f} ± {half:.2f} | "
               f"{r['seconds_per_sample']:.3f} | {r['load_average'][0]:.1f} |")
(here / "table.md").write_text("\n".join(out) + "\n")
print("\n".join(out))
keys = ("operator", "sampler")
main = [r for r in rows if r["problems"] == 48]
plot_coverage(main, keys, here / "coverage.png")
plot_rank_histograms(main, keys, here / "rank_histograms.png")
