"""LAVPS: the amortizer, its training (amortized VI), checkpoints, the sampler and its baselines.

Tiny problems (d = 4, grid N = 12, window 5) so that the whole file runs in seconds on one CPU thread.
"""

import dataclasses
import math

import pytest
import torch

import lavps.amortize as am
import lavps.training as tr
from lavps.cli.main import main
from lavps.diffusion import Schedule
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import BridgePrior, bridge_prior, linearised_start
from lavps.operators import GaussianNoise, Identity, InverseProblem
from lavps.priors import grid_mixture
from lavps.priors.specs import prior_fingerprint
from lavps.random import make_noise
from lavps.samplers import DDIM, MGDM, Context, VISettings, WindowSchedule
from lavps.samplers.cost import CountingDenoiser
from lavps.samplers.lavps import LAVPS, WIN_KEY
from lavps.samplers.registry import build_sampler
from lavps.samplers.supervised import SupervisedDDIM

D = 4


def settings(inside: int) -> VISettings:
    """N = 12 (9 iterations), window 5: 2 Adam steps outside, `inside` inside."""
    return VISettings(steps=12, adam_steps=WindowSchedule(2, inside, 5), lr=WindowSchedule(0.03, 0.05, 5))


def tiny_config(tmp_path, **kw) -> tr.TrainConfig:
    base = dict(steps=6, batch_size=16, grid_steps=12, window=5, ckpt_every=3, out_dir=str(tmp_path / "run"))
    return tr.TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def gp():
    return make_gmm_problem(dim=D, obs_dim=1, seed=5)


def untrained(kind: str = "grad") -> am.MLPAmortizer:
    torch.manual_seed(0)
    return am.MLPAmortizer(D, hidden=16, depth=2, input_kind=kind, signal_scale=10.0)


# -- the network --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", am.INPUT_KINDS)
def test_amortizer_shapes_and_zero_init(gp, kind):
    net = untrained(kind)
    b = 3
    x_t, x0 = torch.randn(b, D), torch.randn(b, D)
    problem = gp.problem.expand(b)
    bridge = BridgePrior(torch.randn(b, D), torch.full((b, 1), -1.0))
    y_img = am.amortizer_inputs(kind, problem, x0, bridge=bridge, abar_tau=torch.tensor(0.9, dtype=torch.float64))
    sig_t, sig_tau = torch.full((b,), 0.5), torch.tensor([0.1, 0.2, 0.3])
    dmu, drho = net(x_t, x0, y_img, sig_t, sig_tau)
    assert dmu.shape == drho.shape == (b, D)
    assert torch.equal(dmu, torch.zeros(b, D)) and torch.equal(drho, torch.zeros(b, D))
    mu, rho = net.candidate(bridge, x_t, x0, y_img, sig_t, sig_tau)
    start = bridge.zero_shot_start()
    if kind == "linear":  # a residual around the linearised solution's mean, at the bridge's log s
        lin_mu, lin_rho = linearised_start(bridge, x0, torch.tensor(0.9, dtype=torch.float64), problem)
        start = (lin_mu, start[1])
        assert bool((lin_rho <= start[1]).all()) and bool((lin_rho < start[1]).any())  # shrunk where A observes
    assert all(torch.equal(u, v) for u, v in zip((mu, rho), start, strict=True))
    with pytest.raises(ValueError, match="input kind"):
        am.amortizer_inputs("adjoint", problem, x0)


def test_bridge_std_from_time_codes_matches_the_bridge():
    sch = Schedule.linear()
    t, tau = torch.tensor([50, 300, 900]), torch.tensor([10, 250, 1])
    s = am.network.bridge_std(am.time_code(sch, t, 3, torch.float64), am.time_code(sch, tau, 3, torch.float64))
    bp = bridge_prior(sch, torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64), tau, t)
    torch.testing.assert_close(s, bp.log_std.exp().reshape(3))


