"""The guard's candidates: batched CG, the Gaussian-linearised inner solution, reuse of the guard's
draw, and the family mixture used to train one amortizer for many operators."""

import math

import pytest
import torch

import lavps.amortize as am
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import BridgePrior, linearised_start, negative_elbo
from lavps.operators import DenseMatrix, GaussianNoise, InverseProblem, Mask
from lavps.operators.cg import conjugate_gradient
from lavps.operators.families import CoordinateMaskFamily, DenseFamily, FamilyMixture
from lavps.samplers import MGDM, VISettings, WindowSchedule
from lavps.samplers.lavps import LAVPS, WINS_KEY, GuardSettings
from lavps.training.problems import resolve_family

D = 6


def test_cg_solves_each_sample_and_ignores_batch_mates():
    g = torch.Generator().manual_seed(0)
    m = torch.randn(3, D, D, generator=g, dtype=torch.float64)
    spd = m @ m.transpose(1, 2) + 0.5 * torch.eye(D, dtype=torch.float64)
    b = torch.randn(3, D, generator=g, dtype=torch.float64)
    x = conjugate_gradient(lambda v: (spd @ v[..., None])[..., 0], b, iters=50, tol=1e-12)
    torch.testing.assert_close(x, torch.linalg.solve(spd, b))
    # sample 0 alone gives the same answer as inside the batch (per-sample steps and stopping)
    x0 = conjugate_gradient(lambda v: (spd[:1] @ v[..., None])[..., 0], b[:1], iters=4, tol=1e-12)
    xb = conjugate_gradient(lambda v: (spd @ v[..., None])[..., 0], b, iters=4, tol=1e-12)
    torch.testing.assert_close(x0, xb[:1], rtol=0, atol=1e-12)


def test_linearised_start_is_the_closed_form_quadratic_minimiser():
    """For D(x) = x0 + (x - m)/sqrt(a), the mean part of L_hat is quadratic; its minimiser is
    d = (I + c A^T A)^{-1} (s^2 / (sqrt(a) sigma^2)) A^T r0, checked against a dense solve."""
    g = torch.Generator().manual_seed(1)
    a, s, sigma = torch.tensor(0.7, dtype=torch.float64), 0.3, 0.2
    op = DenseMatrix(torch.randn(3, D, generator=g, dtype=torch.float64))
    x0 = torch.randn(2, D, generator=g, dtype=torch.float64)
    y = torch.randn(2, 3, generator=g, dtype=torch.float64)
    problem = InverseProblem(y, op, GaussianNoise(sigma))
    bridge = BridgePrior(
        torch.randn(2, D, generator=g, dtype=torch.float64), torch.tensor(math.log(s), dtype=torch.float64)
    )
    mu, rho = linearised_start(bridge, x0, a, problem, iters=50)
    mat = op.matrix
    c = s**2 / (a * sigma**2)
    lhs = torch.eye(D, dtype=torch.float64) + c * mat.T @ mat
    rhs = (s**2 / (a.sqrt() * sigma**2)) * (y - x0 @ mat.T) @ mat
    torch.testing.assert_close(mu - bridge.mean, torch.linalg.solve(lhs, rhs.T).T)
    # the best diagonal Gaussian for the precision lhs / s^2 has variance s^2 / diag(lhs)
    torch.testing.assert_close(rho, (math.log(s) - 0.5 * torch.diagonal(lhs).log()).expand(2, D))
    # unobserved coordinates of a mask neither move nor shrink
    mask = Mask(torch.tensor([1.0, 0, 1, 0, 0, 1], dtype=torch.float64), (D,))
    problem = InverseProblem(mask.forward(y.new_ones(2, D)), mask, GaussianNoise(sigma))
    mu, rho = linearised_start(bridge, x0, a, problem)
    hidden = mask.mask == 0
    assert torch.equal((mu - bridge.mean)[:, hidden], torch.zeros(2, 3, dtype=torch.float64))
    assert torch.equal(rho[:, hidden], torch.full((2, 3), math.log(s), dtype=torch.float64))
    torch.testing.assert_close(
        rho[:, ~hidden], torch.full((2, 3), math.log(s) - 0.5 * math.log1p(float(c)), dtype=torch.float64)
    )


