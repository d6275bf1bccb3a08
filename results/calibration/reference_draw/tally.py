"""Every (family, setting) cell of `reference`'s diagonal draw against the linearised one: relative change of the
energy score, spread ratio before / after, one-sample PSNR change; then the tally (level = within 1%).

    python3 tally.py        (reads prior/*.json and digits_*.jsonl, run.sh)
"""

import json
from pathlib import Path

from prior_pairs import rows

HERE = Path(__file__).resolve().parent
PRIOR_PAIRS = [("trained_ref", "trained_reflin"), ("unseen_ref", "reflin"), ("more_a_diag", "more_a_lin"),
               ("more_b_diag", "more_b_lin")]
# (file, diagonal row, linearised row); digits_reported_unseen was made where plain `lavps` drew linearised
DIGIT_PAIRS = [("digits_trained_ref", "lavps-ref", "lavps-ref+draw=linearised"),
               ("digits_unseen", "lavps", "lavps+draw=linearised"),
               ("digits_more_unseen", "lavps", "lavps+draw=linearised"),
               ("digits_reported_unseen", "lavps+draw=diagonal", "lavps")]


def mean(values: list) -> float:
    return sum(values) / len(values)


def prior_cells():
    for before_name, after_name in PRIOR_PAIRS:
        before, after = (rows(str(HERE / "prior" / f"{n}.json")) for n in (before_name, after_name))
        for op, b in before.items():
            a = after[op]
            yield (f"prior {op}", b["report"]["energy_score"], a["report"]["energy_score"], b["report"]["spread_ratio"],
                   a["report"]["spread_ratio"], a["psnr_one"] - b["psnr_one"])


def digit_cells():
    for name, diagonal, linearised in DIGIT_PAIRS:
        rows = [json.loads(line) for line in open(HERE / f"{name}.jsonl")]
        for task in dict.fromkeys(r["task"] for r in rows):
            pick = {r["row"]: r for r in rows if r["task"] == task}
            b, a = pick[diagonal], pick[linearised]
            yield (f"digits{' (reported)' if 'reported' in name else ''} {task}", mean(b["energy_score"]),
                   mean(a["energy_score"]), b["spread_ratio"], a["spread_ratio"], mean(a["psnr"][0]) - mean(b["psnr"][0]))


cells = list(prior_cells()) + list(digit_cells())
print("| cell | ES diagonal -> linearised | change | spread | Δ PSNR(1) |")
print("|---|---|---|---|---|")
changes = []
for label, es_b, es_a, sp_b, sp_a, d_psnr in cells:
    changes.append(es_a / es_b - 1)
    print(f"| {label} | {es_b:.4f} -> {es_a:.4f} | {changes[-1]:+.1%} | {sp_b:.2f} -> {sp_a:.2f} | {d_psnr:+.2f} |")
lower = sum(c < -0.01 for c in changes)
higher = sum(c > 0.01 for c in changes)
closer = sum(abs(c[4] - 1) < abs(c[3] - 1) for c in cells)
print(f"\n{len(cells)} cells: ES lower {lower}, level (within 1%) {len(cells) - lower - higher}, higher {higher}; "
      f"mean relative change {mean(changes):+.1%}; spread closer to 1 in {closer}")
