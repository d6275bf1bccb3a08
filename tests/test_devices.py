"""Device and precision of the prior's network: device resolution and its errors, fp32 determinism on an
explicit device, bf16 within a stated tolerance of fp32 (Gaussian mixture and the shipped MNIST prior)."""

import json

import pytest
import torch

from helpers import tiny_image_prior
from lavps.amortize.unet import UNetAmortizer
from lavps.data.mnist import mnist_split
from lavps.device import precision_dtype, prior_device, resolve_device
from lavps.imaging.io import write_image
from lavps.metrics import sliced_wasserstein
from lavps.operators import DenseMatrix, GaussianNoise, InverseProblem, parse_operator_spec
from lavps.priors import grid_mixture
from lavps.priors.image_unet import load_image_prior, save_image_prior
from lavps.priors.placement import QuantizedPrior, place_prior
from lavps.samplers.lavps import LAVPS
from lavps.samplers.registry import build_sampler

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")


def _tiny_prior():
    return tiny_image_prior(1, 8)


def test_resolve_device_and_precision():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="unknown device 'tpu'; allowed: auto, cpu, cuda, cuda:N, mps"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="expected cuda:N"):
        resolve_device("cuda:x")
    assert precision_dtype("bf16") is torch.bfloat16 and precision_dtype("FP32") is torch.float32
    with pytest.raises(ValueError, match="unknown precision 'fp8'; allowed: fp32, bf16, fp16"):
        precision_dtype("fp8")


@NO_CUDA
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error(spec):
    with pytest.raises(ValueError, match=f"device '{spec}' is not available.*use --device cpu or auto"):
        resolve_device(spec)


@NO_CUDA
def test_cli_device_cuda_without_cuda_is_one_line(tmp_path, _cli):
    obs = write_image(torch.zeros(1, 32, 32), tmp_path / "obs.png")
    p = _cli("restore", obs, "--operator", "denoise", "--sigma", "0.1", "--device", "cuda", "--out", tmp_path / "o")
    assert p.returncode != 0 and p.stderr.startswith("error: device 'cuda' is not available")
    assert p.stderr.count("\n") == 1 and not (tmp_path / "o").exists()


def test_place_prior_casts_only_the_network():
    prior = place_prior(_tiny_prior(), "cpu", "bf16")
    assert all(p.dtype == torch.bfloat16 for p in prior.parameters())
    assert prior.schedule.alphas_cumprod.dtype == torch.float64 and prior_device(prior) == torch.device("cpu")
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert prior.denoise(x, 500).dtype == torch.float32  # eps back in fp32, Tweedie in fp32
    gmm = grid_mixture(4, generator=torch.Generator().manual_seed(0))
    assert place_prior(gmm, "cpu", "fp32") is gmm
    wrapped = place_prior(gmm, "cpu", "bf16")
    assert isinstance(wrapped, QuantizedPrior) and wrapped.shape == (4,) and wrapped.dim == 4
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            place_prior(gmm, "cuda", "fp32")


@pytest.mark.parametrize("sampler", ["dps", "mgdm", "lavps"])
def test_same_seed_same_device_is_identical_at_fp32(sampler):
    prior = place_prior(_tiny_prior(), "cpu", "fp32")
    op = parse_operator_spec("box:0.3:0.5", prior.shape).sample_one(torch.Generator().manual_seed(0))
    y = GaussianNoise(0.1).measure(torch.zeros(1, 1, 8, 8), op, torch.randn(1, 1, 8, 8))
    problem = InverseProblem(y, op, GaussianNoise(0.1))
    vi = {"steps": 6, "lr": 0.03, "adam_out": 1, "window": 2}
    options = {"dps": {"steps": 6, "dps_zeta": 1.0}, "mgdm": {**vi, "adam_in": 2}, "lavps": vi}[sampler]
    if sampler == "lavps":
        options["amortizer"] = UNetAmortizer((1, 8, 8), channels=(8, 8), input_kind="grad")
    runs = [build_sampler(sampler, prior, options).sample(problem, 2, seed=[5, 6]) for _ in range(2)]
    assert torch.equal(runs[0].samples, runs[1].samples)
    assert runs[0].samples.device == torch.device("cpu") and runs[0].cost.peak_memory_mb is None
    if sampler == "lavps":
        assert isinstance(build_sampler(sampler, prior, options), LAVPS)


