"""Non-linear measurements and noise models: closed forms, the JPEG approximation against the real codec,
Poisson's log-likelihood against scipy, Jacobian products, per-sample parameters, clear errors."""

import math

import pytest
import torch
from scipy.stats import poisson

from lavps.metrics import psnr
from lavps.operators import (
    GaussianNoise,
    HighDynamicRange,
    InverseProblem,
    JpegCompression,
    Mask,
    PhaseRetrieval,
    PoissonNoise,
    as_measurement,
    load_operator,
    parse_noise_spec,
    parse_operator_spec,
    save_operator,
)
from lavps.operators.jpeg import LUMA_TABLE, jpeg_approx, jpeg_codec, quality_table
from lavps.operators.spec import draw_operator


def _digits(n=4, size=16, seed=0):
    """Smooth blob images in [-1, 1] (a digit-like mix of flat background and strokes)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size // 4, size // 4, generator=g)
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x * 2 - 1).clamp(-1, 1)


def _smooth_colour(n=2, size=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size // 4, size // 4, generator=g)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False) * 2 - 1


def test_hdr_is_the_clipped_scaled_image_with_per_sample_scales():
    x = _digits(3)
    scales = torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64)
    op = HighDynamicRange((1, 16, 16), scales)
    expected = torch.stack([(s * xi).clamp(-1, 1) for s, xi in zip(scales.tolist(), x, strict=True)])
    torch.testing.assert_close(op.forward(x), expected)
    for i, s in enumerate(scales.tolist()):  # sample i = the shared map at its own scale
        torch.testing.assert_close(op.forward(x)[i : i + 1], HighDynamicRange((1, 16, 16), s).forward(x[i : i + 1]))


def test_phase_retrieval_closed_forms_and_ambiguities():
    op = PhaseRetrieval((1, 8, 8), 2.0)
    assert op.out_shape == (1, 16, 16)
    delta = -torch.ones(1, 1, 8, 8)
    delta[0, 0, 3, 5] = 1.0  # u = (x + 1) / 2 is a unit impulse: |F u| = 1 / sqrt(16 * 16) everywhere
    torch.testing.assert_close(op.forward(delta), torch.full((1, 1, 16, 16), 1 / 16), atol=1e-6, rtol=0)
    x = _digits(2, 8)
    u = (x + 1) / 2
    parseval = op.forward(x).pow(2).flatten(1).sum(1)
    torch.testing.assert_close(parseval, u.pow(2).flatten(1).sum(1), rtol=1e-4, atol=1e-6)
    # blind to the point reflection (rotation by 180 degrees) and to shifts inside the padded canvas
    torch.testing.assert_close(op.forward(x.flip(-1, -2)), op.forward(x), rtol=1e-4, atol=1e-5)
    shifted = torch.nn.functional.pad(u[..., :6, :6], (2, 0, 2, 0)) * 2 - 1
    torch.testing.assert_close(
        op.forward(shifted), op.forward(torch.nn.functional.pad(u[..., :6, :6], (0, 2, 0, 2)) * 2 - 1), atol=1e-5,
        rtol=1e-4,
    )  # fmt: skip


def test_jpeg_tables_follow_libjpeg_scaling():
    torch.testing.assert_close(quality_table(LUMA_TABLE, torch.tensor([50.0]))[0], torch.tensor(LUMA_TABLE).double())
    assert torch.equal(quality_table(LUMA_TABLE, torch.tensor([100.0])), torch.ones(1, 8, 8, dtype=torch.float64))
    q10 = quality_table(LUMA_TABLE, torch.tensor([10.0]))[0]  # scale 500: 16 -> 80, 121 -> 255 (baseline cap)
    assert q10[0, 0] == 80 and q10[6, 5] == 255


@pytest.mark.parametrize("quality", [5, 10, 50, 90])
def test_jpeg_approximation_is_close_to_the_real_codec(quality):
    grey, colour = _digits(4, 20), _smooth_colour(2, 24)  # 20: partial blocks are padded as libjpeg does
    q = torch.tensor(float(quality))
    assert psnr(jpeg_approx(grey, q), jpeg_codec(grey, q)).min() > 40  # measured: 51-67 dB on MNIST digits
    # colour: measured 40-43 dB on average; at Q = 5 one coefficient of a block may sit on a rounding
    # boundary that libjpeg's integer DCT crosses the other way (one image at 31.6 dB)
    colour_psnr = psnr(jpeg_approx(colour, q), jpeg_codec(colour, q))
    assert colour_psnr.min() > 28 and colour_psnr.mean() > 35
    assert psnr(jpeg_codec(grey, q), grey).mean() < 60  # the codec does change the image


def test_jpeg_operator_simulates_with_the_codec_and_guides_with_the_approximation():
    x = _digits(3, 16).requires_grad_(True)
    op = JpegCompression((1, 16, 16), torch.tensor([5.0, 20.0, 80.0]))
    assert torch.equal(op.exact_forward(x), jpeg_codec(x, op.quality))
    out = op.forward(x)
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    solo = JpegCompression((1, 16, 16), 20).forward(x[1:2])
    torch.testing.assert_close(out[1:2], solo)  # per-sample quality = the shared map at that quality


@pytest.mark.parametrize("spec", ["jpeg:10", "phase:2", "hdr:2"])
def test_jacobian_products_are_adjoint_and_match_finite_differences(spec):
    op = draw_operator(spec, (1, 8, 8))
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(2, 1, 8, 8, generator=g, dtype=torch.float64) * 1.6 - 0.8).float()
    lin = op.linearize(x)
    v = torch.randn(2, 1, 8, 8, generator=g)
    w = torch.randn(*lin.value.shape, generator=g)
    jv, jtw = lin.jvp(v), lin.vjp(w)
    assert torch.isfinite(jv).all() and torch.isfinite(jtw).all()
    lhs, rhs = (jv * w).flatten(1).sum(1), (v * jtw).flatten(1).sum(1)
    torch.testing.assert_close(lhs, rhs, rtol=1e-4, atol=1e-4)
    if spec != "jpeg:10":  # JPEG's straight-through gradient is not the derivative of its (rounded) value
        eps = 1e-3
        fd = (op.forward(x + eps * v) - op.forward(x - eps * v)) / (2 * eps)
        assert (fd - jv).norm() <= 0.05 * jv.norm() + 1e-4


def test_linear_operators_linearize_to_themselves():
    mask = Mask(torch.tensor([1.0, 0.0, 1.0]), (3,))
    lin = mask.linearize(torch.randn(2, 3))
    v = torch.randn(2, 3)
    assert torch.equal(lin.jvp(v), mask.forward(v)) and torch.equal(lin.vjp(v), mask.adjoint(v))


def test_poisson_log_likelihood_is_scipys_logpmf_on_integers():
    peak = 30.0
    noise = PoissonNoise(peak)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(3, 10, generator=g, dtype=torch.float64) * 1.6 - 0.6  # intensities u in [0.2, 1]
    k = torch.poisson(peak * (a + 1) / 2, generator=g)
    y = 2 * k / peak - 1
    expected = poisson.logpmf(k.numpy(), (peak * (a + 1) / 2).numpy()).sum(1)
    torch.testing.assert_close(noise.log_likelihood_of(a, y), torch.from_numpy(expected), rtol=1e-7, atol=1e-7)


def test_poisson_draws_counts_and_its_likelihood_has_finite_gradients_everywhere():
    noise = PoissonNoise(10.0)
    mask = Mask(torch.ones(50), (50,))
    x = torch.linspace(-1, 1, 50)[None].expand(200, 50)
    y = noise.observe(x, mask, torch.Generator().manual_seed(0))
    k = noise.counts(y)
    assert (k - k.round()).abs().max() < 1e-4 and (k > -1e-4).all()  # integers, up to float32 rounding of y
    torch.testing.assert_close(k.mean(0)[-1], torch.tensor(10.0), atol=1.0, rtol=0)  # white: ~ peak photons
    a = torch.tensor([[-50.0, -3.0, -1.0, 0.0, 1.0, 4.0]], requires_grad=True)
    for counts in (0.0, 3.0):
        (grad,) = torch.autograd.grad(noise.log_likelihood_of(a, torch.full_like(a, 2 * counts / 10 - 1)).sum(), a)
        assert torch.isfinite(grad).all()
    score, weight = noise.gauss_newton(a.detach(), torch.zeros_like(a))
    assert torch.isfinite(score).all() and (weight > 0).all() and weight.max() <= 25.0  # (peak / 2)^2 / max(k, 1)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("poisson:0", "peak"),
        ("poisson:-3", "peak"),
        ("poisson:nan", "peak"),
        ("poisson:abc", "not a number"),
        ("poisson", "allowed"),
        ("laplace:1", "allowed"),
        ("gaussian:0", "sigma"),
    ],
)
def test_bad_noise_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_noise_spec(spec)
    assert repr(spec) in str(info.value) or message in ("peak", "sigma")


def test_noise_specs_parse():
    assert parse_noise_spec("poisson:100") == PoissonNoise(100.0)
    assert parse_noise_spec("gaussian:0.05") == GaussianNoise(0.05) == parse_noise_spec(0.05)


@pytest.mark.parametrize("spec", ["jpeg:0", "jpeg:101", "phase:0.5", "hdr:0", "hdr:-2"])
def test_bad_nonlinear_specs_are_named(spec):
    with pytest.raises(ValueError, match="invalid operator spec"):
        parse_operator_spec(spec, (1, 16, 16))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        JpegCompression((2, 16, 16), 10)


def test_as_measurement_wraps_callables_and_refuses_bad_ones():
    m = as_measurement(lambda x: x.pow(2).sum(1, keepdim=True), (4,), name="square")
    assert m.out_shape == (1,) and not m.is_linear
    torch.testing.assert_close(m.forward(torch.ones(3, 4)), torch.full((3, 1), 4.0))
    with pytest.raises(ValueError, match="no gradient"):
        as_measurement(lambda x: x.detach() ** 2, (4,))
    with pytest.raises(ValueError, match="NaN or inf"):
        as_measurement(lambda x: x / 0.0, (4,))
    with pytest.raises(TypeError, match="callable"):
        as_measurement(3, (4,))
    assert as_measurement(m, (4,)) is m


def test_problem_with_a_nonlinear_map_names_what_it_lacks():
    op = draw_operator("hdr:2", (1, 8, 8))
    problem = InverseProblem(op.forward(_digits(1, 8)), op, PoissonNoise(20.0))
    with pytest.raises(ValueError, match="no sigma_y"):
        _ = problem.sigma
    with pytest.raises(ValueError, match="ddrm needs a linear operator"):
        problem.require_linear_gaussian("ddrm")
    with pytest.raises(ValueError, match="needs the point"):
        problem.y_signal()


def test_nonlinear_spec_operators_round_trip_through_files(tmp_path):
    op = draw_operator("jpeg:12", (1, 16, 16))
    save_operator(op, tmp_path / "op.safetensors")
    back = load_operator(tmp_path / "op.safetensors")
    x = _digits(2, 16)
    assert isinstance(back, JpegCompression) and back.family == "jpeg:12"
    assert torch.equal(back.forward(x), op.forward(x))
    assert math.isclose(float(back.quality), 12.0)


def test_phase_mode_classes_name_each_ambiguous_copy():
    from lavps.evaluation.phase_modes import phase_mode_classes

    x = -torch.ones(1, 16, 16)
    x[:, 4:11, 5:9] = 0.8
    x[:, 4:6, 5:12] = 0.2  # an asymmetric glyph on a black background, away from the border
    rotated = x.flip(-2, -1)
    shifted = torch.roll(x, (2, -1), (-2, -1))
    noise = torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    classes, best = phase_mode_classes(torch.stack([x, rotated, shifted, noise]), x, 2.0)
    assert classes == ["identity", "flipped", "shifted", "other"]
    assert best[:3].min() > 60  # exact copies
    per_sample, _ = phase_mode_classes(torch.stack([x, rotated]), torch.stack([rotated, rotated]), 2.0)
    assert per_sample == ["flipped", "identity"]  # each sample against its own x*


@pytest.mark.parametrize("spec", ["sr:2", "motion_blur:9:0.5", "pixels:0.2", "denoise", "jpeg:10", "phase:2", "hdr:2"])
def test_a_familys_flags_are_its_operators(spec):
    """LAVPS's auto preset reads the family's flags (no operator at hand): they must say what the operators are;
    only phase retrieval (shifted / flipped copies give the same y) is multimodal."""
    from lavps.operators.spec import parse_operator_spec
    from lavps.workflows.settings import family_flags

    family = parse_operator_spec(spec, (1, 32, 32))
    assert family.linear == bool(family.sample_one(torch.Generator().manual_seed(0)).is_linear)
    assert family_flags(family.spec, (1, 32, 32)) == (family.linear, spec.startswith("phase"))
    assert family_flags(None, (1, 32, 32)) == family_flags("no_such_kind:3", (1, 32, 32)) == (True, False)


def test_hdr_consistent_point_pins_observed_pixels_and_puts_saturated_ones_on_the_observed_side():
    """LAVPS linearises its Gauss-Newton start at this point: the clip's Jacobian is zero on a pixel
    saturated on the wrong side, so only the observation itself can say where it belongs."""
    from lavps.operators import GaussianNoise, InverseProblem, PoissonNoise
    from lavps.operators.nonlinear import HighDynamicRange, JpegCompression, PhaseRetrieval

    op = HighDynamicRange((1, 2, 3), 2.0)
    # row 0: saturated on y's side (kept); saturated on the wrong side (mirrored); a noise outlier of the
    # background, y = -1 + 4.4 sigma, inside the clip by 3 sigma but not by 5 (kept: the noise explains it)
    # row 1: inside the clip and off by > 3 sigma (pinned to y / s, twice); off by 0.4 sigma (kept)
    x = torch.tensor([[[[0.9, -0.9, -0.9], [0.9, 0.1, 0.14]]]])
    y = torch.tensor([[[[1.0, 1.0, -0.78], [0.3, -0.2, 0.3]]]])
    out = op.consistent_point(x, y, 0.05)
    torch.testing.assert_close(out, torch.tensor([[[[0.9, 0.9, -0.9], [0.15, -0.1, 0.14]]]]))
    assert (op.forward(out) * y.sign() >= 1 - 1e-6)[..., 0, :2].all()  # saturated where y is, on y's side
    problem = InverseProblem(y, op, GaussianNoise(0.05))
    torch.testing.assert_close(problem.consistent_point(x), out)
    assert InverseProblem(y.abs() + 1, op, PoissonNoise(10.0)).consistent_point(x) is x  # Gaussian noise only
    img = torch.rand(1, 1, 8, 8) * 2 - 1
    for other in (JpegCompression((1, 8, 8), 10), PhaseRetrieval((1, 8, 8), 2.0)):
        assert other.consistent_point(img, other.forward(img), 0.05) is img  # the default: x itself