def _settings():
    return VISettings(steps=12, adam_steps=WindowSchedule(2, 0, 5), lr=WindowSchedule(0.05, 0.05, 5))


def test_three_candidates_with_reuse_cost_and_batch_independence():
    gp = make_gmm_problem(dim=D, obs_dim=2, seed=3)
    net = am.MLPAmortizer(D, 16, 2, "grad", 10.0)
    guard = GuardSettings(candidates=("network", "zero_shot", "linear"), reuse_draw=True)
    sampler = LAVPS(gp.prior, net, _settings(), guard=guard, inner_steps=0)
    seeds = [11, 12, 13, 14]
    out = sampler.sample(gp.problem, 4, seed=seeds)
    ref = MGDM(gp.prior, _settings()).sample(gp.problem, 4, seed=seeds)
    # each window iteration: 3 scored candidates, and the winner's D(x) replaces the denoising forward
    assert out.cost.denoiser_forwards == ref.cost.denoiser_forwards + (3 - 1) * 5
    assert out.cost.amortizer_forwards == 5 and out.cost.denoiser_backwards == ref.cost.denoiser_backwards
    wins = out.info[WINS_KEY]
    assert set(wins) == {"zero_shot", "linear", "network"} and all(len(v) == 5 for v in wins.values())
    assert all(abs(sum(w[i] for w in wins.values()) - 1) < 1e-6 for i in range(5))
    assert sum(wins["network"]) == 0  # an untrained network ties with the zero-shot start, which wins ties
    alone = sampler.sample(gp.problem, 1, seed=seeds[2:3])
    mates = sampler.sample(gp.problem, 4, seed=[99, 98, seeds[2], 97])
    assert torch.equal(mates.samples[2], out.samples[2])  # same batch size: bit-identical
    # another batch size may round differently in BLAS (gemv vs gemm blocking differs by CPU): float32 ulps only
    torch.testing.assert_close(alone.samples[0], out.samples[2], rtol=1e-5, atol=1e-5)


def test_linear_candidate_lowers_the_inner_loss_on_average():
    """On a well-posed problem near the data the linearised move beats the zero-shot start."""
    gp = make_gmm_problem(dim=D, obs_dim=4, seed=4)
    problem = gp.problem.expand(256)
    g = torch.Generator().manual_seed(0)
    sch = gp.prior.schedule
    tau, t = 20, 40
    x = gp.prior.sample(256, g)
    x_t = sch.abar(t).sqrt().float() * x + (1 - sch.abar(t)).sqrt().float() * torch.randn(x.shape, generator=g)
    x0 = gp.prior.denoise(x_t, t)
    from lavps.objective import bridge_prior

    bridge = bridge_prior(sch, x0, x_t, tau, t)
    z = torch.randn(x.shape, generator=g)
    l_zs = negative_elbo(*bridge.zero_shot_start(), z, bridge, tau, gp.prior.denoise, problem).mean()
    l_lin = negative_elbo(
        *linearised_start(bridge, x0, sch.abar(tau), problem), z, bridge, tau, gp.prior.denoise, problem
    )
    assert l_lin.mean() < l_zs


def test_guard_settings_validation():
    with pytest.raises(ValueError, match="candidates"):
        GuardSettings(candidates=("zero_shot",))
    with pytest.raises(ValueError, match="candidates"):
        GuardSettings(candidates=("network", "oracle"))
    assert GuardSettings(candidates=("linear", "network")).candidates == ("linear", "network")


