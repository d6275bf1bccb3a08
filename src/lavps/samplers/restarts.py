"""Restarts: redraw the samples that do not explain the observation (Morozov's discrepancy principle).

A posterior sample x should fit y about as well as the truth does: its discrepancy (`InverseProblem.
discrepancy`, the noise-normalised squared residual averaged over the measured entries) is about 1, and
on a problem with d_y = 4096 entries the truth's own value lies within 1 +- 0.02. On a multimodal
problem a short chain can end in a basin that does not explain y at all (phase retrieval: samples that
match no shifted or flipped copy of the digit sit at 1.17-1.28, good ones at 1.00-1.09 on the tuning
digits of results/nonlinear_restarts). Such a sample has a likelihood e^-400 times the others': the
posterior puts no mass there.

`Restarts(base, attempts, threshold)` draws every output with the base sampler as it would alone, then
redraws (with fresh per-sample seeds) only the outputs whose discrepancy exceeds `threshold`, up to
`attempts` times. An output keeps its first draw under the threshold, or, if none is, the draw of smallest
discrepancy. Accepted draws are left as the base sampler made them (no reweighting within a basin: the
rule only truncates the sampler's law to the draws that explain y), and the cost is paid only by the
outputs that fail: with a failure rate p, about 1 + p + p^2 ... base runs per output. (A per-sample operator, one
per output, cannot serve a subset of its rows: there each attempt redraws the whole batch and keeps the
failing outputs' draws, so every output pays.)

Per-sample independence: attempt j of output i is seeded derive_seed(s_i, RESTART_KEY, j), s_i = seed + i
(or the given per-sample seed), so an output's draws never depend on its batch-mates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from ..operators.noise import InverseProblem
from ..random import derive_seed
from .base import Sampler, SampleResult, output_seeds
from .cost import Cost

__all__ = ["Restarts", "RESTART_KEY"]

RESTART_KEY = 2**31 - 3


class Restarts(Sampler):
    """Redraw an output whose discrepancy exceeds `threshold`, up to `attempts` times (module docstring)."""

    def __init__(self, base: Sampler, attempts: int, threshold: float):
        if int(attempts) < 1:
            raise ValueError(f"restarts must be >= 1, got {attempts}")
        if not threshold > 0:
            raise ValueError(f"the discrepancy threshold must be > 0, got {threshold}")
        super().__init__(base.prior, base.dtype)
        self.base, self.attempts, self.threshold = base, int(attempts), float(threshold)
        self.name = f"{base.name}+restarts"
        self.label = base.label

    def sample(
        self,
        problem: InverseProblem | None,
        batch_size: int,
        seed: int | Sequence[int] = 0,
        per_sample_noise: bool = False,
        progress: bool = False,
        callback=None,
        noise_on_device: bool = False,
    ) -> SampleResult:
        """As `Sampler.sample`. The first draw is the base sampler's call with these arguments; redraws use
        per-sample seeds. info["restarts"]: redraws per output; info["discrepancy"]: the kept draws' values.
        The cost's pass counts are the mean per output over all its draws; seconds are the whole call's."""
        seeds = output_seeds(problem, batch_size, seed, "restarts")
        start = time.perf_counter()
        problem = problem.expand(batch_size)
        first = self.base.sample(problem, batch_size, seed, per_sample_noise, progress, callback, noise_on_device)
        samples = first.samples.clone()
        score = self._discrepancy(problem, samples)
        redraws = torch.zeros(batch_size, dtype=torch.long)
        totals = _scaled(first.cost, batch_size)
        # a per-sample operator cannot serve a subset of its rows: there every row is redrawn, the failing kept
        shared = getattr(problem.operator, "batch_size", None) is None
        for attempt in range(1, self.attempts + 1):
            failing = score.cpu() > self.threshold
            if not bool(failing.any()):
                break
            rows = torch.nonzero(failing if shared else torch.ones_like(failing)).flatten()
            sub = InverseProblem(problem.y[rows.to(problem.y.device)], problem.operator, problem.noise)
            again = self.base.sample(
                sub, len(rows), [derive_seed(seeds[i], RESTART_KEY, attempt) for i in rows.tolist()], True,
                progress, None, noise_on_device,
            )  # fmt: skip
            totals = [a + b for a, b in zip(totals, _scaled(again.cost, len(rows)), strict=True)]
            new_score = self._discrepancy(sub, again.samples)
            better = (new_score.cpu() < score.cpu()[rows]) & failing[rows]  # keep each failing output's best draw
            keep = rows[better]
            samples[keep.to(samples.device)] = again.samples[better.to(again.samples.device)]
            score[keep.to(score.device)] = new_score[better.to(new_score.device)]
            redraws[failing] += 1
        cost = Cost(
            seconds=time.perf_counter() - start,
            denoiser_forwards=round(totals[0] / batch_size),
            denoiser_backwards=round(totals[1] / batch_size),
            amortizer_forwards=round(totals[2] / batch_size),
            peak_memory_mb=first.cost.peak_memory_mb,
        )
        info = dict(first.info)
        info.update(restarts=redraws.tolist(), discrepancy=score.cpu().tolist())
        return SampleResult(samples=samples, cost=cost, info=info)

    @staticmethod
    def _discrepancy(problem: InverseProblem, samples: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return problem.discrepancy(samples).double()


def _scaled(cost: Cost, rows: int) -> list[float]:
    """A call's per-path pass counts times the rows it served (summed over calls, divided at the end)."""
    return [cost.denoiser_forwards * rows, cost.denoiser_backwards * rows, cost.amortizer_forwards * rows]
