"""Latent diffusion priors: a diffusers autoencoder + a latent UNet2DModel + a scheduler (`--prior ldm:DIR`).

The folder has the layout of diffusers' unconditional LDM pipelines (e.g. CompVis/ldm-celebahq-256):
vqvae/ (a VQModel) or vae/ (an AutoencoderKL), unet/ (a UNet2DModel on latents) and scheduler/; the
UNet is read by the pixel adapter (`load_diffusers_prior`). Samplers run on the latent z (the prior's
`shape`); an observation of the image is y = A(decode(z)) (`LatentMeasurement`), so every operator,
linear ones included, becomes non-linear in z. Scaling: an AutoencoderKL's latents are z = scaling_factor
* (its own latent), decoded as decode(z / scaling_factor) (its config's factor); a VQModel's are decoded
as they are, with quantisation, as diffusers' LDMPipeline does (its straight-through quantiser passes the
gradient). Weights: safetensors, or a .bin read with `torch.load(weights_only=True)`; nothing runs code.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
from diffusers import AutoencoderKL, VQModel
from diffusers.models.attention_processor import Attention, AttnProcessor

from ..device import full_float32
from ..operators.families import OperatorFamily
from ..operators.measurement import Linearization, Measurement
from .config_checks import check_int, check_number
from .diffusers_folder import LATENT_AUTOENCODERS, _read_json, _read_weights, load_diffusers_prior
from .image_unet import ImagePrior, _load_weights

__all__ = [
    "LatentPrior",
    "LatentMeasurement",
    "LatentFamily",
    "load_latent_prior",
    "image_shape",
    "default_latent_prior_path",
    "AUTOENCODERS",
    "LATENT_AMORTIZER_HINT",
    "check_training_data",
]

#: subfolder -> the diffusers class it must hold
AUTOENCODERS = LATENT_AUTOENCODERS


class LatentPrior(torch.nn.Module):
    """A latent UNet prior plus the autoencoder's decoder (frozen, eval mode).

    Attributes:
        schedule, shape: the latent UNet's schedule and latent shape (C_z, h, w): samplers run on z.
        image_shape: (C, H, W) of decode(z), in [-1, 1].
        autoencoder_kind: "VQModel" or "AutoencoderKL".
    """

    #: submodules `place_prior` keeps in float32 whatever the precision: only the denoiser runs in bf16 / fp16
    fp32_parts = ("autoencoder",)

    def __init__(self, latent: ImagePrior, autoencoder: torch.nn.Module, scaling_factor: float = 1.0):
        super().__init__()
        self.latent, self.autoencoder = latent, autoencoder
        for module in autoencoder.modules():  # a VQModel has no set_attn_processor: every Attention block
            if isinstance(module, Attention):
                # plain-math attention: CPU's fused attention has no double backward, which the Jacobian
                # products of a non-linear measurement (J v by double backward) go through
                module.set_processor(AttnProcessor())
        self.autoencoder_kind = type(autoencoder).__name__
        self.scaling_factor = float(scaling_factor)
        # no tensor holds them, yet they change every decoded image: the prior's fingerprint hashes them
        self.fingerprint_config = {"autoencoder": self.autoencoder_kind, "scaling_factor": self.scaling_factor}
        self.schedule, self.shape = latent.schedule, tuple(latent.shape)
        with torch.no_grad():
            probe = self.decode(torch.zeros(1, *self.shape))
        self.image_shape: tuple[int, int, int] = tuple(int(s) for s in probe.shape[1:])  # type: ignore[assignment]

    def denoise(self, z_t: torch.Tensor, t) -> torch.Tensor:
        return self.latent.denoise(z_t, t)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latents (B, *shape) of images (B, C, H, W): the posterior mean (KL) or the pre-quantisation
        latent (VQ), scaled as the samplers see them; in x's dtype and device."""
        weight = next(self.autoencoder.parameters())
        out = self.autoencoder.encode(x.to(device=weight.device, dtype=weight.dtype))
        h = out.latent_dist.mean if hasattr(out, "latent_dist") else out.latents
        return (h * self.scaling_factor).to(device=x.device, dtype=x.dtype)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) of latents (B, *shape), differentiable; in z's dtype and device."""
        weight = next(self.autoencoder.parameters())
        h = (z / self.scaling_factor).to(device=weight.device, dtype=weight.dtype)
        return self.autoencoder.decode(h).sample.to(device=z.device, dtype=z.dtype)


