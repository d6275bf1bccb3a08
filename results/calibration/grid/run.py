"""Several LAVPS rows on the same problems IN ONE PROCESS, problem by problem (rows interleaved), so their
seconds are comparable as per-problem ratios. Each (problem, row) is saved as DIR/sSEED/TASK/ROW/pNNN.pt
(the layout of ../final/run.py and table.py). Problem p: the prior draw, operator, noise and sample seeds
of `lavps bench calibration` with --seed SEED.

    python run.py DIR TASK ROW[,ROW..] FIRST LAST [SEED PRIOR_STEPS]

ROW: a name of ../final/run.py (old, default, fast, reference, ...) or PRESET/key=value/... (fastest/steps=30);
key `grid_power` = p (tuning only, not a sampler setting): the grid T_i = floor((K - 1) (i / (N - 1))^p) in place
of the uniform one (p > 1: more points at low noise), patched into lavps.samplers.mgdm for that row.
SEED 0 / 1000 prior steps: the reported problems; tuning: SEED 500 / 250 steps (never reported).
"""
import importlib.util
import os
import sys
import time
from pathlib import Path

import torch

import lavps.samplers.mgdm as mgdm_module

torch.set_num_threads(1)
_spec = importlib.util.spec_from_file_location("final_run", Path(__file__).resolve().parent.parent / "final" / "run.py")
final_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(final_run)
parse_row, truth = final_run.parse_row, final_run.truth

from lavps.api import degrade, load_prior, operator, restore  # noqa: E402
from lavps.evaluation.calibration_bench import PROBLEM_SEED_OFFSET, SAMPLE_STRIDE  # noqa: E402

K = 15
UNIFORM = mgdm_module.uniform_grid


def power_grid(power: float):
    """floor((K - 1) (i / (N - 1))^power), pushed apart to stay strictly increasing (power 1: uniform)."""

    def grid(num_points: int, num_steps: int = 1000) -> torch.Tensor:
        u = torch.linspace(0, 1, num_points, dtype=torch.float64) ** power
        g = torch.floor(u * (num_steps - 1)).long()
        for i in range(1, num_points):
            g[i] = max(int(g[i]), int(g[i - 1]) + 1)
        return g

    return grid


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
            sampler, preset, settings = parse_row(name, spec)
            power = settings.pop("grid_power", None)
            mgdm_module.uniform_grid = UNIFORM if power is None else power_grid(float(power))
            start = time.time()
            out = restore(obs.y, op, 0.05, prior=prior, sampler=sampler, samples=K, seed=SAMPLE_STRIDE * p + 1,
                          preset=preset, settings=dict(settings))
            wall = time.time() - start
            torch.save({"samples": out.samples.float(), "truth": x_true[p], "seconds": out.cost.seconds, "wall": wall,
                        "load": os.getloadavg()[0], "ran": out.settings.get("auto", {}).get("ran")}, target)
            print(spec, name, p, f"{out.cost.seconds:.2f}s", flush=True)


if __name__ == "__main__":
    main()
