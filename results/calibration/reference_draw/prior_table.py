"""Prior-draw rows of `reference`: mean-field draw (kept) against the linearised one, paired per problem.

    python prior_table.py        (reads prior/*.json: `lavps bench calibration` reports, run.sh)
"""

from pathlib import Path

from prior_pairs import coverage, paired, rows

HERE = Path(__file__).resolve().parent / "prior"
PAIRS = [("trained_ref", "trained_reflin"), ("unseen_ref", "reflin"), ("more_a_diag", "more_a_lin"), ("more_b_diag", "more_b_lin")]


print("| task | draw | projections 80/90 | pixels 80/90 | distance 80/90 | spread | ES | Δ ES (paired) | PSNR(1) | Δ PSNR(1) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for before_name, after_name in PAIRS:
    before, after = rows(str(HERE / f"{before_name}.json")), rows(str(HERE / f"{after_name}.json"))
    for op, b in before.items():
        a = after[op]
        es, es_ci = paired(a["report"]["energy_score_per_problem"], b["report"]["energy_score_per_problem"])
        ps, ps_ci = paired(a["psnr_one_per_problem"], b["psnr_one_per_problem"])
        for label, r, delta in (("diagonal (kept)", b, ""), ("linearised", a, f"{es:+.4f} ± {es_ci:.4f}")):
            stats = " | ".join(coverage(r, s, " / ") for s in ("projections", "pixels", "distance"))
            dp = f"{ps:+.2f} ± {ps_ci:.2f}" if delta else ""
            rep = r["report"]
            print(
                f"| {op} | {label} | {stats} | {rep['spread_ratio']:.2f} | {rep['energy_score']:.4f} | {delta} | "
                f"{r['psnr_one']:.2f} | {dp} |"
            )
