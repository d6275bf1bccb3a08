"""Rows of run.py against a base row on the problems both ran: coverage at 80 / 90 % per statistic, beyond-all
share, PSNR (per problem the mean over the K samples of each sample's PSNR to x*), PSNR of the K-sample mean
(how far the samples' MEAN is from x*), paired differences row - base (mean +- 95% t-interval over problems)
and the paired seconds ratio (rows of one run.py process: same load).

    python table.py DIR SEED TASK[,TASK..] ROW[,ROW..] --base ROW [--json OUT.jsonl] [--ratio-from P]

--ratio-from P: the seconds ratio over problems >= P only (problems whose two rows ran in different processes,
under other loads, left out).
"""
import json
import math
import sys
from pathlib import Path

import torch

from lavps.evaluation.calibration import calibration_report
from lavps.evaluation.stats import mean_ci95
from lavps.metrics import psnr


def load(folder: Path) -> dict:
    return {int(f.stem[1:]): torch.load(f) for f in sorted(folder.glob("p*.pt"))}


def sample_psnr(run: dict) -> float:
    x = run["samples"]
    return float(psnr(x, run["truth"].expand_as(x)).mean())


def mean_psnr(run: dict) -> float:
    return float(psnr(run["samples"].mean(0, keepdim=True), run["truth"][None]).mean())


def cov(rep: dict, key: str) -> str:
    return " / ".join(f"{rep['statistics'][key]['coverage'][i]['coverage']:.3f}" for i in (1, 2))


def paired(values: list[float]) -> str:
    m, h = mean_ci95(values)
    return f"{m:+.2f} ± {h:.2f}"


def main() -> None:
    root, seed = Path(sys.argv[1]), sys.argv[2]
    tasks, names = sys.argv[3].split(","), sys.argv[4].split(",")
    base = sys.argv[sys.argv.index("--base") + 1]
    dump = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    ratio_from = int(sys.argv[sys.argv.index("--ratio-from") + 1]) if "--ratio-from" in sys.argv else 0
    print(f"| task | row | n | proj. 80/90 | pixels 80/90 | distance 80/90 | beyond all | PSNR | Δ PSNR vs {base} "
          "| Δ PSNR of the mean | seconds ratio |")
    print("|" + "---|" * 11)
    for spec in tasks:
        base_runs = load(root / f"s{seed}" / spec / base.replace("/", "+"))
        for name in names:
            runs = load(root / f"s{seed}" / spec / name.replace("/", "+"))
            shared = sorted(p for p in runs if p in base_runs)
            if len(shared) < 2:
                continue
            x = torch.stack([runs[p]["samples"] for p in shared])
            rep = calibration_report(x, torch.stack([runs[p]["truth"] for p in shared]))
            each = [sample_psnr(runs[p]) for p in shared]
            d_one = [sample_psnr(runs[p]) - sample_psnr(base_runs[p]) for p in shared]
            d_mean = [mean_psnr(runs[p]) - mean_psnr(base_runs[p]) for p in shared]
            ratios = [math.log(runs[p]["seconds"] / base_runs[p]["seconds"]) for p in shared if p >= ratio_from]
            ratio = math.exp(sum(ratios) / len(ratios))
            m, h = mean_ci95(each)
            print(f"| {spec} | {name} | {len(shared)} | {cov(rep, 'projections')} | {cov(rep, 'pixels')} | "
                  f"{cov(rep, 'distance')} | {rep['statistics']['distance']['above_all']:.3f} | {m:.2f} ± {h:.2f} | "
                  f"{paired(d_one)} | {paired(d_mean)} | {ratio:.2f}x |", flush=True)
            if dump:
                with open(dump, "a") as f:
                    f.write(json.dumps({"operator": spec, "row": name, "base": base, "problems": shared,
                                        "report": rep, "psnr_k_mean": each, "d_psnr": d_one, "d_psnr_of_mean": d_mean,
                                        "seconds": [runs[p]["seconds"] for p in shared],
                                        "psnr_one": [float(psnr(runs[p]["samples"][:1], runs[p]["truth"][None]))
                                                     for p in shared],
                                        "seconds_ratio_geomean": ratio}) + "\n")


if __name__ == "__main__":
    main()