# -- zero-init equivalence with MGDM ---------------------------------------------------------------
@pytest.mark.parametrize("inner, final_tau", [(1, None), (3, None), (1, 30)])
def test_untrained_lavps_with_guard_equals_mgdm(gp, inner, final_tau):
    mgdm, vi = (dataclasses.replace(settings(i), final_tau=final_tau) for i in (inner, 20))
    ref = MGDM(gp.prior, mgdm).sample(gp.problem, 32, seed=7)
    out = LAVPS(gp.prior, untrained(), vi, guard=True, inner_steps=inner).sample(gp.problem, 32, seed=7)
    assert torch.equal(out.samples, ref.samples)
    # the guard costs two denoiser forwards and one amortizer forward per window iteration (final_tau: +1)
    window = 5 + (final_tau is not None)
    assert out.cost.amortizer_forwards == window
    assert out.cost.denoiser_forwards == ref.cost.denoiser_forwards + 2 * window
    assert out.cost.denoiser_backwards == ref.cost.denoiser_backwards
    assert out.info[WIN_KEY] == [0.0] * window  # ties go to the zero-shot start


@pytest.mark.parametrize("inner", [0, 2])
def test_untrained_lavps_without_guard_equals_mgdm(gp, inner):
    ref = MGDM(gp.prior, settings(inner)).sample(gp.problem, 16, seed=1, per_sample_noise=True)
    sampler = LAVPS(gp.prior, untrained(), settings(20), guard=False, inner_steps=inner)
    out = sampler.sample(gp.problem, 16, seed=1, per_sample_noise=True)
    assert torch.equal(out.samples, ref.samples)
    assert out.cost.denoiser_forwards == ref.cost.denoiser_forwards and WIN_KEY not in out.info
    assert (sampler.name == "amortized-only") == (inner == 0)


# -- the per-sample guard ----------------------------------------------------------------------
class _PointPrior:
    """D(x, t) = x: the data term is then exactly ||y - A x||^2 / (2 sigma^2)."""

    schedule = Schedule.linear()
    shape = (D,)

    def denoise(self, x_t, t):
        return x_t


class _SignedStub(am.Amortizer):
    """dmu = +y_img for sample 0 (towards y: better), -y_img for sample 1 (away from y: worse)."""

    arch = "test-stub"

    def __init__(self):
        super().__init__({"shape": [D], "input_kind": "pinv"})

    def forward(self, x_t, x0, y_img, sigma_t, sigma_tau):
        sign = torch.tensor([1.0, -1.0])[:, None]
        return sign * y_img, torch.zeros_like(y_img)


def test_guard_keeps_a_decision_per_sample():
    prior = _PointPrior()
    problem = InverseProblem(torch.ones(1, D), Identity((D,)), GaussianNoise(0.01)).expand(2)
    ctx = Context(problem, CountingDenoiser(prior), make_noise(0, 2), 2, (D,), torch.float32)
    s = 0.03
    bridge = BridgePrior(torch.zeros(2, D), torch.tensor(math.log(s)))
    sampler = LAVPS(prior, _SignedStub(), settings(3), guard=True, inner_steps=0)
    last = sampler.num_iterations - 1  # inside the window
    mu, rho = sampler.variational_step(ctx, bridge, torch.zeros(2, D), torch.zeros(2, D), 20, 30, last)
    torch.testing.assert_close(mu[0], torch.ones(D))  # network kept for sample 0
    torch.testing.assert_close(mu[1], torch.zeros(D))  # zero-shot kept for sample 1
    torch.testing.assert_close(rho, torch.full((2, D), math.log(s)))
    assert ctx.info[WIN_KEY] == [0.5]
    assert ctx.denoise.amortizer_forwards == 1 and ctx.denoise.forwards == 2


def test_fallback_budget_goes_to_the_samples_whose_network_lost():
    """fallback_steps: sample 1 (network rejected) takes Adam steps towards y, sample 0 keeps the network's."""
    prior = _PointPrior()
    problem = InverseProblem(torch.ones(1, D), Identity((D,)), GaussianNoise(0.01)).expand(2)
    ctx = Context(problem, CountingDenoiser(prior), make_noise(0, 2), 2, (D,), torch.float32)
    bridge = BridgePrior(torch.zeros(2, D), torch.tensor(math.log(0.03)))
    sampler = LAVPS(prior, _SignedStub(), settings(3), guard=True, inner_steps=0, fallback_steps=4)
    assert sampler.inner_cap(problem) == 4
    last = sampler.num_iterations - 1
    mu, _ = sampler.variational_step(ctx, bridge, torch.zeros(2, D), torch.zeros(2, D), 20, 30, last)
    torch.testing.assert_close(mu[0], torch.ones(D))  # the network won: no step
    assert bool((mu[1] > 0.05).all())  # the zero-shot start won: Adam moved it towards y = 1
    assert ctx.denoise.forwards == 2 + 4 and ctx.denoise.backwards == 4
    with pytest.raises(ValueError, match="fallback_steps needs the guard"):
        LAVPS(prior, _SignedStub(), settings(3), guard=False, inner_steps=0, fallback_steps=2)
    with pytest.raises(ValueError, match="inner_tol"):
        LAVPS(prior, _SignedStub(), settings(3), inner_tol=-0.1)


