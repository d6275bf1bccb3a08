"""Non-finite values are caught where they appear (lavps.finite): the prior's denoiser, an amortizer, an
external operator; the error names the component, the sampler and its step, and the samples hit."""

from __future__ import annotations

import pytest

from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.finite import NonFiniteError
from lavps.operators import GaussianNoise, InverseProblem
from lavps.operators.external import ExternalOperator
from lavps.samplers.registry import build_sampler


class NaNAfter:
    """The GMM prior whose denoiser turns sample 1 to nan from its k-th call on."""

    def __init__(self, prior, k: int):
        self.prior, self.k, self.calls = prior, k, 0
        self.shape, self.schedule = prior.shape, prior.schedule

    def denoise(self, x, t):
        self.calls += 1
        out = self.prior.denoise(x, t)
        if self.calls >= self.k:
            out = out.clone()
            out[1] = float("nan")
        return out


@pytest.mark.parametrize(
    "sampler,options", [("ddrm", {"steps": 5}), ("dps", {"dps_steps": 5}), ("mgdm", {"steps": 5, "window": 2})]
)
def test_a_nan_denoiser_is_named_with_the_sampler_its_step_and_the_sample(sampler, options):
    gp = make_gmm_problem(dim=4, obs_dim=2, seed=0)
    with pytest.raises(
        NonFiniteError, match=rf"^{sampler} at step \d+ of \d+: the prior's denoiser .* sample\(s\) 1 of 3"
    ):
        build_sampler(sampler, NaNAfter(gp.prior, 3), options).sample(gp.problem, 3, seed=0)
    build_sampler(sampler, NaNAfter(gp.prior, 10**9), options).sample(gp.problem, 3, seed=0)  # finite: runs


def test_a_nan_external_operator_is_named():
    gp = make_gmm_problem(dim=4, obs_dim=2, seed=0)
    A = gp.problem.operator
    broken = ExternalOperator(lambda x: A.forward(x) * float("nan"), A.adjoint, (4,), rtol=None, name="mine")
    problem = InverseProblem(gp.problem.y, broken, GaussianNoise(1.0))
    with pytest.raises(NonFiniteError, match="dps at step 1 of \\d+: external operator mine \\(forward\\)"):
        build_sampler("dps", gp.prior, {"dps_steps": 5}).sample(problem, 2, seed=0)
