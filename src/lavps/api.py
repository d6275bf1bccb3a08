"""The public Python API for images: load a prior, make an operator, degrade, restore.

Images are tensors in [-1, 1], one image (C, H, W) or a batch (B, C, H, W); a path to a PNG (or to the
`.observation.pt` that `lavps degrade` writes) is accepted wherever an image or an observation is.
`lavps degrade` and `lavps restore` are thin wrappers over these functions.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .device import prior_device, prior_precision, resolve_device
from .imaging.io import fit_image, load_image, read_observation_file, write_png
from .jsonfile import write_json
from .metrics import psnr, ssim
from .operators import InverseProblem, Measurement, NoiseModel, parse_noise_spec
from .outputs import OutputFolder
from .priors.latent import LatentMeasurement, LatentPrior
from .priors.latent import image_shape as _user_shape
from .priors.placement import place_prior
from .samplers.budget import check_memory
from .samplers.chunked import sample_in_chunks
from .samplers.config import SamplerConfig
from .samplers.cost import Cost
from .samplers.estimate import announce_if_long
from .samplers.registry import build_sampler, restoring_samplers
from .workflows.image import OperatorSource, resolve_operator, simulate, timestamp
from .workflows.settings import check_overrides, resolve_settings

__all__ = ["Observation", "RestoreResult", "RunOptions", "load_prior", "operator", "degrade", "restore", "noise_model"]

ImageLike = torch.Tensor | str | Path


@dataclass(frozen=True)
class Observation:
    """y = A x + sigma n: the observation (B, *A.out_shape), the operator A, sigma (None for non-Gaussian
    noise), the seed used and the noise model (`lavps.operators.GaussianNoise` or `PoissonNoise`)."""

    y: torch.Tensor
    operator: Measurement
    sigma: float | None
    seed: int
    noise: NoiseModel | None = None


@dataclass
class RestoreResult:
    """Posterior samples of one observation.

    Attributes:
        samples: (N, C, H, W) in [-1, 1]; sample i was drawn with seed seeds[i] = seed + i.
        mean, std: (C, H, W) pixelwise posterior mean and unbiased std (zeros for N = 1).
        cost: seconds (all chunks) and denoiser / amortizer passes per sample path.
        seeds: the per-sample seeds.
        settings: what restore.json records of the sampler: {"sampler", "settings": asdict(its config),
            "preset", ...} (`lavps.samplers.registry.settings_from_record` rebuilds the config).
        observation: the observation y (1, *A.out_shape) the samples are conditioned on.
        info: sampler diagnostics (e.g. LAVPS's per-iteration fraction of samples where the network won).
    """

    samples: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    cost: Cost
    seeds: list[int]
    settings: dict
    observation: torch.Tensor
    info: dict = field(default_factory=dict)

    def scores(self, reference: ImageLike) -> list[dict]:
        """Per sample {"seed", "psnr", "ssim"} against a clean reference image (tensor or PNG)."""
        ref = _image(reference, tuple(self.samples.shape[1:]))
        if ref.shape[0] != 1:  # one clean image scores every sample
            raise ValueError(f"a reference is one image; got a batch of {ref.shape[0]}")
        _check_clean(ref, "the reference")  # a NaN or a 0..255 reference would score silently (NaN, ~4 dB)
        x = self.samples
        pairs = zip(psnr(x, ref.expand_as(x)), ssim(x, ref.expand_as(x)), strict=True)
        return [{"seed": s, "psnr": float(p), "ssim": float(q)} for s, (p, q) in zip(self.seeds, pairs, strict=True)]

    def save(
        self, out_dir: str | Path, record: dict | None = None, reference=None, overwrite: bool = False, **where
    ) -> Path:
        """Write reconstruction_XXX.png, observation.png, posterior_mean/std.png (N > 1) and restore.json.

        The folder appears only when complete. `record` adds entries to restore.json (e.g. where the
        observation and operator came from); `reference` adds per-sample PSNR/SSIM. out_dir must be new,
        empty or hold only an earlier restore's outputs (replaced with overwrite=True; lavps.outputs).
        """
        rows = [{"index": i, "seed": s} for i, s in enumerate(self.seeds)]
        if reference is not None:
            for row, score in zip(rows, self.scores(reference), strict=True):
                row.update(psnr=score["psnr"], ssim=score["ssim"])
        n = len(self.seeds)
        where = {"option": "out_dir", "flag": "overwrite=True", **where}  # the CLI names its options
        with restore_output(out_dir, overwrite, **where) as tmp:
            for i in range(n):
                write_png(self.samples[i], tmp / f"reconstruction_{i:03d}.png")
            write_png(self.observation[0], tmp / "observation.png")
            if n > 1:
                write_png(self.mean, tmp / "posterior_mean.png")
                write_png(self.std, tmp / "posterior_std.png", value_range=(0.0, max(float(self.std.max()), 1e-8)))
            payload = {"date": timestamp(), **(record or {}), **self.settings, "samples": rows}
            payload.update(cost=self.cost.to_dict(), seconds_per_sample=self.cost.seconds / n, info=self.info)
            write_json(tmp / "restore.json", payload)
        return Path(out_dir)


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
    """

    batch_size: int | None = None
    device: str | torch.device | None = None
    precision: str | None = None
    noise_on_device: bool = False
    progress: bool = False
    fit: str | None = None


RESTORE_OUTPUTS = r"reconstruction_\d{3}\.png|observation\.png|posterior_(mean|std)\.png|restore\.json"


def restore_output(out_dir: str | Path, overwrite: bool = False, inputs=(), **where) -> OutputFolder:
    """The output folder of one restore (see lavps.outputs): checked now, written on entering."""
    return OutputFolder(out_dir, "restore.json", overwrite, inputs, legacy=RESTORE_OUTPUTS, **where)


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
    if seed is not None:
        _check_seed(seed)
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
    _check_seed(seed)
    if isinstance(operator, Measurement):
        shape = tuple(operator.in_shape)
    elif isinstance(x, torch.Tensor):
        shape = tuple(x.shape[-3:])
    else:
        shape = tuple(load_prior().shape)
    op = operator if isinstance(operator, Measurement) else _operator_for(operator, shape, seed)
    clean = _image(x, shape, fit)
    _check_clean(clean)
    sigma_y = getattr(model, "sigma", None)
    y = simulate(clean, op, model, seed)
    if not bool(torch.isfinite(y).all()):  # e.g. sigma 1e300: refuse here, not when the observation is restored
        bad = int((~torch.isfinite(y)).sum())
        raise ValueError(f"the observation drawn with noise {model.spec} holds {bad} non-finite value(s) (nan/inf)")
    return Observation(y, op, sigma_y, int(seed), model)


def _check_seed(seed) -> None:
    """Seeds are integers: a float such as 1.5 would be truncated by the generators yet recorded as given."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")


#: a clean image with no negative value and a maximum above this reads as 0..255 (or 0..65535) levels
_LEVELS_ABOVE = 1.5


def _check_clean(x: torch.Tensor, what: str = "the clean image") -> None:
    """A clean image (degrade's input, a reference) is finite and on the [-1, 1] scale of every prior: a NaN,
    or 8-bit levels passed as is, would otherwise be degraded or scored without a word. (Values beyond
    [-1, 1] on both sides are a prior's own draws, e.g. `lavps bench calibration`'s: allowed.)"""
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{what} holds {int((~torch.isfinite(x)).sum())} non-finite value(s) (nan/inf)")
    low, high = float(x.min()), float(x.max())
    if low >= 0 and high > _LEVELS_ABOVE:
        raise ValueError(
            f"{what} spans {low:g}..{high:g}, which reads as pixel levels; lavps images lie in [-1, 1] "
            "(from 0..255: x / 127.5 - 1)"
        )


def noise_model(sigma: float | None = None, noise: str | NoiseModel | None = None) -> NoiseModel:
    """The noise model of exactly one of sigma (Gaussian sigma_y) or a noise spec / model."""
    if (sigma is None) == (noise is None):
        raise ValueError("give exactly one of sigma (Gaussian noise) or noise (e.g. 'poisson:100', 'gaussian:0.05')")
    return parse_noise_spec(float(sigma) if noise is None else noise)


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
            (a spec, or an operator file saved by degrade, knows its family) and `reference` otherwise.
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
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    _check_seed(seed)
    if not -(2**63) <= seed <= 2**63 - samples:  # torch's generators take signed 64-bit seeds; sample i: seed + i
        raise ValueError(f"seed must be in {-(2**63)}..{2**63 - samples} for {samples} sample(s), got {seed}")
    if sampler not in restoring_samplers():
        raise ValueError(f"unknown sampler {sampler!r}; allowed: {', '.join(restoring_samplers())}")
    given = prior is not None and not isinstance(prior, (str, Path))
    prior = prior if given else load_prior(prior)
    prior = _placed(prior, device, precision, copy_first=given)
    op = operator if isinstance(operator, Measurement) else _operator_for(operator, _user_shape(prior), None)
    check_overrides(sampler, settings)  # bad settings are named before the observation is read
    obs = _observation(y, op, fit)
    latent = isinstance(prior, LatentPrior)
    problem = InverseProblem(obs, LatentMeasurement(op, prior) if latent else op, model)  # A(decode(z))
    problem.check_signal_shape(tuple(prior.shape))
    check_memory(sampler, tuple(prior.shape), samples, batch_size, prior_device(prior))  # before any work
    family = getattr(op, "family", None)  # the family that drew it (auto preset); None for a hand-built operator
    resolved = resolve_settings(sampler, preset, settings, prior, family, amortizer)
    built = build_sampler(sampler, prior, resolved.config, **resolved.networks)
    record = {**resolved.record}
    record.update(
        device=str(prior_device(prior)), precision=prior_precision(prior), noise_on_device=run.noise_on_device
    )
    if run.progress:  # a long run says what it will cost before it starts (quiet runs skip the estimate)
        announce_if_long(built, problem, samples, batch_size)
    drawn = sample_in_chunks(built, problem, samples, seed, batch_size, run.progress, run.noise_on_device)
    if latent:  # the user sees images: decode the latent samples, the moments are the images'
        with torch.no_grad():
            images = torch.cat([prior.decode(z) for z in drawn.samples.split(batch_size or samples)])
        std = images.std(0) if samples > 1 else torch.zeros_like(images[0])
        return RestoreResult(images, images.mean(0), std, drawn.cost, drawn.seeds, record, obs, drawn.info)
    return RestoreResult(drawn.samples, drawn.mean, drawn.std, drawn.cost, drawn.seeds, record, obs, drawn.info)


def _run_options(run: RunOptions | None, deprecated: dict) -> RunOptions:
    """`run`, or RunOptions from its fields given one by one (the keywords of earlier releases)."""
    unknown = sorted(set(deprecated) - set(RunOptions.__dataclass_fields__))
    if unknown:
        raise TypeError(f"restore() got unexpected keyword argument(s) {', '.join(unknown)}")
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
    return operator(spec_or_file, image_shape, seed)


def _image(x: ImageLike, shape: tuple[int, ...], fit: str | None = None, by: str = "the prior expects") -> torch.Tensor:
    """(B, C, H, W) float32 from a tensor (C, H, W) / (B, C, H, W) or an image file, of `shape` or fitted
    to it with fit = "crop" | "resize" (`lavps.imaging.io.fit_image`); `by` names who expects `shape`."""
    if isinstance(x, (str, Path)):
        return load_image(x, shape, fit, by=by)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected an image tensor or a PNG path, got {type(x).__name__}")
    x = x.float()
    if x.ndim == len(shape):
        x = x[None]
    if fit is not None and x.ndim == 4:
        x = fit_image(x, shape, fit, by=by)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{by} an image of shape {tuple(shape)} or a batch of them, got {tuple(x.shape)}")
    return x


def _observation(y: ImageLike, op: Measurement, fit: str | None = None) -> torch.Tensor:
    """One observation (1, *out_shape) from a tensor, an image file or degrade's .observation.pt."""
    if isinstance(y, (str, Path)) and str(y).endswith(".pt"):
        y = read_observation_file(y)
    named = getattr(op, "family", None) or type(op).__name__
    y = _image(y, tuple(op.out_shape), fit, by=f"the operator {named} observes")
    if y.shape[0] != 1:
        raise ValueError(f"restore takes one observation at a time, got a batch of {y.shape[0]}")
    return y