def test_family_mixture_draws_every_member_deterministically():
    fam = FamilyMixture((DenseFamily(D, 2), CoordinateMaskFamily(D, 3)))
    kinds = [type(fam.sample(2, torch.Generator().manual_seed(s))).__name__ for s in range(20)]
    assert set(kinds) == {"DenseMatrix", "Mask"}
    a = fam.sample(2, torch.Generator().manual_seed(7))
    b = fam.sample(2, torch.Generator().manual_seed(7))
    assert type(a) is type(b) and torch.equal(a.forward(torch.ones(2, D)), b.forward(torch.ones(2, D)))
    assert (
        resolve_family("dense:1, mask:2", (D,)).name
        == fam.__class__((DenseFamily(D, 1, 1.0), CoordinateMaskFamily(D, 2))).name
    )


def test_linear_variance_puts_the_linearised_shrink_on_the_network_proposal():
    """With linear_variance, an untrained 'linear' network proposes exactly the linearised candidate (mean
    and mean-field variance); without it, the same mean at the bridge's log s. Masked coordinates keep s."""
    from types import SimpleNamespace

    from lavps.objective import bridge_prior

    gp = make_gmm_problem(dim=D, obs_dim=2, seed=5)
    mask = Mask(torch.tensor([1.0, 0, 1, 1, 0, 1]), (D,))
    g = torch.Generator().manual_seed(1)
    x = gp.prior.sample(3, g)
    problem = InverseProblem(
        mask.forward(x) + 0.1 * mask.forward(torch.randn(x.shape, generator=g)), mask, GaussianNoise(0.1)
    )
    net = am.MLPAmortizer(D, 16, 2, "linear", 10.0)
    sch = gp.prior.schedule
    tau, t = 30, 60
    x_t = sch.abar(t).sqrt().float() * x + (1 - sch.abar(t)).sqrt().float() * torch.randn(x.shape, generator=g)
    x0 = gp.prior.denoise(x_t, t)
    bridge = bridge_prior(sch, x0, x_t, tau, t)
    ctx = SimpleNamespace(problem=problem, denoise=SimpleNamespace(amortizer_forwards=0))
    guard = GuardSettings(candidates=("network", "linear"))
    shrunk = LAVPS(gp.prior, net, _settings(), guard=guard, linear_variance=True).candidates(
        ctx, bridge, x_t, x0, tau, t
    )
    plain = LAVPS(gp.prior, net, _settings(), guard=guard).candidates(ctx, bridge, x_t, x0, tau, t)
    torch.testing.assert_close(shrunk["network"][0], shrunk["linear"][0])
    torch.testing.assert_close(shrunk["network"][1], shrunk["linear"][1])
    torch.testing.assert_close(plain["network"][0], shrunk["linear"][0])
    torch.testing.assert_close(plain["network"][1], bridge.log_std.expand(3, D))
    hidden = mask.mask == 0
    torch.testing.assert_close(shrunk["network"][1][:, hidden], bridge.log_std.expand(3, D)[:, hidden])
    assert bool((shrunk["network"][1][:, ~hidden] < bridge.log_std.expand(3, D)[:, ~hidden]).all())
    assert ctx.denoise.amortizer_forwards == 2


def _random_network() -> am.MLPAmortizer:
    """A non-trivial (not zero-output) 'linear' amortizer with seeded weights."""
    torch.manual_seed(0)
    net = am.MLPAmortizer(D, 16, 2, "linear", 10.0)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return net


def test_linear_variance_sampler_is_batch_independent():
    gp = make_gmm_problem(dim=D, obs_dim=2, seed=6)
    net = _random_network()
    sampler = LAVPS(gp.prior, net, _settings(), guard=False, inner_steps=0, linear_variance=True)
    out = sampler.sample(gp.problem, 3, seed=[5, 6, 7]).samples
    alone = sampler.sample(gp.problem, 1, seed=[6]).samples
    assert torch.isfinite(out).all()
    torch.testing.assert_close(alone[0], out[1], rtol=1e-5, atol=1e-5)  # batch sizes 1 vs 3: BLAS rounding only
    mates = sampler.sample(gp.problem, 3, seed=[9, 6, 8]).samples
    assert torch.equal(mates[1], out[1])  # same batch size, other batch-mates: bit-identical