class LatentMeasurement(Measurement):
    """z -> A(decode(z)): an image measurement seen from the latent space (non-linear in z)."""

    def __init__(self, operator: Measurement, prior: LatentPrior):
        if tuple(operator.in_shape) != tuple(prior.image_shape):
            raise ValueError(
                f"operator {operator.name} acts on images {tuple(operator.in_shape)}, the latent prior decodes to "
                f"{tuple(prior.image_shape)}"
            )
        self.operator, self.prior = operator, prior
        self.in_shape, self.out_shape = tuple(prior.shape), tuple(operator.out_shape)
        self.batch_size = operator.batch_size
        self.name = f"{operator.name} of decode"
        self.jvp_by_difference = prior.autoencoder_kind == "AutoencoderKL"  # see `linearize`

    def forward(self, z):
        self.check_input(z)
        return self.operator.forward(self.prior.decode(z))

    def exact_forward(self, z):
        self.check_input(z)
        return self.operator.exact_forward(self.prior.decode(z))

    def restrict(self, y):
        return self.operator.restrict(y)

    #: the step of the decoder's finite-difference JVP, relative to the direction's RMS: 3e-3 keeps the
    #: error of J v under 1% on ldm:mnist's decoder (float32: smaller steps lose digits, larger ones bend)
    JVP_STEP = 3e-3

    def linearize(self, z):
        """A(decode(z)) and its Jacobian products at z; J^T w is a backward pass through one graph.

        Through a smooth decoder (an AutoencoderKL's; `jvp_by_difference`) J v = J_A (J_decode v), the
        decoder's part the difference (decode(z + h v) - decode(z)) / h: one decoder forward without a
        graph, against ~3 VJPs for the protocol's double backward, and the same Gauss-Newton solutions
        (results/latent/README.md). A VQModel quantises in decode, where only the straight-through
        gradient sees a slope: it keeps the double backward."""
        if not self.jvp_by_difference:
            return super().linearize(z)
        self.check_input(z)
        z = z.detach().requires_grad_(True)
        with torch.enable_grad(), full_float32():  # the difference's base: no TF32 either
            image = self.prior.decode(z)
            value = self.operator.forward(image)
        base = image.detach()
        inner = []  # a non-linear image operator's own linearisation at decode(z), built on first use

        def vjp(w):
            (out,) = torch.autograd.grad(value, z, w.to(value.dtype), retain_graph=True)
            return out

        def jvp(v):
            v = v.to(z.dtype)
            size = v.pow(2).mean(tuple(range(1, v.ndim)), keepdim=True).sqrt().clamp_min(1e-30)
            h = self.JVP_STEP / size  # per sample: sample i never depends on its batch-mates
            with torch.no_grad(), full_float32():  # TF32 convolutions: 18% error, not 0.4% (emulated on the CPU)
                d = (self.prior.decode(z + h * v) - base) / h
                if self.operator.is_linear:
                    return self.operator.forward(d)
            if not inner:
                inner.append(self.operator.linearize(base))
            return inner[0].jvp(d)

        return Linearization(value.detach(), jvp, vjp)


class LatentFamily(OperatorFamily):
    """Image operators of `family` seen from a latent prior's space (`LatentMeasurement`): what a latent
    amortizer trains on. Its name is the image family's, so the card names image specs."""

    def __init__(self, family: OperatorFamily, prior: LatentPrior):
        self.family, self.prior = family, prior

    @property
    def name(self) -> str:
        return self.family.name

    def __repr__(self) -> str:
        return f"LatentFamily({self.family!r})"

    def sample(self, batch_size: int, generator: torch.Generator) -> LatentMeasurement:
        return LatentMeasurement(self.family.sample(batch_size, generator), self.prior)

    def sample_one(self, generator: torch.Generator) -> LatentMeasurement:
        return LatentMeasurement(self.family.sample_one(generator), self.prior)


def default_latent_prior_path() -> Path:
    """The shipped latent MNIST prior's folder (`--prior ldm:mnist`)."""
    return Path(str(resources.files("lavps") / "assets" / "mnist32_ldm"))


def image_shape(prior) -> tuple[int, ...]:
    """The shape of the signals a user sees: a latent prior's decoded images, else the prior's own shape."""
    return tuple(getattr(prior, "image_shape", prior.shape))


#: What to run with a latent prior that has no amortizer: lavps trains one only on a prior's own clean latents
#: (ldm:mnist's encoded MNIST train split); images (`--data`) are never encoded into latents for training.
LATENT_AMORTIZER_HINT = (
    "lavps trains a latent prior's amortizer only on its own clean latents (ldm:mnist: `lavps train-amortizer "
    "--prior ldm:mnist`), not from images: restore with --sampler mgdm or dps, which need no amortizer"
)


