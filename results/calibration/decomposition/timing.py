"""Seconds of LAVPS's default against the decomposition's variants in ONE process, interleaved (same load):
per task, rows run in turn on the same problems, `REPEATS` rounds; median seconds per sample per row and its
ratio to the default's. Run on an otherwise idle machine, 1 torch thread.

    PYTHONPATH=src python results/calibration/decomposition/timing.py ROW [ROW ...] > timing.txt
"""

import os
import statistics
import sys
import time

import torch

torch.set_num_threads(1)
from rows import row_of  # noqa: E402

from lavps.api import load_prior, restore  # noqa: E402
from lavps.evaluation.calibration_bench import calibration_problems, prior_draws  # noqa: E402

PROBLEMS, SAMPLES, REPEATS = 4, 4, 3
rows = ["lavps", *sys.argv[1:]]
prior = load_prior()
truth = prior_draws(prior, PROBLEMS, 50, 700)
print(f"load before: {os.getloadavg()[0]:.2f}; {PROBLEMS} problems x {SAMPLES} samples, {REPEATS} rounds, 1 thread")
print("| task | row | s/sample (median of rounds) | x default |")
print("|---|---|---|---|")
for spec in ("sr:4", "box:0.3:0.5", "motion_blur:9:0.5"):
    problems = calibration_problems(truth, spec, 0.05, 700)
    times = {r: [] for r in rows}
    for _ in range(REPEATS):
        for r in rows:
            sampler, preset, settings, amortizer = row_of(r)
            start = time.perf_counter()
            for p, (op, obs) in enumerate(problems):
                restore(obs.y, op, 0.05, prior=prior, sampler=sampler, samples=SAMPLES, seed=1000 * p + 1,
                        preset=preset, settings=dict(settings), amortizer=amortizer)  # fmt: skip
            times[r].append((time.perf_counter() - start) / (PROBLEMS * SAMPLES))
    base = statistics.median(times["lavps"])
    for r in rows:
        m = statistics.median(times[r])
        print(f"| {spec} | {r} | {m:.3f} | {m / base:.2f} |", flush=True)
print(f"load after: {os.getloadavg()[0]:.2f}")
