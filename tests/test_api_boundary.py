"""An audit of the Python API as a library user calls it (docs/python_api.md): NumPy numbers, bools, tensors,
dicts and objects of the wrong kind where `lavps.restore`, `RunOptions`, the noise models, `InverseProblem`,
the samplers and the metrics expect something else get one line naming the argument and its expected form
at the boundary, not a crash inside or a silently wrong run or record."""

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import lavps
from lavps.metrics import psnr, ssim
from lavps.operators import GaussianNoise, InverseProblem, Mask, PoissonNoise, as_measurement
from lavps.samplers.registry import build_sampler

SHAPE = (1, 8, 8)
#: the tiny prior's random weights diverge; that warning is not what these tests look at
pytestmark = pytest.mark.filterwarnings("ignore:.*diverged:RuntimeWarning")


def _y(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(seed)) * 1.6 - 0.8


def _restore(y, prior, **kw):
    return lavps.restore(y, "denoise", kw.pop("sigma", 0.1), prior=prior, sampler="mgdm", preset="tiny", **kw)


def test_numpy_seeds_and_counts_run_as_their_ints_and_are_recorded_as_numbers(tmp_path, tiny_prior):
    res = _restore(_y(), tiny_prior, seed=np.int64(3), samples=np.int64(2))
    assert res.seeds == [3, 4] and all(type(s) is int for s in res.seeds)
    assert torch.equal(res.samples, _restore(_y(), tiny_prior, seed=3, samples=2).samples)
    res.save(tmp_path / "out")
    record = json.loads((tmp_path / "out" / "restore.json").read_text())
    assert [row["seed"] for row in record["samples"]] == [3, 4]  # were the strings "3", "4"


def test_bools_floats_and_several_values_are_refused_as_counts_and_sigmas(tiny_prior):
    with pytest.raises(TypeError, match="samples must be an integer >= 1, got True"):
        _restore(_y(), tiny_prior, samples=True)
    with pytest.raises(TypeError, match="samples must be an integer >= 1, got 2.0"):
        _restore(_y(), tiny_prior, samples=2.0)
    with pytest.raises(TypeError, match=r"sigma must be one number sigma_y > 0 \(images in \[-1, 1\]\), got True"):
        _restore(_y(), tiny_prior, sigma=True)  # was sigma_y = 1.0
    with pytest.raises(TypeError, match="sigma must be one number"):
        _restore(_y(), tiny_prior, sigma=torch.tensor([0.1, 0.1]))
    with pytest.raises(TypeError, match="sigma must be one number.*got 'abc'"):
        lavps.noise_model("abc")
    assert lavps.noise_model(torch.tensor(0.25)).sigma == 0.25  # one value in a tensor is that number
    assert lavps.noise_model(np.float32(0.25)).sigma == 0.25


def test_run_options_are_checked_when_made_and_restore_takes_only_them(tiny_prior):
    with pytest.raises(TypeError, match="batch_size must be an integer >= 1, got 1.5"):
        lavps.RunOptions(batch_size=1.5)
    with pytest.raises(TypeError, match="batch_size must be an integer >= 1, got '2'"):
        lavps.RunOptions(batch_size="2")
    with pytest.raises(ValueError, match="fit must be one of crop, resize or None, got 'stretch'"):
        lavps.RunOptions(fit="stretch")
    with pytest.raises(TypeError, match="progress must be True or False, got 'no'"):
        lavps.RunOptions(progress="no")
    with pytest.raises(ValueError, match="unknown precision 'fp64'"):
        lavps.RunOptions(precision="fp64")
    assert lavps.RunOptions(batch_size=np.int64(2)).batch_size == 2
    numpy_flags = lavps.RunOptions(progress=np.False_, check_scale=np.True_, noise_on_device=np.bool_(False))
    assert (numpy_flags.progress, numpy_flags.check_scale, numpy_flags.noise_on_device) == (False, True, False)
    assert type(numpy_flags.progress) is bool  # recorded and compared as Python's bool
    with pytest.raises(TypeError, match=r"run must be a lavps.RunOptions .* got \{'batch_size': 2\}"):
        _restore(_y(), tiny_prior, run={"batch_size": 2})


def test_a_prior_or_operator_of_the_wrong_kind_is_named():
    y = torch.zeros(1, 1, 32, 32)
    with pytest.raises(TypeError, match="prior must be a loaded prior .* got int"):
        lavps.restore(y, "denoise", 0.1, prior=5)
    with pytest.raises(TypeError, match="an operator is a spec string, an operator file's path or a lavps Measurement"):
        lavps.restore(y, torch.eye(4), 0.1, sampler="mgdm", preset="tiny")  # was: invalid spec 'tensor([[1., ...'
    with pytest.raises(TypeError, match="got NoneType"):
        lavps.operator(None)
    with pytest.raises(ValueError, match=r"operator spec 'denoise' acts on images .* shape \(8,\)"):
        lavps.restore(torch.zeros(1, 8), "denoise", 0.1, prior="gmm:8", sampler="mgdm", preset="tiny")
    with pytest.raises(ValueError, match=r"x must be an image \(C, H, W\) or a batch"):
        lavps.degrade(torch.zeros(32, 32), "sr:2", sigma=0.1)


