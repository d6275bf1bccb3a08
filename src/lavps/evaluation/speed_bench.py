"""Speed benchmark on an ADM-sized image prior: seconds per image, network passes and peak memory of DPS,
MGDM and LAVPS, and their ratio to unconditional DDIM on the same grid (METHOD.md section 8).

The prior is a randomly initialised ADM (guided-diffusion) network with the `ffhq` preset's flags
(`lavps.priors.adm`: the FFHQ 256x256 model used by DPS and the LAVPS paper: width 128, channel
multipliers 1,1,2,2,4,4, one ResNet block per level, ResNet up/down-sampling, scale-shift norm,
attention at 16x16 with 64-channel heads, learned sigma; 93.6 M parameters) on diffusers' `UNet2DModel`,
exactly as `lavps.priors.adm.load_adm_prior` builds it. Speed does not depend on the weights, so random
ones are fair. LAVPS uses an untrained UNet amortizer of the shipped kind (its cost is that of a trained one).

A latent prior (`--prior ldm:DIR`) is timed as `lavps restore` runs it: the operator acts on its decoded
images, the samplers on z against A(decode(z)) (`LatentMeasurement`), and every row (DDIM's too) ends with
the decode of its samples; its rows add the decoder's forward and backward passes per sample path.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from ..device import resolve_device
from ..operators import GaussianNoise, InverseProblem, parse_operator_spec
from ..priors.adm import adm_flags, adm_schedule, adm_unet_config
from ..priors.image_unet import ImagePrior, build_unet
from ..priors.latent import LatentMeasurement, LatentPrior, image_shape
from ..priors.placement import place_prior
from ..samplers.presets import PRESETS
from .table import Column, number, text, text_table

__all__ = ["SpeedSettings", "QUICK", "QUICK_ADM_FLAGS", "run_speed_benchmark", "format_speed_table"]


#: `--quick`: guided-diffusion flags of a 16x16x3 ADM of the same kind (3 levels, width 32, attention at 4x4).
QUICK_ADM_FLAGS = {
    "image_size": 16,
    "num_channels": 32,
    "num_res_blocks": 1,
    "channel_mult": "1,2,2",
    "attention_resolutions": "4",
    "num_head_channels": 32,
}


def _budgets(preset: str, inner_steps: int) -> dict[str, dict]:
    """The samplers' `preset` budgets (`lavps.samplers.presets`); LAVPS runs MGDM's grid, window and
    Adam steps outside the window, and the amortizer + guard + `inner_steps` Adam steps inside it."""
    mgdm = dict(PRESETS["mgdm"][preset])
    lavps = {k: v for k, v in mgdm.items() if k != "adam_in"} | {"inner_steps": inner_steps}
    return {"dps": dict(PRESETS["dps"][preset]), "mgdm": mgdm, "lavps": lavps}


#: The paper's budgets (METHOD.md): DPS 1000 steps; MGDM N = 100, 5 Adam steps, 20 in the last 30
#: iterations; LAVPS N = 100, 5 Adam steps outside the window, amortizer + guard + 3 steps inside.
PAPER_BUDGETS = _budgets("paper", 3)


@dataclass(frozen=True)
class SpeedSettings:
    """What the speed benchmark runs: one prior, a grid of (sampler, batch size, precision)."""

    adm_flags: dict = field(default_factory=lambda: adm_flags("ffhq"))
    amortizer_channels: tuple[int, ...] = (32, 64)
    samplers: tuple[str, ...] = ("dps", "mgdm", "lavps")
    batch_sizes: tuple[int, ...] = (1, 8)
    precisions: tuple[str, ...] = ("fp32", "bf16")
    budgets: dict = field(default_factory=lambda: {k: dict(v) for k, v in PAPER_BUDGETS.items()})
    operator: str = "gaussian_blur:9:3.0"
    sigma: float = 0.05
    device: str = "auto"
    noise_on_device: bool = False
    seed: int = 0

    @property
    def shape(self) -> tuple[int, int, int]:
        s = int(self.adm_flags["image_size"])
        return (int(self.adm_flags["in_channels"]), s, s)


#: `--quick`: the same layout at 16x16x3 (3 levels, width 16) and the `tiny` budgets: seconds on a CPU.
QUICK = SpeedSettings(
    adm_flags=adm_flags(QUICK_ADM_FLAGS),
    amortizer_channels=(8, 16),
    batch_sizes=(1, 2),
    budgets=_budgets("tiny", 1),
    operator="gaussian_blur:5:1.0",
)


def _grid_options(name: str, budget: dict) -> dict:
    """The DDIM run on the same grid as `name` (its N: every sampler's `steps`)."""
    return {"steps": budget["steps"]}


def _problem(settings: SpeedSettings, prior) -> InverseProblem:
    """An observation of a random image of the prior's image shape; on a latent prior, posed on z."""
    g = torch.Generator().manual_seed(settings.seed)
    shape = image_shape(prior)
    op = parse_operator_spec(settings.operator, shape).sample_one(g)
    clean = torch.rand(1, *shape, generator=g) * 2 - 1
    noise = GaussianNoise(settings.sigma)
    y = noise.measure(clean, op, torch.randn(1, *op.out_shape, generator=g))
    return InverseProblem(y, LatentMeasurement(op, prior) if isinstance(prior, LatentPrior) else op, noise)


class _DecoderPasses:
    """A latent prior's decoder passes per sample path (a batched decode counts once), counted as
    `CountingDenoiser` counts the denoiser's: forwards by a hook, backwards by a gradient hook on the output."""

    def __init__(self, prior: LatentPrior):
        self.prior, self.forwards, self.backwards = prior, 0, 0
        prior.autoencoder.decoder.register_forward_hook(self._forward)

    def _forward(self, module, args, out) -> None:
        self.forwards += 1
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.register_hook(self._backward)

    def _backward(self, grad: torch.Tensor) -> None:
        self.backwards += 1

    def finish(self, result, device: torch.device):
        """(the cost with the final decode of result's samples timed in, the passes since the last call)."""
        start = time.perf_counter()
        with torch.no_grad():
            self.prior.decode(result.samples)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        cost = replace(result.cost, seconds=result.cost.seconds + time.perf_counter() - start)
        passes = {"decoder_forwards": self.forwards, "decoder_backwards": self.backwards}
        self.forwards = self.backwards = 0
        return cost, passes


def run_speed_benchmark(settings: SpeedSettings, progress: bool = False, prior=None) -> dict:
    """Run every (precision, batch, sampler) once, plus DDIM on each sampler's grid, after a warm-up.

    prior: an image prior (nn.Module) to time instead of the random ADM of `settings.adm_flags`, or a latent
    one (see the module docstring); it is copied for every precision, never modified.

    Returns {"config", "device", "parameters", "rows"}; a row holds seconds per image, denoiser forwards
    and backwards and amortizer forwards per sample path, peak memory (MB, CUDA only) and
    ratio_to_ddim = seconds / seconds of DDIM on the same grid, batch and precision; a latent prior's rows
    also decoder_forwards and decoder_backwards.
    """
    from ..amortize.unet import UNetAmortizer
    from ..samplers.registry import build_sampler

    device = resolve_device(settings.device)
    if prior is None:
        flags = adm_flags(settings.adm_flags)
        torch.manual_seed(settings.seed)  # random weights of the benchmark network only
        net = build_unet(adm_unet_config(flags))
        base = ImagePrior(net, adm_schedule(flags), timestep_offset=-1, prediction="epsilon")
    else:
        if not isinstance(prior, torch.nn.Module) or len(tuple(prior.shape)) != 3:
            raise ValueError(f"bench speed times image priors with a network, not {type(prior).__name__}")
        base = prior
        settings = replace(settings, adm_flags={})
    shape = tuple(base.shape)  # where the samplers run: a latent prior's z
    amortizer = UNetAmortizer(shape, settings.amortizer_channels, 1, "grad")
    rows = []
    for precision in settings.precisions:
        placed = place_prior(copy.deepcopy(base).eval().requires_grad_(False), device, precision)
        decoder = _DecoderPasses(placed) if isinstance(placed, LatentPrior) else None

        for batch in settings.batch_sizes:
            problem = _problem(settings, placed)
            seeds = list(range(settings.seed, settings.seed + batch))
            warm = build_sampler("ddim", placed, {"steps": 3}).sample(
                None, batch, seed=seeds, noise_on_device=settings.noise_on_device
            )
            _finished(warm, decoder, device)  # warm-up, the decoder's too
            ddim: dict[int, float] = {}
            for name in settings.samplers:
                budget = settings.budgets[name]
                grid = _grid_options(name, budget)["steps"]
                if grid not in ddim:
                    res = build_sampler("ddim", placed, {"steps": grid}).sample(
                        None, batch, seed=seeds, noise_on_device=settings.noise_on_device
                    )
                    cost, extra = _finished(res, decoder, device)
                    ddim[grid] = cost.seconds
                    rows.append(_row("ddim", grid, batch, precision, cost, cost.seconds) | extra)
                options = {**budget, **({"amortizer": amortizer} if name == "lavps" else {})}
                t0 = time.perf_counter()
                sampler = build_sampler(name, placed, options)
                res = sampler.sample(
                    problem, batch, seed=seeds, progress=progress, noise_on_device=settings.noise_on_device
                )
                if progress:
                    print(f"{name} batch {batch} {precision}: {time.perf_counter() - t0:.1f} s", flush=True)
                cost, extra = _finished(res, decoder, device)
                rows.append(_row(name, grid, batch, precision, cost, ddim[grid]) | extra)
    params = sum(p.numel() for p in base.parameters())
    config = asdict(replace(settings, device=str(device)))
    return {"config": config, "device": _device_name(device), "parameters": params, "rows": rows}


def _finished(result, decoder: _DecoderPasses | None, device: torch.device):
    """(cost, extra row fields) of a run: a latent prior's samples are decoded, as `lavps restore` does."""
    return (result.cost, {}) if decoder is None else decoder.finish(result, device)


def _row(name: str, grid: int, batch: int, precision: str, cost, ddim_seconds: float) -> dict:
    return {
        "sampler": name,
        "grid": grid,
        "batch": batch,
        "precision": precision,
        "seconds": cost.seconds,
        "seconds_per_image": cost.seconds / batch,
        "denoiser_forwards": cost.denoiser_forwards,
        "denoiser_backwards": cost.denoiser_backwards,
        "amortizer_forwards": cost.amortizer_forwards,
        "peak_memory_mb": cost.peak_memory_mb,
        "ratio_to_ddim": cost.seconds / ddim_seconds if ddim_seconds > 0 else float("nan"),
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def format_speed_table(out: dict) -> str:
    """One line per run: sampler, grid, batch, precision, s/image, passes, peak memory, ratio to DDIM."""
    decoder = any("decoder_forwards" in r for r in out["rows"])  # a latent prior's
    table = text_table(
        [
            text("sampler", 8, "sampler"),
            number("grid", 5, "grid"),
            number("batch", 5, "batch"),
            text("prec", 5, "precision"),
            number("s/image", 9, "seconds_per_image", ".3f"),
            number("fwd", 6, "denoiser_forwards"),
            number("bwd", 6, "denoiser_backwards"),
            number("amort", 5, "amortizer_forwards"),
            *([number("dec", 5, "decoder_forwards"), number("decbwd", 6, "decoder_backwards")] if decoder else []),
            Column("peak MB", 8, lambda r: "-" if r["peak_memory_mb"] is None else f"{r['peak_memory_mb']:.0f}"),
            number("x DDIM", 7, "ratio_to_ddim", ".2f"),
        ],
        out["rows"],
    )
    return f"device: {out['device']}, prior: {out['parameters'] / 1e6:.1f} M parameters\n{table}"
