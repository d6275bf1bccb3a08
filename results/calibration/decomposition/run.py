"""Where MGDM-reference's lead over LAVPS's default comes from (issue 18): the grid or the inner solve.

Tuning problems only (prior draws from seed 500, 250-step ancestral DDIM), K samples each, rows paired on the
same problems, observations and sample seeds. Scores: energy score (strictly proper), one-sample PSNR, spread.

    PYTHONPATH=src python results/calibration/decomposition/run.py TASK PROBLEMS K ROW [ROW ...] >> rows.jsonl
ROW: a name of rows.py (ROWS, or ft10k:DRAW:T).
"""

import json
import os
import sys
import time

import torch

torch.set_num_threads(1)
from rows import PRIOR_STEPS, SEED, SIGMA, row_of  # noqa: E402

from lavps.api import load_prior, restore  # noqa: E402
from lavps.evaluation.calibration import energy_score, spread_ratio  # noqa: E402
from lavps.evaluation.calibration_bench import SAMPLE_STRIDE, calibration_problems, prior_draws  # noqa: E402
from lavps.metrics import psnr  # noqa: E402


def inner_steps_only(side: str, threshold: float) -> None:
    """Monkeypatch (no library setting): LAVPS's Adam steps after the network only at window iterations with
    tau above (`above`) or below (`below`) the threshold; the others keep the network's proposal alone."""
    from lavps.samplers.lavps import LAVPS

    plain = LAVPS.variational_step

    def step(self, ctx, bridge, x_t, x0, tau, t, index):
        high = float(torch.as_tensor(tau).max()) >= threshold
        keep, self.inner_steps = self.inner_steps, self.inner_steps if high == (side == "above") else 0
        try:
            return plain(self, ctx, bridge, x_t, x0, tau, t, index)
        finally:
            self.inner_steps = keep

    LAVPS.variational_step = step


if os.environ.get("INNER_ONLY"):  # e.g. INNER_ONLY=above:420
    side, threshold = os.environ["INNER_ONLY"].split(":")
    inner_steps_only(side, float(threshold))
spec, n, k, wanted = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
suffix = f" [{os.environ['INNER_ONLY']}]" if os.environ.get("INNER_ONLY") else ""
cache = f"/work/scratch/decomp_truth_{n}.pt"
prior = load_prior()
if os.path.exists(cache):
    truth = torch.load(cache)
else:
    truth = prior_draws(prior, n, PRIOR_STEPS, SEED)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    torch.save(truth, cache)
problems = calibration_problems(truth, spec, SIGMA, SEED)
for name in wanted:
    sampler, preset, settings, amortizer = row_of(name)
    samples, seconds, forwards, backwards = [], [], 0, 0
    for p, (op, obs) in enumerate(problems):
        start = time.perf_counter()
        res = restore(obs.y, op, SIGMA, prior=prior, sampler=sampler, samples=k, seed=SAMPLE_STRIDE * p + 1,
                      preset=preset, settings=dict(settings), amortizer=amortizer)  # fmt: skip
        seconds.append(time.perf_counter() - start)
        samples.append(res.samples.float().cpu())
        forwards, backwards = forwards + res.cost.denoiser_forwards, backwards + res.cost.denoiser_backwards
    samples = torch.stack(samples)
    es = energy_score(samples, truth)
    one = [psnr(samples[p, i : i + 1], truth[p : p + 1]).item() for p in range(n) for i in range(k)]
    print(json.dumps(dict(
        operator=spec, row=name + suffix, problems=n, samples=k, energy=es.tolist(),
        psnr_each=one, spread=spread_ratio(samples, truth),
        seconds_per_sample=sum(seconds) / (n * k), load=os.getloadavg()[0],
        forwards_per_path=forwards / n, backwards_per_path=backwards / n,  # Cost counts per sample path
    )), flush=True)  # fmt: skip
