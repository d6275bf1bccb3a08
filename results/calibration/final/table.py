"""Per-problem runs (run.py) -> calibration rows: coverage at 80 / 90 %, beyond-all share, one-sample PSNR
(mean +- 95% interval), seconds per sample; and the paired PSNR difference to a base row on the problems
both have (the problems each peer ran).

    python table.py DIR SEED TASK[,TASK..] ROW[,ROW..] [--base ROW] [--json OUT.jsonl]
"""
import json
import sys
from pathlib import Path

import torch

from lavps.evaluation.calibration import calibration_report
from lavps.evaluation.stats import mean_ci95
from lavps.metrics import psnr


def load(folder: Path, only=None) -> dict:
    files = sorted(folder.glob("p*.pt"))
    out = {}
    for f in files:
        p = int(f.stem[1:])
        if only is None or p in only:
            out[p] = torch.load(f)
    return out


def summary(runs: dict, problems: list[int]) -> dict:
    x = torch.stack([runs[p]["samples"] for p in problems])
    truth = torch.stack([runs[p]["truth"] for p in problems])
    rep = calibration_report(x, truth)
    one = psnr(x[:, 0], truth).tolist()
    mean, half = mean_ci95(one)
    seconds = sum(runs[p]["seconds"] for p in problems) / (len(problems) * x.shape[1])
    load_avg = sum(runs[p]["load"] for p in problems) / len(problems)
    return {"report": rep, "psnr_one": mean, "psnr_one_ci95": half, "psnr_each": one,
            "seconds_per_sample": seconds, "load": load_avg, "problems": problems}


def sample_psnr(run: dict) -> float:
    """The mean over a problem's K samples of each sample's PSNR to x*."""
    x = run["samples"]
    return float(psnr(x, run["truth"].expand_as(x)).mean())


def cov(rep: dict, key: str) -> str:
    return " / ".join(f"{rep['statistics'][key]['coverage'][i]['coverage']:.3f}" for i in (1, 2))


def main() -> None:
    root, seed = Path(sys.argv[1]), sys.argv[2]
    tasks, names = sys.argv[3].split(","), sys.argv[4].split(",")
    base = sys.argv[sys.argv.index("--base") + 1] if "--base" in sys.argv else None
    dump = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    print("| task | row | problems | projections 80/90 | pixels 80/90 | distance 80/90 | beyond all | PSNR(1) ± 95% "
          f"| {'Δ PSNR(1) row - ' + base + ', same problems, K-sample mean' if base else ''} | s/sample | load |")
    print("|" + "---|" * 11)
    for spec in tasks:
        base_runs = load(root / f"s{seed}" / spec / base.replace("/", "+")) if base else {}
        for name in names:
            runs = load(root / f"s{seed}" / spec / name.replace("/", "+"))
            if not runs:
                continue
            problems = sorted(runs)
            s = summary(runs, problems)
            rep = s["report"]
            diff, paired = "", None
            shared = [p for p in problems if p in base_runs]
            if base and name != base and len(shared) >= 2:
                # per problem: the mean one-sample PSNR over all K samples (the same expectation as sample 0's,
                # with less noise), then the paired difference row - base
                m, h = mean_ci95([sample_psnr(runs[p]) - sample_psnr(base_runs[p]) for p in shared])
                diff = f"{m:+.2f} ± {h:.2f} (n={len(shared)})"
                paired = {"base": base, "mean": m, "ci95": h, "problems": shared}
            print(f"| {spec} | {name} | {len(problems)} | {cov(rep, 'projections')} | {cov(rep, 'pixels')} | "
                  f"{cov(rep, 'distance')} | {rep['statistics']['distance']['above_all']:.3f} | "
                  f"{s['psnr_one']:.2f} ± {s['psnr_one_ci95']:.2f} | {diff} | {s['seconds_per_sample']:.3f} | "
                  f"{s['load']:.1f} |", flush=True)
            if dump:
                with open(dump, "a") as f:
                    f.write(json.dumps({"operator": spec, "sampler": name, **s, "paired_psnr": paired}) + "\n")


if __name__ == "__main__":
    main()