def test_adaptive_budget_sampler_is_batch_independent():
    """fallback_steps + inner_tol: each sample's Adam budget follows its own guard and loss only."""
    gp = make_gmm_problem(dim=D, obs_dim=2, seed=6)
    net = _random_network()
    guard = GuardSettings(candidates=("network", "zero_shot"))
    sampler = LAVPS(gp.prior, net, _settings(), guard=guard, inner_steps=1, fallback_steps=4, inner_tol=0.01)
    out = sampler.sample(gp.problem, 4, seed=[5, 6, 7, 8])
    alone = sampler.sample(gp.problem, 1, seed=[7]).samples
    assert torch.isfinite(out.samples).all()
    torch.testing.assert_close(alone[0], out.samples[2], atol=1e-5, rtol=0)
    wins = out.info[WINS_KEY]["network"]
    assert 0 < sum(wins) < len(wins)  # both kinds of samples occurred, so both budgets were exercised


def test_linear_below_replaces_the_network_near_the_data():
    from types import SimpleNamespace

    from lavps.objective import bridge_prior

    gp = make_gmm_problem(dim=D, obs_dim=2, seed=7)
    net = _random_network()
    seeds = [1, 2, 3]
    settings = _settings()
    top = int(MGDM(gp.prior, settings).grid.max()) + 1
    # below every tau: no amortizer forward, and the network's proposal is the linearised solution
    never = LAVPS(gp.prior, net, settings, guard=False, inner_steps=0, linear_below=top).sample(
        gp.problem, 3, seed=seeds
    )
    assert never.cost.amortizer_forwards == 0
    near = LAVPS(gp.prior, net, settings, guard=False, linear_below=top)
    far = LAVPS(gp.prior, net, settings, guard=False)  # linear_below 0: the network everywhere
    sch, tau, t = gp.prior.schedule, 30, 60
    x_t = gp.prior.sample(3, torch.Generator().manual_seed(2))
    x0 = gp.prior.denoise(x_t, t)
    bridge = bridge_prior(sch, x0, x_t, tau, t)
    problem = gp.problem.expand(3)
    ctx = SimpleNamespace(problem=problem, denoise=SimpleNamespace(amortizer_forwards=0))
    mu, rho = near.candidates(ctx, bridge, x_t, x0, tau, t)["network"]
    exact_mu, exact_rho = linearised_start(bridge, x0, sch.abar(tau), problem)
    torch.testing.assert_close(mu, exact_mu)
    torch.testing.assert_close(rho, exact_rho)
    assert ctx.denoise.amortizer_forwards == 0
    above = far.candidates(ctx, bridge, x_t, x0, tau, t)["network"]  # tau above linear_below: the network's own
    assert ctx.denoise.amortizer_forwards == 1 and not torch.allclose(above[0], exact_mu)
    guard = GuardSettings(candidates=("network", "linear"), reuse_draw=True)
    guarded = LAVPS(gp.prior, net, settings, guard=guard, inner_steps=0, linear_below=top).sample(
        gp.problem, 3, seed=seeds
    )
    full = LAVPS(gp.prior, net, settings, guard=guard, inner_steps=0).sample(gp.problem, 3, seed=seeds)
    assert guarded.cost.amortizer_forwards == 0 and sum(guarded.info[WINS_KEY]["network"]) == 0
    assert all(len(v) == 5 for v in guarded.info[WINS_KEY].values())
    # the linear start is scored once instead of twice: one denoiser forward less per window iteration
    assert guarded.cost.denoiser_forwards == full.cost.denoiser_forwards - 5
    with pytest.raises(ValueError, match="linear_below"):
        LAVPS(gp.prior, net, settings, linear_below=-1)
