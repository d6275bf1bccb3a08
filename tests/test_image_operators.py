"""Registry-driven property tests for the image operators: blur, super-resolution, masks, specs.

Every entry of FACTORIES gets every generic test (adjointness in float64 and against autograd,
pseudo-inverse identities, batch independence, shape errors, save/load) both as one operator
shared by the batch and as B = 3 per-sample operators. Add an operator: add one factory line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lavps.operators import (
    AveragePool,
    CircularBlur,
    DenseMatrix,
    LinearOperator,
    Mask,
    OperatorShapeError,
    center_mask,
    gaussian_kernel,
    kernel_operator_from_file,
    load_operator,
    mask_operator_from_file,
    motion_kernel,
    parse_operator_spec,
    pixel_mask,
    save_operator,
    spec_kinds,
)
from lavps.operators.files import FORMAT_KEY

B = 3
Factory = Callable[[int | None, torch.Generator], LinearOperator]


def _from_spec(spec: str, shape: tuple[int, int, int]) -> Factory:
    family = parse_operator_spec(spec, shape)
    return lambda b, g: family.sample_one(g) if b is None else family.sample(b, g)


def _random_kernel_blur(b: int | None, g: torch.Generator) -> LinearOperator:
    """Even, rectangular, asymmetric kernels: tests the centring convention off the easy path."""
    k = torch.rand(*(() if b is None else (b,)), 4, 6, generator=g, dtype=torch.float64)
    return CircularBlur(k / k.sum((-2, -1), keepdim=True), (2, 10, 12))


def _exact_gaussian_blur(b: int | None, g: torch.Generator) -> LinearOperator:
    """rcond = 0 and no vanishing frequency: A A^+ A = A to round-off."""
    k = gaussian_kernel(3, 0.6)
    return CircularBlur(k if b is None else k.expand(b, 3, 3), (1, 8, 8), rcond=0.0)


SPECS = [
    ("motion_blur:7:0.5", (1, 16, 16)),
    ("motion_blur:9:1", (3, 16, 24)),
    ("gaussian_blur:5:1.2", (2, 12, 12)),
    ("sr:2", (3, 16, 16)),
    ("sr:4", (1, 32, 32)),
    ("box:0.2:0.5", (3, 16, 16)),
    ("pixels:0.3", (1, 8, 8)),
    ("pixels_range:0.2:0.4", (2, 8, 8)),
    ("paper:box_0.4_0.6", (3, 16, 16)),
    ("paper:pixel_0.08_0.1_sto", (1, 16, 16)),
    ("center:0.5", (2, 16, 12)),
    ("rect:3:2:5:7", (2, 16, 12)),
    ("denoise", (1, 8, 8)),
]
FACTORIES: dict[str, Factory] = {spec: _from_spec(spec, shape) for spec, shape in SPECS}
FACTORIES["blur_even_rect_kernel"] = _random_kernel_blur
FACTORIES["blur_rcond0"] = _exact_gaussian_blur


@pytest.fixture(params=[(name, mode) for name in FACTORIES for mode in ("shared", "per_sample")], ids=str)
def op(request) -> LinearOperator:
    name, mode = request.param
    return FACTORIES[name](None if mode == "shared" else B, torch.Generator().manual_seed(0))


def _rand(shape, seed: int) -> torch.Tensor:
    return torch.randn(B, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).flatten(1).sum(1)


def _norm(a: torch.Tensor) -> torch.Tensor:
    return a.flatten(1).norm(dim=1)


def _select(op: LinearOperator, i: int) -> LinearOperator:
    """The shared operator of sample i of a per-sample operator (identity for shared ones)."""
    if op.batch_size is None:
        return op
    if isinstance(op, CircularBlur):
        return CircularBlur(op.kernel[i], op.in_shape, rcond=op.rcond)
    if isinstance(op, Mask):
        return Mask(op.mask[i], op.in_shape)
    raise NotImplementedError(type(op).__name__)


# ---- generic properties ---------------------------------------------------------------------
def test_adjoint_exact_float64(op):
    u, v = _rand(op.in_shape, 1), _rand(op.out_shape, 2)
    lhs, rhs = _dot(op.forward(u), v), _dot(u, op.adjoint(v))
    assert torch.allclose(lhs, rhs, rtol=0, atol=1e-10 * float((_norm(u) * _norm(v)).max()))


def test_adjoint_equals_autograd_vjp(op):
    x = _rand(op.in_shape, 3).requires_grad_(True)
    v = _rand(op.out_shape, 4)
    (vjp,) = torch.autograd.grad(op.forward(x), x, v)
    torch.testing.assert_close(vjp, op.adjoint(v), rtol=0, atol=1e-12)


def test_float32_in_float32_out(op):
    x = _rand(op.in_shape, 5).float()
    y = op.forward(x)
    assert y.dtype == torch.float32 and tuple(y.shape) == (B, *op.out_shape)
    assert op.adjoint(y).dtype == torch.float32 and op.pinv(y).dtype == torch.float32


def test_pinv_penrose_identities(op):
    """A A^+ A = A (up to rcond * ||x|| where singular values are dropped), A^+ A A^+ = A^+, A^+ A symmetric."""
    x, y = _rand(op.in_shape, 6), _rand(op.out_shape, 7)
    ax = op.forward(x)
    tol = 1e-10 + getattr(op, "rcond", 0.0)
    assert (_norm(op.forward(op.pinv(ax)) - ax) <= tol * _norm(x)).all()
    p = op.pinv(y)
    assert (_norm(op.pinv(op.forward(p)) - p) <= 1e-10 * _norm(p)).all()
    u, w = _rand(op.in_shape, 8), _rand(op.in_shape, 9)
    lhs, rhs = _dot(op.pinv(op.forward(u)), w), _dot(u, op.pinv(op.forward(w)))
    assert torch.allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


def test_pinv_matches_dense_moore_penrose(op):
    if op.batch_size is not None or op.in_dim > 800:
        pytest.skip("dense check on small shared operators only")
    m = op.as_matrix()
    dense = torch.linalg.pinv(m, rtol=max(getattr(op, "rcond", 0.0), 1e-10))
    y = _rand(op.out_shape, 10)
    expected = (y.flatten(1) @ dense.T).reshape(B, *op.in_shape)
    torch.testing.assert_close(op.pinv(y), expected, rtol=1e-7, atol=1e-8)


def test_batch_independence(op):
    """Row i of forward / adjoint / pinv depends only on row i of the input and operator i."""
    x, y = _rand(op.in_shape, 11), _rand(op.out_shape, 12)
    for fn, inp in ((op.forward, x), (op.adjoint, y), (op.pinv, y)):
        out = fn(inp)
        for i in range(B):
            other = inp.clone()
            keep = torch.arange(B) != i
            other[keep] = torch.randn_like(other[keep]) * 5
            torch.testing.assert_close(fn(other)[i], out[i], rtol=0, atol=1e-12)
    for i in range(B):
        single = _select(op, i)
        torch.testing.assert_close(single.forward(x[i : i + 1])[0], op.forward(x)[i], rtol=0, atol=1e-12)


def test_shape_errors(op):
    c, h, w = op.in_shape
    with pytest.raises(OperatorShapeError, match="expects signals"):
        op.forward(torch.zeros(B, c, h + 1, w))
    with pytest.raises(OperatorShapeError, match="expects signals"):
        op.forward(torch.zeros(B, c + 1, h, w))
    with pytest.raises(OperatorShapeError):
        op.adjoint(torch.zeros(B, *op.in_shape[:-1], op.out_shape[-1] + 1))
    if op.batch_size is not None:
        with pytest.raises(OperatorShapeError, match="per-sample"):
            op.forward(torch.zeros(B - 1, *op.in_shape))


def test_save_load_round_trip(op, tmp_path):
    path = tmp_path / "op.safetensors"
    save_operator(op, path)
    back = load_operator(path)
    assert type(back) is type(op) and back.batch_size == op.batch_size
    assert back.in_shape == op.in_shape and back.out_shape == op.out_shape
    x, y = _rand(op.in_shape, 13), _rand(op.out_shape, 14)
    assert torch.equal(back.forward(x), op.forward(x)) and torch.equal(back.pinv(y), op.pinv(y))


# ---- kernels ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [3, 9, 21])
@pytest.mark.parametrize("intensity", [0.0, 0.5, 1.0])
def test_motion_kernels_normalised(size, intensity):
    for seed in range(5):
        k = motion_kernel(size, intensity, torch.Generator().manual_seed(seed), batch_size=4)
        assert k.shape == (4, size, size) and (k >= 0).all()
        torch.testing.assert_close(k.sum((1, 2)), torch.ones(4, dtype=torch.float64), rtol=0, atol=1e-12)
        assert ((k > 0).flatten(1).sum(1) > 1).all()  # a streak, not a point


def test_motion_kernels_grow_with_intensity():
    def spread(intensity):
        k = motion_kernel(15, intensity, torch.Generator().manual_seed(0), batch_size=16)
        return float((k > 1e-3).flatten(1).sum(1).float().mean())

    assert spread(0.0) < spread(0.5) < spread(1.0)


@pytest.mark.parametrize("size,std", [(1, 1.0), (5, 0.8), (9, 2.0)])
def test_gaussian_kernel_normalised_symmetric(size, std):
    k = gaussian_kernel(size, std)
    assert (k >= 0).all() and abs(float(k.sum()) - 1) < 1e-12
    torch.testing.assert_close(k, k.flip(0))
    torch.testing.assert_close(k, k.T)


def test_blur_is_centred_circular_convolution():
    """A x = sum_ab k[a, b] roll(x, (a - kh//2, b - kw//2)); a delta kernel is the identity."""
    g = torch.Generator().manual_seed(0)
    k = torch.rand(3, 4, generator=g, dtype=torch.float64)
    x = torch.randn(2, 2, 9, 10, generator=g, dtype=torch.float64)
    expected = sum(k[a, b] * torch.roll(x, (a - 1, b - 2), (-2, -1)) for a in range(3) for b in range(4))
    torch.testing.assert_close(CircularBlur(k, (2, 9, 10)).forward(x), expected)
    delta = torch.zeros(5, 5, dtype=torch.float64)
    delta[2, 2] = 1
    torch.testing.assert_close(CircularBlur(delta, (2, 9, 10)).forward(x), x)


def test_sr_is_block_mean_and_pinv_is_nearest():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    op = AveragePool((1, 4, 4), 2)
    torch.testing.assert_close(op.forward(x), torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))
    torch.testing.assert_close(op.forward(op.pinv(op.forward(x))), op.forward(x))
    assert op.pinv(torch.ones(1, 1, 2, 2)).eq(1).all()


# ---- masks -----------------------------------------------------------------------------------
def test_mask_generators():
    g = torch.Generator().manual_seed(0)
    box = parse_operator_spec("box:0.25:0.5", (3, 16, 16)).sample(8, g).mask
    for m in box:
        assert torch.equal(m[0], m[1]) and torch.equal(m[0], m[2])
        hidden = (m[0] == 0).nonzero()
        h, w = hidden[:, 0].max() - hidden[:, 0].min() + 1, hidden[:, 1].max() - hidden[:, 1].min() + 1
        assert 4 <= h <= 8 and 4 <= w <= 8 and len(hidden) == h * w  # one full rectangle
    pix = pixel_mask((2, 10, 10), 0.3, g, batch_size=4).mask
    assert (pix[:, 0].sum((1, 2)) == 30).all() and not torch.equal(pix[0], pix[1])
    centre = center_mask((1, 8, 8), 0.5).mask[0]
    assert centre[2:6, 2:6].eq(0).all() and centre.sum() == 48


def test_seeded_specs_reproducible_and_seed_dependent():
    x = _rand((2, 16, 16), 0)
    for spec in ("motion_blur:7:0.7", "box:0.2:0.6", "pixels:0.2"):
        family = parse_operator_spec(spec, (2, 16, 16))
        assert family.spec == spec and parse_operator_spec(family.spec, (2, 16, 16)) == family
        draw = [family.sample(B, torch.Generator().manual_seed(s)).forward(x) for s in (1, 1, 2)]
        assert torch.equal(draw[0], draw[1]) and not torch.equal(draw[0], draw[2])
        one = [family.sample_one(torch.Generator().manual_seed(s)).forward(x) for s in (1, 1, 2)]
        assert torch.equal(one[0], one[1]) and not torch.equal(one[0], one[2])


# ---- errors ----------------------------------------------------------------------------------
BAD_SPECS = [
    "", "blur:3", "motion_blur", "motion_blur:9", "motion_blur:9:0.5:1", "motion_blur:8:0.5",
    "motion_blur:9.5:0.5", "motion_blur:9:1.5", "motion_blur:abc:0.5", "motion_blur:33:0.5",
    "gaussian_blur:5:0", "gaussian_blur:5:nan", "sr:3", "sr:1", "sr:x", "box:0.6:0.4", "box:0:0.5",
    "box:0.2:1", "pixels:0", "pixels:1.5", "center:1", "denoise:1", "pixels_range:0.3:0.2", "paper:mb_9",
    "paper:sr_4:1", "rect:0:0:16:16", "rect:10:0:7:2", "rect:0:0:0:2", "rect:1.5:0:2:2", "rect:0:0:2",
]  # fmt: skip


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_bad_spec_errors_name_spec_and_formats(spec):
    with pytest.raises(ValueError) as info:
        parse_operator_spec(spec, (3, 16, 16))
    msg = str(info.value)
    assert repr(spec) in msg and all(usage in msg for usage in spec_kinds().values())


def test_spec_kinds_and_direct_errors():
    kinds = {"motion_blur", "gaussian_blur", "sr", "box", "pixels", "pixels_range", "center", "rect", "denoise"}
    assert set(spec_kinds()) == kinds | {"paper", "jpeg", "phase", "hdr"}
    with pytest.raises(ValueError, match="divide"):
        AveragePool((1, 10, 10), 4)
    with pytest.raises(ValueError, match="larger than the image"):
        CircularBlur(torch.ones(9, 9), (1, 8, 8))
    with pytest.raises(TypeError, match="DenseMatrix"):
        save_operator(DenseMatrix(torch.eye(3)), "unused.safetensors")


def test_kernel_files(tmp_path):
    k = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0])
    np.save(tmp_path / "k.npy", k)
    np.savetxt(tmp_path / "k.txt", k)
    Image.fromarray((k * 50).astype(np.uint8)).save(tmp_path / "k.png")
    for name in ("k.npy", "k.txt", "k.png"):
        op = kernel_operator_from_file(tmp_path / name, (1, 8, 8))
        torch.testing.assert_close(op.kernel, torch.from_numpy(k / k.sum()))
    bad = {"nan.npy": np.full((3, 3), np.nan), "3d.npy": np.ones((1, 3, 3)), "big.npy": np.ones((9, 9))}
    for name, arr in bad.items():
        np.save(tmp_path / name, arr)
    np.savetxt(tmp_path / "neg.txt", -k)
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    (tmp_path / "k.jpg").write_bytes(b"")
    cases = {
        "nan.npy": "NaN",
        "3d.npy": "2-D",
        "big.npy": "larger",
        "neg.txt": "positive sum",
        "junk.npy": "cannot read",
    }
    for name, match in (cases | {"k.jpg": "extension"}).items():
        with pytest.raises(ValueError, match=match):
            kernel_operator_from_file(tmp_path / name, (1, 8, 8))
    with pytest.raises(FileNotFoundError):
        kernel_operator_from_file(tmp_path / "missing.npy", (1, 8, 8))