def _gmm_problem():
    g = torch.Generator().manual_seed(0)
    gmm = grid_mixture(8, generator=g)
    a = DenseMatrix(torch.randn(2, 8, generator=g))
    y = GaussianNoise(1.0).measure(gmm.sample(1, g).float(), a, torch.randn(1, 2, generator=g))
    return gmm, InverseProblem(y, a, GaussianNoise(1.0))


@pytest.mark.parametrize("sampler", ["mgdm", "dps"])
def test_bf16_gmm_within_tolerance_of_fp32(sampler):
    """Stated tolerance: SW(fp32, bf16; same seeds) <= 0.15 and below half of SW(fp32; other seeds)."""
    gmm, problem = _gmm_problem()
    options = {"mgdm": {"steps": 20, "adam_out": 2, "adam_in": 4, "window": 5}, "dps": {"steps": 50}}[sampler]
    n = 256

    def run(prior, first_seed):
        return build_sampler(sampler, prior, options).sample(problem, n, seed=range(first_seed, first_seed + n))

    fp32, other_seeds = run(gmm, 0).samples, run(gmm, 1000).samples
    bf16 = run(place_prior(gmm, "cpu", "bf16"), 0).samples
    assert not torch.equal(fp32, bf16)  # the precision really changed something
    sw_precision, sw_seeds = sliced_wasserstein(fp32, bf16), sliced_wasserstein(fp32, other_seeds)
    assert sw_precision <= 0.15 and sw_precision < 0.5 * sw_seeds


def test_bf16_mnist_prior_within_tolerance_of_fp32():
    """Stated tolerance: RMS(fp32 - bf16) <= 0.05 on images in [-1, 1] (MGDM, N = 10, same seeds)."""
    clean = mnist_split("test")[0][:1]
    op = parse_operator_spec("gaussian_blur:5:1.0", (1, 32, 32)).sample_one(torch.Generator().manual_seed(0))
    y = GaussianNoise(0.05).measure(clean, op, torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(1)))
    problem = InverseProblem(y, op, GaussianNoise(0.05))
    options = {"steps": 10, "lr": 0.03, "adam_out": 1, "adam_in": 2, "window": 3}
    out = {}
    for precision in ("fp32", "bf16"):
        prior = place_prior(load_image_prior(), "cpu", precision)
        out[precision] = build_sampler("mgdm", prior, options).sample(problem, 2, seed=[0, 1]).samples
    diff = out["fp32"] - out["bf16"]
    assert diff.abs().max() > 0
    assert diff.pow(2).mean().sqrt() <= 0.05


