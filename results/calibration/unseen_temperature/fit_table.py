"""Temperatures 1 / 1.5 / 2 of `reference` on the eight unseen families' tuning prior draws (seed 500): spread
ratio, energy score and one-sample PSNR per temperature, the temperature a per-family fit would choose
(`temperature_fit.fit_log_linear`, the rule `lavps calibrate-amortizer` applies to `fastest`), and the energy score
at T = 2 and at the fitted T against T = 1.5, paired per problem.

    PYTHONPATH=src python3 results/calibration/unseen_temperature/fit_table.py
"""

import sys
from pathlib import Path

from lavps.evaluation.temperature_fit import fit_log_linear

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "reference_draw"))
from prior_pairs import interval, rows  # noqa: E402

BASE = HERE.parent / "reference_draw" / "prior"
files = {
    1.0: [BASE / "unseen_ref.json", BASE / "more_a_diag.json", BASE / "more_b_diag.json"],
    1.5: [HERE / "prior" / f"{name}_t15.json" for name in ("unseen", "more_a", "more_b")],
    2.0: [HERE / "prior" / f"{name}_t2.json" for name in ("unseen", "more_a", "more_b1", "more_b2")],
}
by_t = {t: rows(",".join(str(p) for p in paths)) for t, paths in files.items()}
temps = sorted(by_t)
print("| task | spread T = 1 / 1.5 / 2 | ES T = 1 / 1.5 / 2 | PSNR(1) T = 1 / 1.5 / 2 | fitted T | Δ ES T = 2 vs 1.5 |")
print("|---|---|---|---|---|---|")
for op in by_t[1.0]:
    cells = [by_t[t][op] for t in temps]
    spread = [c["report"]["spread_ratio"] for c in cells]
    es = [c["report"]["energy_score"] for c in cells]
    psnr = [c["psnr_one"] for c in cells]
    fitted, how = fit_log_linear(temps, spread)
    d_es = interval(cells[2]["report"]["energy_score_per_problem"], cells[1]["report"]["energy_score_per_problem"])
    print(
        f"| {op} | {' / '.join(f'{v:.2f}' for v in spread)} | {' / '.join(f'{v:.4f}' for v in es)} | "
        f"{' / '.join(f'{v:.2f}' for v in psnr)} | {fitted:.2f} ({how}) | {d_es} ({es[2] / es[1] - 1:+.1%}) |"
    )
