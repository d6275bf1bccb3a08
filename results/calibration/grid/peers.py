"""One-sample PSNR of run.py rows against the peers of ../final/rows.jsonl on the problems both ran (the same
prior draws, operators, noise and sample seeds: sample 0 of problem p is the same draw's first sample).
Paired per problem: peer - row (dB), mean +- 95% t-interval; positive: the peer is ahead.

    python peers.py DIR TASK[,TASK..] ROW[,ROW..]
"""
import json
import sys
from pathlib import Path

import torch

from lavps.evaluation.stats import mean_ci95
from lavps.metrics import psnr

FINAL = Path(__file__).resolve().parent.parent / "final" / "rows.jsonl"
PEERS = ("default", "ddrm", "ddrm-log", "diffpir", "mgdm", "dps")


def first_sample_psnr(folder: Path) -> dict:
    out = {}
    for f in sorted(folder.glob("p*.pt")):
        run = torch.load(f)
        out[int(f.stem[1:])] = float(psnr(run["samples"][:1], run["truth"][None]))
    return out


def main() -> None:
    root, tasks, names = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")
    final = [json.loads(line) for line in FINAL.read_text().splitlines()]
    print("| task | row | " + " | ".join(f"{p} (final/) - row" for p in PEERS) + " |")
    print("|" + "---|" * (2 + len(PEERS)))
    for spec in tasks:
        for name in names:
            mine = first_sample_psnr(root / "s0" / spec / name.replace("/", "+"))
            cells = []
            for peer in PEERS:
                rec = next((r for r in final if r["operator"] == spec and r["sampler"] == peer), None)
                pairs = [(v, mine[p]) for p, v in zip(rec["problems"], rec["psnr_each"]) if p in mine] if rec else []
                if len(pairs) < 2:
                    cells.append("")
                    continue
                m, h = mean_ci95([a - b for a, b in pairs])
                cells.append(f"{m:+.2f} ± {h:.2f} ({len(pairs)})")
            print(f"| {spec} | {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
