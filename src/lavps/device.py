"""Device and precision of the prior's network: `--device auto|cpu|cuda|cuda:N|mps`, `--precision fp32|bf16|fp16`.
Putting a prior there is `lavps.priors.placement.place_prior`.

Only the prior's network changes device and dtype. Variational parameters, likelihoods and the amortizer
stay in float32, ratios of abar in float64 (formed on the CPU, cast to float32, then moved: MPS has no
float64). Random draws are made on the CPU with the per-sample generators and moved (random.py), so a
seed gives the same noise on every device.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["PRECISIONS", "resolve_device", "precision_dtype", "prior_device", "prior_precision", "full_float32"]

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """'auto' -> cuda if available, else mps, else cpu; 'cpu', 'cuda', 'cuda:N', 'mps' are checked. Under
    torchrun 'cuda' (and 'auto' on a GPU machine) is the rank's own GPU, cuda:LOCAL_RANK (`_rank_cuda`).

    Raises:
        ValueError: an unknown spec, or a device this machine does not have (naming what it has).
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    text = "auto" if spec is None else str(spec).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return _rank_cuda()
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not _mps_available():
            raise ValueError("device 'mps' is not available on this machine (no Apple GPU); use --device cpu or auto")
        return torch.device("mps")
    if text == "cuda" or text.startswith("cuda:"):
        index = text.partition(":")[2]
        if index and not index.isdigit():
            raise ValueError(f"invalid device {spec!r}: expected cuda:N with an integer N")
        if not torch.cuda.is_available():
            cuda = torch.version.cuda
            built = "without CUDA" if cuda is None else f"with CUDA {cuda}, but no GPU found"
            raise ValueError(f"device {spec!r} is not available: this torch is built {built}; use --device cpu or auto")
        count = torch.cuda.device_count()
        if index and int(index) >= count:
            raise ValueError(f"device {spec!r} is not available: this machine has {count} CUDA device(s)")
        return torch.device(text) if index else _rank_cuda()
    raise ValueError(f"unknown device {spec!r}; allowed: auto, cpu, cuda, cuda:N, mps")


def _rank_cuda() -> torch.device:
    """'cuda' without an index: under torchrun (WORLD_SIZE > 1) the GPU of this rank's LOCAL_RANK (modulo the GPUs),
    so that N ranks on one machine share out its GPUs instead of all landing on GPU 0; else the current GPU."""
    local = os.environ.get("LOCAL_RANK", "")
    if local.isdigit() and os.environ.get("WORLD_SIZE", "1").strip() not in ("", "1"):
        return torch.device("cuda", int(local) % max(torch.cuda.device_count(), 1))
    return torch.device("cuda")


def precision_dtype(name: str | torch.dtype) -> torch.dtype:
    """'fp32' | 'bf16' | 'fp16' (or the torch dtype itself) -> torch dtype."""
    if isinstance(name, torch.dtype):
        if name not in PRECISIONS.values():
            raise ValueError(f"unsupported precision {name}; allowed: {', '.join(PRECISIONS)}")
        return name
    dtype = PRECISIONS.get(str(name).strip().lower())
    if dtype is None:
        raise ValueError(f"unknown precision {name!r}; allowed: {', '.join(PRECISIONS)}")
    return dtype


def prior_device(prior) -> torch.device:
    """Where a prior's denoiser runs: its `device` attribute if it has one, else the device of its first
    parameter (of the prior, or of the prior it wraps), else the CPU."""
    explicit = getattr(prior, "device", None)
    if isinstance(explicit, (str, torch.device)):
        return torch.device(explicit)
    module = prior if isinstance(prior, nn.Module) else getattr(prior, "prior", None)
    if isinstance(module, nn.Module):
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


def prior_precision(prior) -> str:
    """'fp32' | 'bf16' | 'fp16': the dtype of the prior's network weights (or of a `QuantizedPrior`)."""
    dtype = getattr(prior, "dtype", None)
    if not isinstance(dtype, torch.dtype):
        module = prior if isinstance(prior, nn.Module) else getattr(prior, "prior", None)
        params = module.parameters() if isinstance(module, nn.Module) else iter(())
        dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
    names = {v: k for k, v in PRECISIONS.items()}
    return names.get(dtype, str(dtype).removeprefix("torch."))


@contextmanager
def full_float32():
    """cuDNN convolutions and CUDA matmuls in IEEE float32 inside the block, the flags restored after it. PyTorch
    runs float32 convolutions in TF32 (a 10-bit mantissa) on Ampere and later GPUs by default; a finite difference
    of two network passes cannot afford it (`lavps.priors.latent.LatentMeasurement`). No effect on the CPU."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):  # torch >= 2.9: the per-operator flags
        matmul = torch.backends.cuda.matmul
        saved = conv.fp32_precision, matmul.fp32_precision
        conv.fp32_precision = matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            conv.fp32_precision, matmul.fp32_precision = saved
        return
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = cudnn.allow_tf32, matmul.allow_tf32
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        yield
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved
