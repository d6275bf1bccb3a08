"""Exact singular value decompositions A = U diag(s) V^T of the operators that have a cheap one.

Spectral coordinates live in a space of the signal's size d: z = V^T x has shape (B, *spectral_shape)
with prod(spectral_shape) = d, and coordinate i of V^T x is paired with coordinate i of U^T y through
the singular value s_i (s_i = 0 on the null space of A, where U^T y is 0). Singular values at or below
max(s) * n * eps (n the matrix's larger side, eps of the computation's dtype: numpy's matrix_rank rule)
are rounding noise of a zero and are set to exactly 0, so a rank-deficient A is treated as its rank.
Observation components outside the range of A (d_y > rank) are dropped by `ut` and never produced by `u`. Hence
    A x = u(s * vt(x)),   v(vt(x)) = x,   ||vt(x)|| = ||x||.
Singular values have shape (1 or B, *spectral_shape) (shared or per-sample operator). Coordinates may
be complex (Fourier modes of a circular blur); every real linear combination whose weights depend
only on s keeps them Hermitian, so `v` and `u` return real signals.
"""

from __future__ import annotations

import torch

__all__ = [
    "SVD",
    "NoCheapSVDError",
    "DiagonalSVD",
    "FourierSVD",
    "BlockMeanSVD",
    "MatrixSVD",
    "StackedSVD",
    "drop_tiny",
]


class NoCheapSVDError(ValueError):
    """The operator has no cheap exact SVD (DDRM needs one)."""


def drop_tiny(s: torch.Tensor, n: int, dtype: torch.dtype, sample_dims: int = 1) -> torch.Tensor:
    """s with every value <= max(s) * n * eps(dtype) set to 0; the max is per sample (leading
    `sample_dims` axes kept) so that one operator of a batch never changes another's rank."""
    flat = s.reshape(*s.shape[:sample_dims], -1)
    tol = flat.amax(-1, keepdim=True) * n * torch.finfo(dtype).eps
    return torch.where(flat > tol, flat, torch.zeros_like(flat)).reshape(s.shape)


class SVD:
    """A = U diag(s) V^T in spectral coordinates (see the module docstring)."""

    #: (1 or B, *spectral_shape), real, >= 0
    singular_values: torch.Tensor

    def vt(self, x: torch.Tensor) -> torch.Tensor:
        """V^T x: signals (B, *in_shape) -> spectral coordinates (B, *spectral_shape)."""
        raise NotImplementedError

    def v(self, z: torch.Tensor) -> torch.Tensor:
        """V z: spectral coordinates -> signals (real)."""
        raise NotImplementedError

    def ut(self, y: torch.Tensor) -> torch.Tensor:
        """U^T y: observations (B, *out_shape) -> spectral coordinates, 0 where s = 0."""
        raise NotImplementedError

    def u(self, z: torch.Tensor) -> torch.Tensor:
        """U z: spectral coordinates -> observations (only coordinates paired with the range count)."""
        raise NotImplementedError

    def s(self, like: torch.Tensor) -> torch.Tensor:
        """Singular values cast to the real dtype and device of `like`."""
        real = like.real if like.is_complex() else like
        return self.singular_values.to(device=like.device, dtype=real.dtype)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """A x = U diag(s) V^T x."""
        z = self.vt(x)
        return self.u(self.s(z) * z)


class DiagonalSVD(SVD):
    """A = diag(s) (identity, masks): U = V = I."""

    def __init__(self, diagonal: torch.Tensor):
        self.singular_values = diagonal

    def vt(self, x):
        return x

    def v(self, z):
        return z

    def ut(self, y):
        return (self.s(y) > 0) * y

    def u(self, z):
        return z


class FourierSVD(SVD):
    """Circular convolution A = F^H diag(K) F per channel, F the unitary 2-D DFT.

    With K = |K| e^{i phi}: V^T = F, s = |K|, U^T = diag(e^{-i phi}) F (phi = 0 where K = 0).

    Args:
        spectrum: full DFT of the centred kernel, (H, W) shared or (B, 1, H, W) per sample.
        image_shape: (C, H, W).
    """

    def __init__(self, spectrum: torch.Tensor, image_shape: tuple[int, int, int]):
        spec = spectrum if spectrum.ndim == 4 else spectrum[None, None]
        real = spec.real.dtype if spec.is_complex() else spec.dtype
        mag = drop_tiny(spec.abs(), image_shape[1] * image_shape[2], real)
        self.phase = torch.where(mag > 0, spec / torch.where(mag > 0, mag, 1.0), torch.ones_like(spec))
        self.singular_values = mag.expand(spec.shape[0], *image_shape)

    def _phase(self, like):
        return self.phase.to(device=like.device, dtype=like.dtype if like.is_complex() else _complex(like.dtype))

    def vt(self, x):
        return torch.fft.fft2(x, norm="ortho")

    def v(self, z):
        return torch.fft.ifft2(z, norm="ortho").real

    def ut(self, y):
        z = torch.fft.fft2(y, norm="ortho")
        return self._phase(z).conj() * z

    def u(self, z):
        return torch.fft.ifft2(self._phase(z) * z, norm="ortho").real


