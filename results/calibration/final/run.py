"""One (task, row) of the calibration table, problem by problem: each problem's K = 15 samples and seconds
are saved on their own (DIR/TASK/ROW/pNNN.pt), so rows can be extended to more problems and compared on
the same problems (table.py). Problem p: the same prior draw, operator, noise and sample seeds as
`lavps bench calibration` with --seed SEED (lavps.evaluation.calibration_bench).

    python run.py DIR TASK ROW FIRST LAST [SEED PRIOR_STEPS]      (problems FIRST..LAST-1)

SEED 0 / 1000 prior steps: the reported problems; tuning used SEED 500 / 250 steps (never reported).
"""

import os
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(1)
from lavps.api import degrade, load_prior, operator, restore  # noqa: E402
from lavps.evaluation.calibration_bench import PROBLEM_SEED_OFFSET, SAMPLE_STRIDE, prior_draws  # noqa: E402
from lavps.samplers.presets import tuned_options  # noqa: E402

K = 15
OLD = {"linear_variance": True, "temperature": 1.0}  # fastest before issue 18: the shrink at temperature 1


def rows(spec: str) -> dict:
    """row name -> (sampler, preset, settings)."""
    table = {
        "old": ("lavps", None, OLD),
        "default": ("lavps", None, {}),
        "fast": ("lavps", "fast", {}),
        "reference": ("lavps", "reference", {}),
        "ddrm": ("ddrm", "reference", tuned_options("ddrm", spec)),
        "ddrm-log": ("ddrm", "reference", {**tuned_options("ddrm", spec), "grid": "log_sigma"}),
        "diffpir": ("diffpir", "reference", tuned_options("diffpir", spec)),
        "mgdm": ("mgdm", "reference", {}),
        "dps": ("dps", "reference", {}),
    }
    return table


def parse_row(name: str, spec: str):
    """A named row, or PRESET/key=value/... (e.g. fastest/temperature=1.5/temperature_above=400)."""
    named = rows(spec)
    if name in named:
        return named[name]
    preset, *pairs = name.split("/")
    settings = {}
    for pair in pairs:
        key, value = pair.split("=")
        words = {"true": True, "false": False, "none": None}
        settings[key] = words[value] if value in words else _number(value)
    return "lavps", preset, settings


def _number(text: str):
    return int(text) if text.lstrip("-").isdigit() else float(text)


def truth(prior, count: int, steps: int, seed: int, root: Path) -> torch.Tensor:
    cache = root / f"truth_s{seed}_{steps}.pt"
    if cache.exists():
        saved = torch.load(cache)
        if len(saved["x"]) >= count:
            return saved["x"][:count]
    x = prior_draws(prior, count, steps, seed)
    torch.save({"steps": steps, "seed": seed, "x": x}, cache)
    return x


def run_one(prior, problem, row, p: int, target: Path, label: str) -> None:
    """K samples of problem p (y, operator, truth) by row (sampler, preset, settings), saved to target."""
    y, op, truth_p = problem
    sampler, preset, settings = row
    start = time.time()
    out = restore(
        y,
        op,
        0.05,
        prior=prior,
        sampler=sampler,
        samples=K,
        seed=SAMPLE_STRIDE * p + 1,
        preset=preset,
        settings=dict(settings),
    )
    wall = time.time() - start
    torch.save(
        {
            "samples": out.samples.float(),
            "truth": truth_p,
            "seconds": out.cost.seconds,
            "wall": wall,
            "load": os.getloadavg()[0],
            "ran": out.settings.get("auto", {}).get("ran"),
        },
        target,
    )
    print(label, p, f"{out.cost.seconds:.2f}s", flush=True)


def main() -> None:
    root, spec, name, first, last = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    steps = int(sys.argv[7]) if len(sys.argv) > 7 else 1000
    sampler, preset, settings = parse_row(name, spec)
    prior = load_prior()
    x_true = truth(prior, last, steps, seed, root)
    folder = root / f"s{seed}" / spec / name.replace("/", "+")
    folder.mkdir(parents=True, exist_ok=True)
    for p in range(first, last):
        target = folder / f"p{p:03d}.pt"
        if target.exists():
            continue
        op_seed = seed + PROBLEM_SEED_OFFSET + 2 * p
        op = operator(spec, tuple(prior.shape), seed=op_seed)
        obs = degrade(x_true[p], op, 0.05, seed=op_seed)
        run_one(prior, (obs.y, op, x_true[p]), (sampler, preset, settings), p, target, f"{spec} {name}")


if __name__ == "__main__":
    main()