def check_training_data(preset, images: bool) -> None:
    """Refuse, in one line, training an amortizer for a latent prior (a `PriorPreset`'s) from images (`images`:
    --data given) or without clean latents of its own (`ldm:DIR`): images are never encoded for training, and
    either would fail later (the images' channels are not the latents')."""
    if not isinstance(preset.prior, LatentPrior):
        return
    if images:
        raise ValueError(f"--data is not supported with the latent prior {preset.spec!r}: {LATENT_AMORTIZER_HINT}")
    if preset.clean is None:
        raise ValueError(f"the latent prior {preset.spec!r} has no clean training latents: {LATENT_AMORTIZER_HINT}")


def _autoencoder(folder: Path) -> tuple[torch.nn.Module, float]:
    found = [(sub, cls) for sub, cls in AUTOENCODERS.items() if (folder / sub / "config.json").is_file()]
    if len(found) != 1:
        raise FileNotFoundError(
            f"latent diffusion folder {folder} needs exactly one autoencoder: vqvae/ (VQModel) or vae/ "
            f"(AutoencoderKL), each with config.json; found {[s for s, _ in found] or 'none'}"
        )
    sub, expected = found[0]
    config_path = folder / sub / "config.json"
    config = _read_json(config_path)
    if config.get("_class_name", expected) != expected:
        raise ValueError(f"{config_path}: {sub}/ must hold a {expected}, found {config['_class_name']!r}")
    cls = VQModel if expected == "VQModel" else AutoencoderKL
    try:
        net = cls.from_config(config)
    except Exception as e:
        raise ValueError(f"{config_path}: not a {expected} config ({type(e).__name__}: {e})") from None
    tensors, path = _read_weights(folder / sub)
    _load_weights(net, tensors, path)
    scaling = 1.0  # a VQModel's latents are decoded as they are (LDMPipeline ignores its scaling_factor)
    if expected == "AutoencoderKL":
        scaling = check_number(
            str(config_path),
            "scaling_factor",
            config.get("scaling_factor", 0.18215),
            "a finite number > 0",
            lambda v: v > 0,
        )
    return net.eval().requires_grad_(False), scaling


def _latent_channels(autoencoder: torch.nn.Module) -> int:
    """Channels of the latents the UNet sees: a VQModel quantises in vq_embed_dim channels when that is set."""
    config = autoencoder.config
    if isinstance(autoencoder, VQModel) and config.get("vq_embed_dim") is not None:
        return int(config.vq_embed_dim)
    return int(config.latent_channels)


def _check_latent_size(folder: Path, autoencoder: torch.nn.Module, unet_size: tuple[int, ...]) -> None:
    """The UNet's sample_size against the autoencoder's image size / 2**(levels - 1), where the autoencoder's
    config.json states its sample_size (diffusers' class default says nothing about the trained images)."""
    sub = "vqvae" if isinstance(autoencoder, VQModel) else "vae"
    stated = _read_json(folder / sub / "config.json").get("sample_size")
    if stated is None:
        return
    sizes = stated if isinstance(stated, (list, tuple)) else [stated, stated]
    for v in sizes:
        check_int(str(folder / sub / "config.json"), "sample_size", v, 1)
    factor = 2 ** (len(autoencoder.config.block_out_channels) - 1)
    expected = tuple(int(v) // factor for v in sizes)
    if tuple(unet_size) != expected:
        raise ValueError(
            f"{folder}: unet/ sample_size {_size(unet_size)} does not fit the autoencoder's latents: {sub}/ "
            f"sample_size {_size(tuple(sizes))} / 2**{len(autoencoder.config.block_out_channels) - 1} = "
            f"{_size(expected)}"
        )


def _size(hw: tuple) -> str:
    return str(hw[0]) if hw[0] == hw[1] else f"{hw[0]}x{hw[1]}"


def load_latent_prior(folder: str | Path) -> LatentPrior:
    """The frozen `LatentPrior` of a diffusers LDM folder (see the module docstring); "mnist": the shipped one."""
    folder = default_latent_prior_path() if str(folder) == "mnist" else Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"latent diffusion folder not found: {folder}")
    autoencoder, scaling = _autoencoder(folder)
    if not (folder / "unet").is_dir():
        raise FileNotFoundError(f"latent diffusion folder {folder} lacks unet/ (a UNet2DModel on latents)")
    latent = load_diffusers_prior(folder / "unet")  # scheduler from ../scheduler/, as in a pipeline folder
    channels = _latent_channels(autoencoder)
    if latent.shape[0] != channels:
        raise ValueError(
            f"{folder}: the UNet takes {latent.shape[0]} channels, the autoencoder's latents have {channels}"
        )
    _check_latent_size(folder, autoencoder, tuple(latent.shape[1:]))
    return LatentPrior(latent, autoencoder, scaling).eval().requires_grad_(False)