class BlockMeanSVD(SVD):
    """Average pooling by f: each f x f block has one singular value 1/f, right vector ones / f.

    V^T maps a block (f^2 pixels) by an orthogonal Q whose first column is ones / f; spectral shape
    (C, H/f, W/f, f^2); coordinate 0 of each block is paired with the observed pixel.
    """

    def __init__(self, image_shape: tuple[int, int, int], factor: int):
        c, h, w = image_shape
        self.factor, self.shape = factor, (c, h // factor, w // factor)
        basis = torch.eye(factor * factor, dtype=torch.float64)
        basis[:, 0] = 1.0
        q, _ = torch.linalg.qr(basis)
        self.q = q * q[0, 0].sign()  # first column + ones / f; the rest spans its complement
        s = torch.zeros(1, *self.shape, factor * factor, dtype=torch.float64)
        s[..., 0] = 1.0 / factor
        self.singular_values = s

    def vt(self, x):
        b, (c, h, w), f = x.shape[0], self.shape, self.factor
        blocks = x.reshape(b, c, h, f, w, f).permute(0, 1, 2, 4, 3, 5).reshape(b, c, h, w, f * f)
        return blocks @ self.q.to(x)

    def v(self, z):
        b, (c, h, w), f = z.shape[0], self.shape, self.factor
        blocks = (z @ self.q.T.to(z)).reshape(b, c, h, w, f, f)
        return blocks.permute(0, 1, 2, 4, 3, 5).reshape(b, c, h * f, w * f)

    def ut(self, y):
        z = torch.zeros(*y.shape, self.factor**2, dtype=y.dtype, device=y.device)
        z[..., 0] = y
        return z

    def u(self, z):
        return z[..., 0]


class MatrixSVD(SVD):
    """Dense A (d_y, d) or (B, d_y, d): torch.linalg.svd in float64, s padded with zeros to length d."""

    def __init__(self, matrix: torch.Tensor):
        u, s, vh = torch.linalg.svd(matrix.double(), full_matrices=True)
        d, k = matrix.shape[-1], s.shape[-1]
        s = drop_tiny(s, max(matrix.shape[-2:]), torch.float64, sample_dims=s.ndim - 1)
        self.kept = s > 0  # (..., k): the range of A; U^T y is 0 elsewhere
        self.k = k
        self.u_mat = u[..., :k]  # (..., d_y, k): the columns paired with nonzero-able singular values
        self.vh = vh  # (..., d, d)
        padded = torch.zeros(*s.shape[:-1], d, dtype=torch.float64)
        padded[..., :k] = s
        self.singular_values = padded if padded.ndim == 2 else padded[None]

    @staticmethod
    def _mul(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Row-wise m @ x_i for a shared (p, q) or per-sample (B, p, q) matrix."""
        m = m.to(x)
        return x @ m.T if m.ndim == 2 else torch.einsum("bpq,bq->bp", m, x)

    def vt(self, x):
        return self._mul(self.vh, x)

    def v(self, z):
        return self._mul(self.vh.transpose(-2, -1), z)

    def ut(self, y):
        z = self._mul(self.u_mat.transpose(-2, -1), y) * self.kept.to(y.device)
        return torch.nn.functional.pad(z, (0, self.vh.shape[-1] - self.k))

    def u(self, z):
        return self._mul(self.u_mat, z[..., : self.k])


class StackedSVD(SVD):
    """The SVD of a StackedOperator: row i of the batch goes through member i's SVD.

    Every member must have spectral coordinates of one shape and kind (real or complex), e.g. the same
    operator kind drawn with different seeds; singular values are (B, *spectral_shape).
    """

    def __init__(self, members: list[SVD]):
        shapes = {tuple(m.singular_values.shape[1:]) for m in members}
        if len(shapes) != 1 or any(m.singular_values.shape[0] != 1 for m in members):
            raise NoCheapSVDError(f"the operators of the stack have SVDs of different shapes {sorted(shapes)}")
        self.members = members
        self.singular_values = torch.cat([m.singular_values.to(torch.float64) for m in members])

    def _map(self, method: str, v: torch.Tensor) -> torch.Tensor:
        return torch.cat([getattr(m, method)(v[i : i + 1]) for i, m in enumerate(self.members)])

    def vt(self, x):
        return self._map("vt", x)

    def v(self, z):
        return self._map("v", z)

    def ut(self, y):
        return self._map("ut", y)

    def u(self, z):
        return self._map("u", z)


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64