def test_mask_files(tmp_path):
    m = (np.arange(64).reshape(8, 8) % 3 != 0).astype(np.uint8)
    Image.fromarray(m * 255).save(tmp_path / "m.png")
    np.save(tmp_path / "m.npy", m)
    np.save(tmp_path / "m3.npy", np.stack([m, m]))
    for name in ("m.png", "m.npy", "m3.npy"):
        op = mask_operator_from_file(tmp_path / name, (2, 8, 8))
        assert op.batch_size is None and torch.equal(op.mask[1], torch.from_numpy(m).float())
    with pytest.raises(ValueError, match="expected"):
        mask_operator_from_file(tmp_path / "m.png", (1, 8, 9))
    np.save(tmp_path / "nan.npy", np.full((8, 8), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        mask_operator_from_file(tmp_path / "nan.npy", (1, 8, 8))
    (tmp_path / "m.txt").write_text("1 1\n1 1\n")
    with pytest.raises(ValueError, match="extension"):
        mask_operator_from_file(tmp_path / "m.txt", (1, 2, 2))


# Written by save_operator BEFORE operator files were driven by the operator classes (isinstance chains):
# draw_operator(spec, (1, 8, 8), seed) for these specs and seeds, and Identity((1, 8, 8)).
OLD_FILES = {"blur": ("motion_blur:5:0.5", 3), "mask": ("box:0.3:0.5", 4), "sr": ("sr:2", None), "identity": None}


@pytest.mark.parametrize("kind", sorted(OLD_FILES))
def test_operator_files_of_the_first_format_still_load_and_are_rewritten_identically(kind, tmp_path):
    from safetensors import safe_open

    from lavps.operators import Identity
    from lavps.operators.spec import draw_operator

    old = Path(__file__).parent / "fixtures" / "operators_v1" / f"{kind}.safetensors"
    spec = OLD_FILES[kind]
    expected = Identity((1, 8, 8)) if spec is None else draw_operator(spec[0], (1, 8, 8), spec[1])
    back = load_operator(old)
    assert type(back) is type(expected) and back.family == expected.family
    x = _rand(expected.in_shape, 21)
    # a fresh draw is float64 trigonometry, equal only to the last bit or so across CPUs (AVX2 vs AVX-512)
    assert torch.allclose(back.forward(x), expected.forward(x), rtol=0, atol=1e-12)
    save_operator(back, tmp_path / "new.safetensors")  # the old file, loaded and written again
    with safe_open(str(old), "pt") as a, safe_open(str(tmp_path / "new.safetensors"), "pt") as b:
        before, after = a.metadata(), json.loads(b.metadata()[FORMAT_KEY])  # version 1: a key per entry; 2: one
        assert before.pop("version") == "1" and after.pop("version") == "2"
        assert before == after and before["kind"] == kind
        assert sorted(a.keys()) == sorted(b.keys())
        assert all(torch.equal(a.get_tensor(k), b.get_tensor(k)) for k in a.keys())


def test_load_operator_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_operator(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(ValueError, match="cannot load operator"):
        load_operator(tmp_path / "junk.safetensors")


def test_the_same_operator_saved_twice_gives_the_same_bytes(tmp_path):
    """One sorted metadata key: safetensors' hash map put several keys in another order on every run."""
    import subprocess
    import sys

    code = (
        "import sys; from lavps.operators import save_operator; from lavps.operators.spec import draw_operator; "
        "save_operator(draw_operator('motion_blur:5:0.5', (1, 8, 8), 3), sys.argv[1])"
    )
    for name in ("a", "b"):  # separate processes: the hash map's order is per process
        subprocess.run([sys.executable, "-c", code, str(tmp_path / f"{name}.safetensors")], check=True)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
