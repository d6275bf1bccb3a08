"""Several LAVPS rows on the same problems IN ONE PROCESS, problem by problem (rows interleaved), so their
seconds are comparable as per-problem ratios. Each (problem, row) is saved as DIR/sSEED/TASK/ROW/pNNN.pt
(the layout of ../final/run.py and table.py). Problem p: the prior draw, operator, noise and sample seeds
of `lavps bench calibration` with --seed SEED.

    python run.py DIR TASK ROW[,ROW..] FIRST LAST [SEED PRIOR_STEPS]

ROW: a name of ../final/run.py (old, default, fast, reference, ...) or PRESET/key=value/... (fastest/steps=30).
SEED 0 / 1000 prior steps: the reported problems; tuning: SEED 500 / 250 steps (never reported).
"""

import importlib.util
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
_spec = importlib.util.spec_from_file_location("final_run", Path(__file__).resolve().parent.parent / "final" / "run.py")
final_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(final_run)
parse_row, truth, run_one = final_run.parse_row, final_run.truth, final_run.run_one

from lavps.api import degrade, load_prior, operator  # noqa: E402
from lavps.evaluation.calibration_bench import PROBLEM_SEED_OFFSET  # noqa: E402


def main() -> None:
    root, spec, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
    first, last = int(sys.argv[4]), int(sys.argv[5])
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    steps = int(sys.argv[7]) if len(sys.argv) > 7 else 1000
    prior = load_prior()
    x_true = truth(prior, last, steps, seed, root)
    for p in range(first, last):
        op_seed = seed + PROBLEM_SEED_OFFSET + 2 * p
        op = operator(spec, tuple(prior.shape), seed=op_seed)
        obs = degrade(x_true[p], op, 0.05, seed=op_seed)
        for name in names:
            folder = root / f"s{seed}" / spec / name.replace("/", "+")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"p{p:03d}.pt"
            if target.exists():
                continue
            row = parse_row(name, spec)
            run_one(prior, (obs.y, op, x_true[p]), row, p, target, f"{spec} {name}")


if __name__ == "__main__":
    main()