def test_restore_refuses_per_sample_operators_at_its_boundary(tiny_prior):
    masks = (torch.rand(2, *SHAPE, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    with pytest.raises(ValueError, match=r"holds 2 per-sample operators \(batch_size=2\); restore takes one operator"):
        lavps.restore(_y(), Mask(masks, SHAPE), 0.1, prior=tiny_prior, sampler="mgdm", preset="tiny", samples=2)


def test_an_observation_that_requires_grad_is_read_as_its_values(tiny_prior):
    y = _y().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # torch's "converting a tensor with requires_grad=True"
        res = _restore(y, tiny_prior)
    assert not res.observation.requires_grad
    assert torch.equal(res.samples, _restore(_y(), tiny_prior).samples)


def test_a_numpy_grid_size_fits_the_presets_window_as_an_int_does(tiny_prior):
    as_int = _restore(_y(), tiny_prior, settings={"steps": 5})
    as_numpy = _restore(_y(), tiny_prior, settings={"steps": np.int64(5)})  # was: window 30 out of 0..2
    assert as_numpy.settings["settings"] == as_int.settings["settings"]


def test_noise_models_and_inverse_problems_take_numbers_and_name_wrong_parts():
    assert GaussianNoise(np.float32(0.5)).sigma == 0.5 and type(GaussianNoise(np.float32(0.5)).sigma) is float
    assert PoissonNoise(np.float32(10)).spec == "poisson:10"
    op = lavps.operator("denoise", SHAPE)
    assert InverseProblem(_y(), op, "gaussian:0.1").noise == GaussianNoise(0.1)
    assert InverseProblem(_y(), op, 0.1).noise == GaussianNoise(0.1)
    with pytest.raises(TypeError, match="operator must be a lavps Measurement or LinearOperator.*got str"):
        InverseProblem(_y(), "denoise", GaussianNoise(0.1))
    with pytest.raises(TypeError, match="y must be a real float tensor, got uint8"):
        InverseProblem((_y() > 0).to(torch.uint8), op, GaussianNoise(0.1))


def test_sampler_seeds_and_batch_sizes_are_named(tiny_prior):
    prior = lavps.load_prior(tiny_prior)
    sampler = build_sampler("mgdm", prior, {"steps": 5, "window": 2})
    problem = InverseProblem(_y(), lavps.operator("denoise", SHAPE), GaussianNoise(0.1))
    same = sampler.sample(problem, 1, seed=np.int64(2)).samples  # was: 'numpy.int64' object is not iterable
    assert torch.equal(same, sampler.sample(problem, 1, seed=2).samples)
    with pytest.raises(TypeError, match="seed must be an integer, a list of per-sample integer seeds .* got 2.5"):
        sampler.sample(problem, 1, seed=2.5)
    with pytest.raises(ValueError, match="signed 64-bit"):
        sampler.sample(problem, 1, seed=2**64)  # was: Overflow when unpacking long long
    with pytest.raises(TypeError, match="batch_size must be an integer >= 1, got 1.5"):
        sampler.sample(problem, 1.5)


def test_a_measurement_with_a_zero_gradient_is_refused():
    with pytest.raises(ValueError, match="fn's gradient is zero on a random input"):
        as_measurement(lambda t: t.round(), SHAPE)
    with pytest.raises(ValueError, match="fn's gradient is zero on a random input"):
        as_measurement(lambda t: torch.sign(t), (1,))  # flat at every scale


def test_a_saturating_measurement_flat_where_the_first_probe_lands_is_kept():
    # a saturated sensor on a scalar signal: both N(0, 1) probe entries land in its flat part (2.54, -0.68), yet
    # its gradient is 1 on (-0.5, 0.5), where the signals are: refused before, as if it were a rounding
    sensor = as_measurement(lambda t: t.clamp(-0.5, 0.5), (1,))
    assert sensor.out_shape == (1,)


def test_arrays_where_tensors_are_expected_get_the_conversion_named(tiny_prior):
    with pytest.raises(TypeError, match=r"mask must be a torch.Tensor \(torch.from_numpy\(a\)"):
        Mask(np.ones(SHAPE, dtype=np.float32))
    with pytest.raises(TypeError, match=r"got ndarray \(torch.from_numpy\(np.asarray\(a\)\) for an array or PIL"):
        _restore(_y().numpy(), tiny_prior)
    with pytest.raises(TypeError, match=r"got Image \(torch.from_numpy"):
        _restore(Image.fromarray(np.zeros((8, 8), dtype=np.uint8)), tiny_prior)


def test_metrics_name_the_shapes_they_take():
    x = torch.zeros(*SHAPE)
    for metric in (psnr, ssim):
        with pytest.raises(ValueError, match=r"expected two image batches \(B, C, H, W\)"):
            metric(x, x)


def test_a_sigma_beyond_the_images_range_is_said(tiny_prior):
    with pytest.warns(RuntimeWarning, match="sigma on the 0..255 scale"):
        _restore(_y(), tiny_prior, sigma=12.75)
