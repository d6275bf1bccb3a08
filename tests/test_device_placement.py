"""CUDA readiness checked on the CPU: code that meets a signal on another device than the CPU.

The stand-in for a GPU is the `meta` device: like CUDA, combining a meta tensor with a (non-scalar) CPU tensor
raises, so an operation that works here on meta keeps every operand on the signal's device. Where meta cannot
go further (it holds no values), the test checks where the tensors are sent instead of what comes back.
"""

import pytest
import torch

from helpers import tiny_image_prior
from lavps.device import full_float32, resolve_device
from lavps.operators import ExternalOperator, GaussianNoise, InverseProblem, parse_operator_spec
from lavps.priors.latent import LatentMeasurement
from lavps.samplers.estimate import _timed_pass

META = torch.device("meta")
SHAPE = (1, 8, 8)


@pytest.mark.parametrize("spec", ["sr:2", "box:0.3:0.5", "gaussian_blur:3:1", "pixels:0.5", "denoise", "hdr:2"])
def test_measured_noise_follows_the_signal(spec):
    """y = A x + sigma n with n drawn on the CPU (every simulation in lavps) and x on a GPU: n moves to x."""
    op = parse_operator_spec(spec, SHAPE).sample_one(torch.Generator().manual_seed(0))
    x = torch.zeros(2, *SHAPE, device=META)
    noise = GaussianNoise(0.1)
    assert noise.measure(x, op, torch.randn(2, *op.out_shape)).device == META
    assert noise.observe(x, op, torch.Generator().manual_seed(1)).device == META


def test_measured_noise_on_the_cpu_is_unchanged():
    op = parse_operator_spec("box:0.3:0.5", SHAPE).sample_one(torch.Generator().manual_seed(0))
    x, n = torch.rand(2, *SHAPE), torch.randn(2, *SHAPE)
    assert torch.equal(GaussianNoise(0.1).measure(x, op, n), op.forward(x) + 0.1 * op.restrict(n))


@pytest.mark.parametrize("spec", ["sr:2", "hdr:2"])
def test_a_problem_built_on_the_cpu_scores_samples_on_another_device(spec):
    """Restarts score the samples (on the prior's device) against the caller's problem, whose y stays where it
    was read (the CPU): every InverseProblem method moves y to the samples."""
    op = parse_operator_spec(spec, SHAPE).sample_one(torch.Generator().manual_seed(0))
    problem = InverseProblem(torch.zeros(2, *op.out_shape), op, GaussianNoise(0.1))
    x = torch.zeros(2, *SHAPE, device=META)
    assert problem.discrepancy(x).device == META
    assert problem.log_likelihood(x).device == META
    assert problem.consistent_point(x).device == META
    assert problem.local_quadratic(x).gradient.device == META
    if op.is_linear:
        assert problem.likelihood_gradient(x).device == META


class _Seen(Exception):
    pass


@pytest.mark.parametrize("method", ["gram_diagonal", "as_matrix"])
@pytest.mark.parametrize("in_dim", [4, 5000])  # exact columns, then Hutchinson's probes
def test_external_operator_probes_run_on_the_callables_device(method, in_dim):
    """A user's operator on a GPU gets gram_diagonal's (LAVPS's linearised start) probes on its own device."""
    seen = []

    def forward(x):
        seen.append(x.device)
        raise _Seen

    op = ExternalOperator(forward, lambda y: y, (in_dim,), out_shape=(in_dim,), rtol=None, device=META)
    with pytest.raises(_Seen):
        getattr(op, method)()
    assert seen == [META]


def test_external_operator_gram_diagonal_on_the_cpu_is_exact():
    m = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    op = ExternalOperator(lambda x: x @ m.T, lambda y: y @ m, (4,))
    assert torch.allclose(op.gram_diagonal(), (m.double() ** 2).sum(0)[None], atol=1e-6)


def test_cuda_under_torchrun_is_the_ranks_own_gpu(monkeypatch):
    """N torchrun ranks on one machine share out its GPUs; an explicit cuda:N is kept; outside torchrun 'cuda'."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert resolve_device("cuda") == torch.device("cuda") == resolve_device("auto")
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert resolve_device("cuda") == torch.device("cuda", 0) == resolve_device("auto")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert resolve_device("cuda") == torch.device("cuda")


def test_timing_the_network_leaves_the_global_rng_alone():
    prior = tiny_image_prior(1, 8)
    state = torch.get_rng_state()
    _timed_pass(prior, 2, with_backward=True)
    assert torch.equal(torch.get_rng_state(), state)


def _tf32_flags():
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        return conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision
    return torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32


def test_full_float32_turns_tf32_off_and_restores_the_flags():
    before = _tf32_flags()
    with full_float32():
        assert _tf32_flags() in (("ieee", "ieee"), (False, False))
    assert _tf32_flags() == before


class _StubLatent:
    """What LatentMeasurement reads of a latent prior; decode records the TF32 flags it runs under."""

    image_shape, shape, autoencoder_kind = (1, 8, 8), (1, 4, 4), "AutoencoderKL"

    def __init__(self):
        self.flags = []

    def decode(self, z):
        self.flags.append(_tf32_flags())
        return torch.nn.functional.interpolate(z, scale_factor=2) ** 3


def test_latent_finite_difference_jvp_decodes_in_full_float32():
    """On an Ampere+ GPU cuDNN's default TF32 convolutions took the decoder's finite-difference JVP from 0.4% to
    18% relative error (ldm:mnist, sr:2, emulated on the CPU): both decodes of the difference run without it."""
    stub = _StubLatent()
    op = parse_operator_spec("sr:2", stub.image_shape).sample_one(torch.Generator().manual_seed(0))
    lin = LatentMeasurement(op, stub).linearize(torch.randn(2, *stub.shape))
    lin.jvp(torch.randn(2, *stub.shape))
    assert len(stub.flags) == 2 and all(f in (("ieee", "ieee"), (False, False)) for f in stub.flags)
