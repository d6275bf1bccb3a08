"""Paired per-digit energy-score gap of `fastest` (linearised draw, T = 1) to `reference` on unseen families
(es_unseen.jsonl), and discrepancy quantiles (rows.jsonl, harsh.jsonl). python table.py"""
import json, math, statistics as st

def t95(n):  # two-sided 95% t quantile, df = n - 1 (n = 20 here)
    return {20: 2.093}.get(n, 1.96)

rows = [json.loads(l) for l in open("es_unseen.jsonl")]
by = {}
for r in rows:
    by.setdefault(r["task"], {})["fast" if r["row"].startswith("lavps-fastest") else "ref"] = r
print("| task | ES fastest-lin T=1 | ES reference | paired gap (95%) | ratio | spread fast / ref | PSNR(1) fast / ref |")
print("|---|---|---|---|---|---|---|")
for task, pair in by.items():
    f, r = pair["fast"], pair["ref"]
    d = [a - b for a, b in zip(f["energy_score"], r["energy_score"])]
    n = len(d); m = st.mean(d); h = t95(n) * st.stdev(d) / math.sqrt(n)
    ef, er = st.mean(f["energy_score"]), st.mean(r["energy_score"])
    p1 = lambda e: st.mean(e["psnr"][0])
    print(f"| {task} | {ef:.4f} | {er:.4f} | {m:+.4f} +- {h:.4f} | {ef/er:.3f} | {f['spread_ratio']:.2f} / {r['spread_ratio']:.2f} | {p1(f):.2f} / {p1(r):.2f} |")
print()
print("| task | row | truth's discrepancy median / max | samples' median / p90 / max | PSNR(1) |")
print("|---|---|---|---|---|")
for name in ("rows.jsonl", "harsh.jsonl"):
    for r in map(json.loads, open(name)):
        flat = sorted(sum(r["discrepancy"], []))
        q = lambda p: flat[min(len(flat) - 1, int(p * len(flat)))]
        print(f"| {r['task']} | {r['row']} | {st.median(r['truth']):.3f} / {max(r['truth']):.3f} | {q(0.5):.3f} / {q(0.9):.3f} / {flat[-1]:.3f} | {st.mean(r['psnr'][0]):.2f} |")
