"""The public Python API for images: load a prior, make an operator, degrade, restore.

Images are tensors in [-1, 1], one image (C, H, W) or a batch (B, C, H, W); a path to a PNG (or to the
`.observation.pt` that `lavps degrade` writes) is accepted wherever an image or an observation is.
`lavps degrade` and `lavps restore` are thin wrappers over these functions.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .device import precision_dtype, prior_device, prior_precision, resolve_device
from .finite import DIVERGED_ABOVE
from .imaging.io import FIT_MODES
from .inputs import (
    ImageLike,
    check_clean,
    check_count,
    check_observation_scale,
    check_poisson_counts,
    check_seed,
    check_sigma,
    image_batch,
    observation_batch,
)
from .operators import InverseProblem, Measurement, NoiseModel, PoissonNoise, parse_noise_spec
from .priors.latent import LatentMeasurement, LatentPrior
from .priors.latent import image_shape as _user_shape
from .priors.placement import place_prior
from .priors.specs import prior_fingerprint
from .restore_result import Observation, RestoreResult, restore_output
from .samplers.budget import check_memory
from .samplers.chunked import sample_in_chunks
from .samplers.config import SamplerConfig
from .samplers.estimate import announce_if_long
from .samplers.registry import build_sampler, restoring_samplers
from .version import __version__
from .workflows.image import OperatorSource, resolve_operator, simulate
from .workflows.settings import check_latent_sampler, check_overrides, resolve_settings

__all__ = [
    "Observation",
    "RestoreResult",
    "RunOptions",
    "load_prior",
    "operator",
    "degrade",
    "restore",
    "noise_model",
    "restore_output",
]


@dataclass(frozen=True)
class RunOptions:
    """How `restore` runs (its `run=` argument); none of these changes which posterior is sampled.

    Attributes:
        batch_size: at most this many samples at a time (memory bound); None = all at once. Sample i
            uses seed + i whatever the batch size.
        device: where the prior's network runs ("auto", "cpu", "cuda", "cuda:N", "mps"); None keeps
            the prior where it is (a freshly loaded prior is on the CPU). See docs/devices.md.
        precision: "fp32", "bf16" or "fp16" for the prior's network; None keeps its dtype.
        noise_on_device: draw the noise on the device instead of the CPU (faster on a GPU; other numbers).
        progress: show a progress bar.
        fit: "crop" or "resize" makes an observation image of another shape fit the operator's output.
        check_scale: refuse a linear-Gaussian observation beyond what A x + noise can reach for x in [-1, 1]
            (`lavps.inputs.check_observation_scale`: 0..255 levels, a scaled y) and a Poisson one that is not
            2 k / peak - 1 for whole counts k; warn when the samples leave [-1, 1] by far (a diverged sampler).
            Off for observations of a prior's own draws, which need not stay in [-1, 1] (`lavps bench calibration`).
    """

    batch_size: int | None = None
    device: str | torch.device | None = None
    precision: str | None = None
    noise_on_device: bool = False
    progress: bool = False
    fit: str | None = None
    check_scale: bool = True

    def __post_init__(self):  # checked when made: a typo or a wrong type is named before any loading
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", check_count(self.batch_size, "batch_size"))
        if self.precision is not None:
            precision_dtype(self.precision)
        if self.fit is not None and self.fit not in FIT_MODES:
            raise ValueError(f"fit must be one of {', '.join(FIT_MODES)} or None, got {self.fit!r}")
        for name in ("noise_on_device", "progress", "check_scale"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):  # progress="no" would be true; NumPy's bools are bools
                raise TypeError(f"{name} must be True or False, got {value!r}")
            object.__setattr__(self, name, bool(value))


def load_prior(
    spec: str | Path | None = None,
    class_label: int | str | None = None,
    *,
    device: str | None = None,
    precision: str | None = None,
):
    """A frozen prior from a `--prior` spec (docs/priors.md): None = the shipped MNIST 32x32 prior, a lavps
    `.safetensors` file, a diffusers folder (`diffusers:DIR` or just DIR), `adm:FILE[:PRESET]`, `edm:...`,
    `hdit:FILE[:PRESET]`. class_label: a class index or "null" for a class-conditional HDiT prior.

    device / precision: place it there (see `restore`); None keeps the CPU and the stored dtype. An
    unavailable device is named before the prior is loaded.
    """
    from .priors.specs import load_prior as _load

    target = None if device is None else resolve_device(device)
    prior = _load(None if spec is None else str(spec), class_label=class_label)
    if target is None and precision is None:
        return prior
    target = prior_device(prior) if target is None else target
    return place_prior(prior, target, prior_precision(prior) if precision is None else precision)  # ours: no copy


def operator(
    spec_or_file: str | Path, image_shape: tuple[int, int, int] | None = None, seed: int | None = None
) -> Measurement:
    """An operator from a spec (`motion_blur:9:0.5`, `sr:2`, ...) or an operator file saved by degrade.

    Args:
        spec_or_file: a spec string, or the path of a `.safetensors` operator file.
        image_shape: (C, H, W) the operator acts on (default: the shipped prior's shape).
        seed: draws a random kind (motion_blur, box, pixels); required for those, ignored otherwise.
    """
    if not isinstance(spec_or_file, (str, Path)):
        raise TypeError(
            "an operator is a spec string, an operator file's path or a lavps Measurement (lavps.operators: "
            f"DenseMatrix(matrix), Mask(mask), as_operator(obj, in_shape) for your own), "
            f"got {type(spec_or_file).__name__}"
        )
    if seed is not None:
        seed = check_seed(seed)
    if image_shape is None:
        image_shape = tuple(load_prior().shape)
    if len(image_shape) != 3 or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in image_shape
    ):
        raise ValueError(f"image_shape must be three integers (C, H, W), got {tuple(image_shape)!r}")
    text = str(spec_or_file)
    if text.endswith(".safetensors"):
        return resolve_operator(OperatorSource(operator_file=text), image_shape)
    return resolve_operator(OperatorSource(spec=text, seed=seed), image_shape)


def degrade(
    x: ImageLike,
    operator: Measurement | str,
    sigma: float | None = None,
    seed: int = 0,
    fit: str | None = None,
    noise: str | NoiseModel | None = None,
) -> Observation:
    """Simulate y = A x + sigma n. A spec is drawn from `seed` (random kinds), the noise from seed + 1.

    x: (C, H, W) or (B, C, H, W) in [-1, 1], or an image file (PNG, JPEG, ...) of the operator's / shipped
    prior's shape; fit "crop" or "resize" makes an image of another shape fit (docs/images.md).
    operator: any measurement, linear or not (`jpeg:10`, `phase:2`, `hdr:2`; docs/measurements.md).
    noise: instead of sigma, a noise spec (`poisson:PEAK`, `gaussian:SIGMA`) or model.
    """
    model = noise_model(sigma, noise)
    seed = check_seed(seed)
    if isinstance(operator, Measurement):
        shape = tuple(operator.in_shape)
    elif isinstance(x, torch.Tensor):
        if x.ndim not in (3, 4):
            raise ValueError(f"x must be an image (C, H, W) or a batch (B, C, H, W), got shape {tuple(x.shape)}")
        shape = tuple(x.shape[-3:])
    else:
        shape = tuple(load_prior().shape)
    op = operator if isinstance(operator, Measurement) else _operator_for(operator, shape, seed)
    clean = image_batch(x, shape, fit)
    check_clean(clean)
    sigma_y = getattr(model, "sigma", None)
    y = simulate(clean, op, model, seed)
    if not bool(torch.isfinite(y).all()):  # e.g. sigma 1e300: refuse here, not when the observation is restored
        bad = int((~torch.isfinite(y)).sum())
        raise ValueError(f"the observation drawn with noise {model.spec} holds {bad} non-finite value(s) (nan/inf)")
    return Observation(y, op, sigma_y, seed, model)


def noise_model(sigma: float | None = None, noise: str | NoiseModel | None = None) -> NoiseModel:
    """The noise model of exactly one of sigma (Gaussian sigma_y) or a noise spec / model."""
    if (sigma is None) == (noise is None):
        raise ValueError("give exactly one of sigma (Gaussian noise) or noise (e.g. 'poisson:100', 'gaussian:0.05')")
    return parse_noise_spec(check_sigma(sigma) if noise is None else noise)


def restore(
    y: ImageLike,
    operator: Measurement | str | Path,
    sigma: float | None,
    prior=None,
    sampler: str = "lavps",
    *,
    samples: int = 1,
    seed: int = 0,
    preset: str | None = None,
    settings: SamplerConfig | dict | None = None,
    amortizer=None,
    noise: str | NoiseModel | None = None,
    run: RunOptions | None = None,
    **deprecated,
) -> RestoreResult:
    """Draw `samples` posterior samples x ~ p(x | y) for one observation y = A x + sigma n.

    Args:
        y: the observation (*A.out_shape) or (1, *A.out_shape), a PNG, or degrade's `.observation.pt`.
        operator: a LinearOperator or any Measurement (`lavps.operators.as_measurement`), an operator file
            saved by degrade, or a deterministic spec
            (`sr:2`, `gaussian_blur:9:2`, `center:0.5`, `denoise`); draw a random spec with
            `lavps.operator(spec, seed=...)` first.
        sigma: observation noise std sigma_y (> 0), images in [-1, 1]; None when `noise` is given.
        prior: a loaded prior, a path (see load_prior), or None for the shipped MNIST prior.
        sampler: "lavps", "mgdm", "dps", "ddrm", "diffpir" (`registry.restoring_samplers()`). Every argument
            after it is keyword-only.
        samples: number of samples N; sample i uses seed + i whatever the batch_size.
        preset: budget preset (`lavps.samplers.presets`); None = the sampler's default (the demo's). LAVPS's
            default `auto` runs `fastest` when the operator's family is a linear one the amortizer was trained on
            (a spec, an operator file saved by degrade, or a mask file hiding one box, knows its family) and
            `reference` otherwise.
        settings: a dict of the sampler's config fields over the preset (e.g. {"steps": 20}; "steps" is
            the grid size of any sampler), or a complete config object (e.g. `LAVPSConfig(...)`, without a
            preset). An unknown field is refused with the allowed list. See `lavps.samplers.registry`.
        amortizer: lavps only: a trained amortizer or its file (None: the shipped one).
        noise: instead of sigma, a noise spec or model (`poisson:PEAK`); DDRM and DiffPIR need Gaussian noise
            and a linear operator.
        run: how the restore runs (`RunOptions`: batch size, device, precision, noise on the device,
            progress bar, fitting the observation image); None = RunOptions().
        **deprecated: RunOptions' fields given one by one (batch_size=, device=, ...), accepted for one
            release with a DeprecationWarning; any other name is a TypeError.
    """
    run = _run_options(run, deprecated)
    batch_size, device, precision, fit = run.batch_size, run.device, run.precision, run.fit
    if device is not None:
        device = resolve_device(device)  # an unavailable device is named before any work
    model = noise_model(sigma, noise)  # validates sigma / the noise spec before any work
    samples = check_count(samples, "samples")
    seed = check_seed(seed)
    if not -(2**63) <= seed <= 2**63 - samples:  # torch's generators take signed 64-bit seeds; sample i: seed + i
        raise ValueError(f"seed must be in {-(2**63)}..{2**63 - samples} for {samples} sample(s), got {seed}")
    if sampler not in restoring_samplers():
        raise ValueError(f"unknown sampler {sampler!r}; allowed: {', '.join(restoring_samplers())}")
    given = prior is not None and not isinstance(prior, (str, Path))
    if given and not (hasattr(prior, "denoise") and hasattr(prior, "shape")):
        named = type(prior).__name__
        raise TypeError(f"prior must be a loaded prior (lavps.load_prior), a spec or path, or None; got {named}")
    described = _described(operator, model, prior)
    prior = prior if given else load_prior(prior)
    prior = _placed(prior, device, precision, copy_first=given)
    op = operator if isinstance(operator, Measurement) else _operator_for(operator, _user_shape(prior), None)
    _check_shared(op, samples)
    check_overrides(sampler, settings)  # bad settings are named before the observation is read
    obs = observation_batch(y, op, fit)
    if run.check_scale and getattr(model, "sigma", None) is not None:  # a 0..255 or scaled y: garbage
        check_observation_scale(obs, op, model.sigma)
    elif run.check_scale and isinstance(model, PoissonNoise):
        check_poisson_counts(obs, model, op)
    latent = isinstance(prior, LatentPrior)
    check_latent_sampler(sampler, prior)
    problem = InverseProblem(obs, LatentMeasurement(op, prior) if latent else op, model)  # A(decode(z))
    problem.check_signal_shape(tuple(prior.shape))
    family = getattr(op, "family", None)  # the family that drew it (auto preset); None for a hand-built operator
    resolved = resolve_settings(sampler, preset, settings, prior, family, amortizer)
    particles = getattr(resolved.config, "particles", 0) or 0
    check_memory(sampler, tuple(prior.shape), samples, batch_size, prior_device(prior), particles)  # before any work
    built = build_sampler(sampler, prior, resolved.config, **resolved.networks)
    record = {**resolved.record}
    record.update(
        device=str(prior_device(prior)), precision=prior_precision(prior), noise_on_device=run.noise_on_device
    )
    # across batch sizes a sample agrees only to float rounding (docs/python_api.md): the batch size is part of
    # what reproduces it exactly, as the prior's fingerprint and the version are
    record.update(batch_size=batch_size, prior_fingerprint=prior_fingerprint(prior), lavps_version=__version__)
    record.update(torch_version=torch.__version__, operator_family=getattr(op, "family", None))
    if run.progress:  # a long run says what it will cost before it starts (quiet runs skip the estimate)
        announce_if_long(built, problem, samples, batch_size)
    drawn = sample_in_chunks(built, problem, samples, seed, batch_size, run.progress, run.noise_on_device)
    if latent:  # the user sees images: decode the latent samples, the moments are the images'
        with torch.no_grad():
            images = torch.cat([prior.decode(z) for z in drawn.samples.split(batch_size or samples)])
        if run.check_scale:
            _warn_if_diverged(images, sampler)
        std = images.std(0) if samples > 1 else torch.zeros_like(images[0])
        return RestoreResult(images, images.mean(0), std, drawn.cost, drawn.seeds, record, obs, drawn.info, described)
    if run.check_scale:
        _warn_if_diverged(drawn.samples, sampler)
    moments = drawn.mean, drawn.std
    return RestoreResult(drawn.samples, *moments, drawn.cost, drawn.seeds, record, obs, drawn.info, described)


def _described(operator, model: NoiseModel, prior) -> dict:
    """What a restore is the posterior of, for restore.json: the operator, the noise and the prior as given."""
    if isinstance(operator, Measurement):
        op = {"class": type(operator).__name__, "family": getattr(operator, "family", None)}
    else:
        key = "operator_file" if str(operator).endswith(".safetensors") else "spec"
        op = {key: str(operator)}
    if prior is None or isinstance(prior, (str, Path)):
        named = "shipped" if prior is None else str(prior)
    else:
        named = type(prior).__name__
    return {"operator": op, "sigma": getattr(model, "sigma", None), "noise": model.spec, "prior": named}


def _run_options(run: RunOptions | None, deprecated: dict) -> RunOptions:
    """`run`, or RunOptions from its fields given one by one (the keywords of earlier releases)."""
    unknown = sorted(set(deprecated) - set(RunOptions.__dataclass_fields__))
    if unknown:
        raise TypeError(f"restore() got unexpected keyword argument(s) {', '.join(unknown)}")
    if run is not None and not isinstance(run, RunOptions):
        raise TypeError(f"run must be a lavps.RunOptions (e.g. RunOptions(batch_size=4)) or None, got {run!r}")
    if not deprecated:
        return RunOptions() if run is None else run
    if run is not None:
        raise TypeError(f"give {', '.join(sorted(deprecated))} inside run=RunOptions(...), not beside it")
    warnings.warn(
        f"restore({', '.join(f'{k}=' for k in sorted(deprecated))}) is deprecated and will be removed; "
        "pass run=lavps.RunOptions(...)",
        DeprecationWarning,
        3,
    )
    return RunOptions(**deprecated)


def _placed(prior, device: torch.device | None, precision: str | None, copy_first: bool):
    """The prior on `device` in `precision` (None: as it is). A prior the caller passed in is copied before
    it is moved, never modified; place it once with `lavps.priors.placement.place_prior` to avoid the copy."""
    target_device = prior_device(prior) if device is None else device
    target_precision = prior_precision(prior) if precision is None else precision
    if target_device == prior_device(prior) and target_precision == prior_precision(prior):
        return prior
    return place_prior(copy.deepcopy(prior) if copy_first else prior, target_device, target_precision)


def _operator_for(spec_or_file, image_shape, seed) -> Measurement:
    """`operator` for use inside degrade/restore, whose parameter of that name shadows the function."""
    spec = isinstance(spec_or_file, (str, Path)) and not str(spec_or_file).endswith(".safetensors")
    if spec and len(image_shape) != 3:
        raise ValueError(
            f"operator spec {str(spec_or_file)!r} acts on images (C, H, W), but the prior's signals have shape "
            f"{tuple(image_shape)}: pass an operator object (lavps.operators, e.g. DenseMatrix)"
        )
    return operator(spec_or_file, image_shape, seed)


def _check_shared(op: Measurement, samples: int) -> None:
    """restore draws every sample under the one operator of its one observation: per-sample operators (a Mask of
    a batch of masks, a StackedOperator) would fail deep inside the first step."""
    count = getattr(op, "batch_size", None)
    if count is not None and (count != 1 or samples != 1):
        raise ValueError(
            f"operator {op.name} holds {count} per-sample operators (batch_size={count}); restore takes one "
            "operator shared by all its samples (e.g. Mask(mask[0]) for one mask of a batch)"
        )


def _warn_if_diverged(samples: torch.Tensor, sampler: str) -> None:
    """Settings far outside their tuned range (lr, temperature, dps_zeta x 1000) return finite noise of huge
    magnitude that the PNGs clip without a word: say so (the samples themselves are returned as drawn)."""
    reach = float(samples.abs().max())
    if reach > DIVERGED_ABOVE:
        warnings.warn(
            f"{sampler}'s samples reach |x| = {reach:.3g}, far outside the images' [-1, 1]: the sampler diverged "
            "(a step size, temperature or guidance weight too large?); PNGs clip them to [-1, 1]",
            RuntimeWarning,
            2,
        )