# -- training --------------------------------------------------------------------------------
def test_training_lowers_the_loss_ratio(tmp_path, gmm4_preset, gmm4_family):
    config = tiny_config(tmp_path, steps=150, batch_size=128, lr=3e-3, ckpt_every=1000)
    net_config = am.MLPAmortizer(D, 64, 2, "grad", tr.estimate_signal_scale(gmm4_preset)).config
    result = tr.train_amortizer(config, net_config, gmm4_preset, gmm4_family, progress=False)
    ratios = result.history["ratio"]
    assert len(ratios) == 150 and sum(ratios[-30:]) / 30 < 0.9
    with torch.no_grad():  # held-out batch, same z for both candidates inside amortized_loss
        _, metrics = tr.amortized_loss(
            result.network,
            torch.Generator().manual_seed(99),
            tiny_config(tmp_path, batch_size=2048),
            gmm4_preset,
            gmm4_family,
        )
    assert metrics["ratio"] < 0.9
    assert result.path.is_file() and result.path.with_suffix(".json").is_file()
    assert result.card["steps"] == 150 and result.card["prior"]["fingerprint"] == prior_fingerprint(gmm4_preset.prior)


def test_resume_reproduces_the_uninterrupted_run(tmp_path, gmm4_preset, gmm4_family):
    net_config = untrained().config
    full = tr.train_amortizer(tiny_config(tmp_path / "a"), net_config, gmm4_preset, gmm4_family, progress=False)
    tr.train_amortizer(tiny_config(tmp_path / "b", steps=3), net_config, gmm4_preset, gmm4_family, progress=False)
    resumed = tr.train_amortizer(
        tiny_config(tmp_path / "b"), net_config, gmm4_preset, gmm4_family, progress=False, resume=True
    )
    assert resumed.history == full.history and len(full.history["loss"]) == 6
    for k, v in full.network.state_dict().items():
        assert torch.equal(v, resumed.network.state_dict()[k]), k
    with pytest.raises(ValueError, match="exists"):
        tr.train_amortizer(tiny_config(tmp_path / "b"), net_config, gmm4_preset, gmm4_family, progress=False)
    with pytest.raises(ValueError, match="settings differ.*batch_size"):
        tr.train_amortizer(
            tiny_config(tmp_path / "b", batch_size=8), net_config, gmm4_preset, gmm4_family, progress=False, resume=True
        )


def test_fine_tuning_starts_from_the_parent_network(tmp_path, gmm4_preset, gmm4_family):
    """init_from: a run with a negligible learning rate ends (up to AdamW's decay) at the parent's weights."""
    net_config = untrained().config
    parent = tr.train_amortizer(
        tiny_config(tmp_path / "p", lr=3e-3), net_config, gmm4_preset, gmm4_family, progress=False
    )
    still = tiny_config(tmp_path / "c", steps=2, lr=1e-30, init_from=str(parent.path))
    child = tr.train_amortizer(still, net_config, gmm4_preset, gmm4_family, progress=False)
    for k, v in parent.network.state_dict().items():
        assert torch.allclose(v, child.network.state_dict()[k], atol=1e-6), k
    assert child.card["fine_tuned_from"]["steps"] == 6 and child.card["total_steps"] == 8
    other = am.MLPAmortizer(D, hidden=8, depth=2, input_kind="grad", signal_scale=10.0).config
    with pytest.raises(ValueError, match="init-from.*does not match"):
        tr.train_amortizer(tiny_config(tmp_path / "bad", init_from=str(parent.path)), other, gmm4_preset, gmm4_family)


# -- checkpoints ------------------------------------------------------------------------------
def test_checkpoints_round_trip_and_bad_files_are_rejected(tmp_path, gp):
    net = untrained()
    torch.nn.init.normal_(net.net[-1].weight)
    net.info = {"prior": {"spec": "gmm:4", "fingerprint": prior_fingerprint(gp.prior)}}
    path = am.save_amortizer(net, tmp_path / "a.safetensors")
    loaded = am.load_amortizer(path, prior=gp.prior)  # other weights, same family: accepted
    assert loaded.info == net.info and not loaded.training
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in net.state_dict().items())
    with pytest.raises(ValueError, match=r"a\.safetensors.*shape \(4,\).*\(6,\)"):
        am.load_amortizer(path, prior=grid_mixture(6, generator=torch.Generator().manual_seed(0)))
    other = grid_mixture(D, weights=torch.ones(25), spacing=4.0)
    with pytest.raises(ValueError, match="fingerprint"):
        am.load_amortizer(path, prior=other)
    with pytest.raises(ValueError, match="fingerprint"):
        LAVPS(other, loaded)
    with pytest.raises(ValueError, match="expected a 'lavps.supervised/1'"):
        am.load_supervised(path)
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a header at all")
    with pytest.raises(ValueError, match="corrupt.safetensors"):
        am.load_amortizer(bad)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        am.load_amortizer(tmp_path / "missing.safetensors")


# -- supervised baseline, registry and CLI ----------------------------------------------------------
def test_supervised_baseline_trains_and_samples(tmp_path, gmm4_preset, gmm4_family, gp):
    torch.manual_seed(0)
    zero = am.MLPConditionalDenoiser(D, 16, 2, "pinv", 10.0)
    ref = DDIM(gp.prior, steps=12).sample(None, 8, seed=2).samples
    assert torch.equal(SupervisedDDIM(gp.prior, zero, steps=12).sample(gp.problem, 8, seed=2).samples, ref)
    config = tiny_config(tmp_path, steps=40, batch_size=64, lr=3e-3, ckpt_every=20)
    result = tr.train_supervised(config, zero.config, gmm4_preset, gmm4_family, progress=False)
    assert all(math.isfinite(v) for v in result.history["loss"])
    sampler = build_sampler("supervised", gp.prior, {"supervised": str(result.path), "steps": 12})
    out = sampler.sample(gp.problem, 8, seed=2)
    assert out.samples.shape == (8, D) and torch.isfinite(out.samples).all()
    assert out.cost.amortizer_forwards == 11 and out.cost.denoiser_backwards == 0


def test_registry_builds_lavps_and_amortized_only(tmp_path, gp):
    net = untrained()
    path = am.save_amortizer(net, tmp_path / "a.safetensors")
    opts = {"steps": 12, "window": 5, "inner_steps": 1, "guard": False, "amortizer": str(path)}
    s = build_sampler("lavps", gp.prior, opts)
    assert isinstance(s, LAVPS) and not s.guard.enabled and s.inner_steps == 1
    only = build_sampler("amortized-only", gp.prior, {"amortizer": net})
    assert not only.guard.enabled and only.inner_steps == 0
    with pytest.raises(ValueError, match="'lavps' needs an amortizer"):
        build_sampler("lavps", gp.prior, {})
    with pytest.raises(ValueError, match=r"guard \(--guard\) must be true or false \(a bool\), got 'false'"):
        build_sampler("lavps", gp.prior, {**opts, "guard": "false"})  # never a "true" / "false" string


def test_cli_trains_an_amortizer_and_reports_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    args = [
        "train-amortizer",
        "--prior",
        f"gmm:{D}:fresh",
        "--iterations",
        "4",
        "--batch-size",
        "8",
        "--hidden",
        "8",
        "--depth",
        "1",
        "--steps",
        "12",
        "--window",
        "5",
        "--out",
        str(out),
        "--quiet",
    ]
    main(args)
    assert (out / "amortizer.safetensors").is_file() and "amortizer:" in capsys.readouterr().out
    assert am.load_amortizer(out / "amortizer.safetensors", prior=grid_mixture(D, weights=torch.ones(25)))
    with pytest.raises(SystemExit) as exc:
        main([*args[:-3], "--operator", "blur:3", "--out", str(tmp_path / "x"), "--quiet"])
    assert exc.value.code == 2 and "unknown operator family 'blur:3'" in capsys.readouterr().err