def test_cli_restore_bf16_records_precision(tmp_path, _cli):
    prior_file = tmp_path / "tiny.safetensors"
    save_image_prior(_tiny_prior(), prior_file, {"note": "tiny"})
    obs = write_image(torch.zeros(1, 8, 8), tmp_path / "obs.png")
    args = [
        "--operator",
        "denoise",
        "--sigma",
        "0.1",
        "--prior",
        prior_file,
        "--steps",
        "5",
        "--quiet",
        "--sampler",
        "mgdm",
    ]
    r = _cli("restore", obs, *args, "--adam-out", "1", "--adam-in", "1", "--precision", "bf16", "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "o" / "restore.json").read_text())
    assert meta["precision"] == "bf16" and meta["device"] == "cpu"


def test_noise_on_device_is_the_cpu_stream_on_the_cpu_and_batch_independent():
    from lavps.random import make_noise

    a = make_noise([3, 4, 5], 3, on_device=True).randn((3, 2, 4), torch.float32, "cpu")
    b = make_noise([3, 4, 5], 3).randn((3, 2, 4), torch.float32, "cpu")
    c = make_noise([4], 1, on_device=True).randn((1, 2, 4), torch.float32, "cpu")
    assert torch.equal(a, b) and torch.equal(a[1:2], c)


def test_placed_prior_keeps_its_fingerprint_so_trained_amortizers_fit():
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.amortize.defaults import default_amortizer_path
    from lavps.amortize.network import check_compatible
    from lavps.priors.specs import prior_fingerprint

    reference = prior_fingerprint(load_image_prior())
    placed = place_prior(load_image_prior(), "cpu", "bf16")
    assert prior_fingerprint(placed) == reference
    check_compatible(load_amortizer(default_amortizer_path(), prior=placed), placed)  # raises if refused
    gmm = grid_mixture(8, generator=torch.Generator().manual_seed(0))
    assert prior_fingerprint(place_prior(gmm, "cpu", "bf16")) == prior_fingerprint(gmm)


def test_api_restore_device_precision_and_fit(tmp_path):
    import lavps

    prior = _tiny_prior()
    y = torch.zeros(1, 8, 8)
    run = dict(prior=prior, sampler="mgdm", preset="tiny", samples=2, seed=3)
    a = lavps.restore(y, "denoise", 0.1, run=lavps.RunOptions(device="cpu", precision="fp32"), **run)
    with pytest.warns(DeprecationWarning, match="run=lavps.RunOptions"):  # the keywords of earlier releases
        b = lavps.restore(y, "denoise", 0.1, device="cpu", **run)
    assert torch.equal(a.samples, b.samples)
    with pytest.raises(TypeError, match="unexpected keyword argument.*devise"):
        lavps.restore(y, "denoise", 0.1, devise="cpu", **run)
    half = lavps.restore(y, "denoise", 0.1, run=lavps.RunOptions(precision="bf16"), **run)
    assert half.settings["precision"] == "bf16" and half.settings["device"] == "cpu"
    assert all(p.dtype == torch.float32 for p in prior.parameters())  # the caller's prior is not modified
    assert 0 < (half.samples - a.samples).norm() / a.samples.norm() < 0.05  # an untrained net: relative
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' is not available"):
            lavps.restore(y, "denoise", 0.1, run=lavps.RunOptions(device="cuda"), **run)
    big = write_image(torch.zeros(1, 12, 10), tmp_path / "big.png")
    with pytest.raises(ValueError, match=r"1x12x10 .* the operator denoise observes 1x8x8"):
        lavps.restore(big, "denoise", 0.1, **run)
    assert lavps.restore(big, "denoise", 0.1, run=lavps.RunOptions(fit="resize"), **run).samples.shape == (2, 1, 8, 8)
    obs = lavps.degrade(big, lavps.operator("sr:2", (1, 8, 8)), 0.1, fit="crop")
    assert obs.y.shape == (1, 1, 4, 4)


def test_bf16_placement_of_a_ve_denoiser_prior():
    from lavps.priors.edm import VEDenoiserPrior

    class Shrink(torch.nn.Module):  # D(x, sigma) = x / (1 + sigma^2) * w: a Gaussian prior's denoiser, scaled
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x, sigma):
            return self.w * x / (1 + sigma[:, None, None, None] ** 2)

    x = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    full = VEDenoiserPrior(Shrink(), (1, 4, 4))
    ref = full.denoise(x, 300)
    half = place_prior(VEDenoiserPrior(Shrink(), (1, 4, 4)), "cpu", "bf16")
    out = half.denoise(x, 300)
    assert out.dtype == torch.float32 and not torch.equal(out, ref)
    assert torch.allclose(out, ref, rtol=2e-2, atol=1e-2)  # bf16 keeps 8 bits of mantissa
