"""The amortizer f_phi of LAVPS (docs/METHOD.md section 5) and its inputs.

    (mu, rho) = (m + dmu, log s + drho),   (dmu, drho) = f_phi(x_t, x0, y_img, sigma_t, sigma_tau)

where N(m, s^2 I) is the bridge prior q_{tau|0,t}(. | x0, x_t), y_img brings the observation into
signal space and sigma_t = sqrt((1 - abar_t) / abar_t) encodes a time. Every network has a
zero-initialised output layer, so an untrained one reproduces MGDM's zero-shot start exactly.
Networks are rebuilt from a JSON `config` whose `arch` key picks the class from `ARCHITECTURES`
(the image issue registers a UNet with `register_architecture`); nothing else is ever executed.
"""

from __future__ import annotations

import importlib
import math
from typing import ClassVar

import torch
from torch import nn

from ..constants import calibration_key
from ..diffusion import Schedule, Time
from ..objective import DRAWS, BridgePrior, linearised_start
from ..operators.noise import InverseProblem
from ..operators.spec import parse_operator_spec
from ..priors.specs import prior_fingerprint

__all__ = [
    "INPUT_KINDS",
    "ARCHITECTURES",
    "Network",
    "Amortizer",
    "amortizer_inputs",
    "observation_feature",
    "time_code",
    "bridge_std",
    "build_network",
    "register_architecture",
    "check_compatible",
    "trained_families",
    "trained_family_for",
    "calibrated_temperature",
    "calibrated_draw",
]

INPUT_KINDS = ("pinv", "grad", "linear")
ARCHITECTURES: dict[str, type[nn.Module]] = {}
#: this package's image architectures, imported when a config first names them: their modules import
#: diffusers / the HDiT, which listing a command's options (`lavps restore --help`) never needs
_BUILT_IN = {"unet": "lavps.amortize.unet", "hdit": "lavps.amortize.hdit"}


def register_architecture(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: make `cls` loadable from a config with `{"arch": cls.arch}`."""
    ARCHITECTURES[cls.arch] = cls
    return cls


def build_network(config: dict) -> nn.Module:
    """A fresh network from its JSON config (`arch` picks the class); ValueError for a bad config."""
    arch = config.get("arch") if isinstance(config, dict) else None
    if arch in _BUILT_IN and arch not in ARCHITECTURES:
        importlib.import_module(_BUILT_IN[arch])  # registers it
    if arch not in ARCHITECTURES:
        allowed = ", ".join(sorted(set(ARCHITECTURES) | set(_BUILT_IN)))
        raise ValueError(f"unknown network architecture {arch!r}; allowed: {allowed}")
    try:
        return ARCHITECTURES[config["arch"]].from_config(config)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"invalid {config['arch']!r} network config {config}: {type(e).__name__}: {e}") from None


def amortizer_inputs(
    kind: str,
    problem: InverseProblem,
    x0: torch.Tensor,
    bridge: BridgePrior | None = None,
    abar_tau: torch.Tensor | None = None,
) -> torch.Tensor:
    """y_img, the observation brought into signal space:
    "pinv" -> A^+ y; "grad" -> A^T (y - A x0) / sigma_y^2 (the likelihood gradient at x0);
    "linear" -> d = mu_lin - m, the Gaussian-linearised inner solution's move from the bridge mean
    (`lavps.objective.linearised_start`; needs the bridge and abar_tau). "grad" and "linear" only use
    A through products with A and A^T, so one network can serve many operators.
    """
    if kind == "pinv":
        return problem.y_signal(at=x0).to(x0.dtype)  # A^+ y; a Gauss-Newton step from x0 if A is non-linear
    if kind == "grad":
        return problem.likelihood_gradient(x0).to(x0.dtype)
    if kind == "linear":
        if bridge is None or abar_tau is None:
            raise ValueError("input kind 'linear' needs the bridge prior and abar_tau")
        mu, _ = linearised_start(bridge, x0, abar_tau, problem)
        return (mu - bridge.mean).to(x0.dtype)
    raise ValueError(f"unknown amortizer input kind {kind!r}; allowed: {', '.join(INPUT_KINDS)}")


def observation_feature(kind: str, y_img: torch.Tensor, s: torch.Tensor, signal_scale: float = 1.0) -> torch.Tensor:
    """The network's view of y_img (s: the bridge std, broadcastable): "grad" -> asinh(s * grad) (the
    likelihood's pull in units of s, bounded for sharp unseen likelihoods); "linear" -> asinh(d / s)
    (the linearised move in units of s); "pinv" -> A^+ y / signal_scale."""
    if kind == "grad":
        return torch.asinh(s * y_img)
    if kind == "linear":
        return torch.asinh(y_img / s)
    return y_img / signal_scale


def time_code(
    schedule: Schedule, t: Time, batch_size: int, dtype: torch.dtype, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """sigma_t = sqrt((1 - abar_t) / abar_t) as a (B,) tensor for an int or (B,) time index, on `device`."""
    sigma = schedule.sigma(t).to(dtype).to(device)
    return sigma.expand(batch_size) if sigma.ndim == 0 else sigma


def bridge_std(sigma_t: torch.Tensor, sigma_tau: torch.Tensor) -> torch.Tensor:
    """Std s of q_{tau|0,t} from the time codes: s^2 = (sig_t^2 - sig_tau^2) sig_tau^2 / (sig_t^2 (1 + sig_tau^2))."""
    st, sa = sigma_t.double() ** 2, sigma_tau.double() ** 2
    return ((st - sa).clamp_min(0.0) * sa / (st * (1.0 + sa))).sqrt().to(sigma_t.dtype)


class Network(nn.Module):
    """What every amortization network shares (amortizers and the supervised baseline's conditional denoisers).

    Attributes:
        config: JSON-able architecture config (`arch`, `shape`, `input_kind`, sizes) to rebuild it.
        info: JSON-able provenance (prior description with its fingerprint, window, training settings).
    """

    arch: ClassVar[str] = ""

    def __init__(self, config: dict):
        super().__init__()
        if config.get("input_kind") not in INPUT_KINDS:
            raise ValueError(f"unknown input_kind {config.get('input_kind')!r}; allowed: {', '.join(INPUT_KINDS)}")
        self.config = dict(config, arch=self.arch)
        self.info: dict = {}

    @classmethod
    def from_config(cls, config: dict) -> Network:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.config["shape"])

    @property
    def input_kind(self) -> str:
        return self.config["input_kind"]


class Amortizer(Network):
    """Interface: forward(x_t, x0, y_img, sigma_t, sigma_tau) -> (dmu, drho), both of x_t's shape."""

    def start(
        self, problem: InverseProblem, bridge: BridgePrior, x_t, x0, abar_tau, sigma_t, sigma_tau
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's candidate for this inner problem, inputs included (what LAVPS and training call)."""
        y_img = amortizer_inputs(self.input_kind, problem, x0, bridge=bridge, abar_tau=abar_tau)
        return self.candidate(bridge, x_t, x0, y_img, sigma_t, sigma_tau)

    def candidate(
        self,
        bridge: BridgePrior,
        x_t: torch.Tensor,
        x0: torch.Tensor,
        y_img: torch.Tensor,
        sigma_t: torch.Tensor,
        sigma_tau: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's (mu, rho) = (m + dmu, log s + drho) for the inner problem with this bridge prior.

        With input kind "linear" the network is a residual around the Gaussian-linearised solution,
        mu = m + d_lin + dmu (y_img = d_lin), so an untrained one reproduces that solution instead.
        """
        dmu, drho = self(x_t, x0, y_img, sigma_t, sigma_tau)
        if self.input_kind == "linear":
            dmu = dmu + y_img
        return bridge.mean + dmu, bridge.log_std.expand_as(bridge.mean) + drho


def trained_families(amortizer, shape: tuple[int, ...]) -> set[str]:
    """Canonical specs of the operator families in the amortizer's card ('gaussian_blur:9:2.0' and
    'gaussian_blur:9:2' are the same family): tells an operator it was trained on from an unseen one."""
    names = str((getattr(amortizer, "info", None) or {}).get("family", {}).get("name", ""))
    out = set()
    for name in filter(None, (n.strip() for n in names.split(","))):
        try:
            out.add(parse_operator_spec(name, shape).spec)
        except ValueError:  # a family of another kind (e.g. a vector family): no image operator has it
            continue
    return out


def trained_family_for(amortizer, family: str | None, shape: tuple[int, ...] | None = None) -> str | None:
    """The amortizer's trained family (a canonical spec) that the operator family `family` (a canonical spec)
    belongs to: itself, or a trained family whose draws include every operator it draws (`covers`: box:0.3:0.5
    includes center:0.35), or None: an unseen family. `shape`: the image shape, else the card's."""
    shape = shape or getattr(amortizer, "shape", None)
    if family is None or not shape:
        return None
    shape = tuple(int(s) for s in shape)
    trained = trained_families(amortizer, shape)
    if family in trained:
        return family
    try:
        target = parse_operator_spec(family, shape)
    except ValueError:
        return None
    return next((name for name in sorted(trained) if parse_operator_spec(name, shape).covers(target)), None)


def calibrated_temperature(
    amortizer, family: str | None, shape: tuple[int, ...] | None = None, preset: str = "fastest"
) -> float | None:
    """The variance temperature fitted for this operator family (a canonical spec) and LAVPS preset by `lavps
    calibrate-amortizer` (the card's info[calibration_key(preset)]["temperature"], keyed by canonical specs), or
    None: no fit for it. With the image shape a key written another way ('gaussian_blur:9:2.0') matches too."""
    value = _calibration_entry(amortizer, "temperature", family, shape, preset)
    if value is None:
        return None
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = math.nan
    if not (math.isfinite(t) and t > 0):
        raise ValueError(
            f"the amortizer card's calibrated temperature for {family} is {value!r}; expected a number > 0"
        )
    return t


def calibrated_draw(
    amortizer, family: str | None, shape: tuple[int, ...] | None = None, preset: str = "fastest"
) -> str | None:
    """How `preset` draws x_tau on this family as `lavps calibrate-amortizer --draws` chose it (the card's
    info[calibration_key(preset)]["draw"]: "diagonal" or "linearised", `VISettings.draw`), or None: no choice."""
    value = _calibration_entry(amortizer, "draw", family, shape, preset)
    if value is not None and value not in DRAWS:
        raise ValueError(f"the amortizer card's calibrated draw for {family} is {value!r}; expected one of {DRAWS}")
    return value


def _calibration_entry(
    amortizer, table_name: str, family: str | None, shape: tuple[int, ...] | None, preset: str = "fastest"
):
    """The card's info[calibration_key(preset)][table_name][family] (None if absent); with the image shape a
    key written another way matches its canonical spec."""
    record = (getattr(amortizer, "info", None) or {}).get(calibration_key(preset))
    table = (record.get(table_name) if isinstance(record, dict) else None) or {}
    if family is None or not isinstance(table, dict):
        return None
    value = table.get(family)
    if value is None and shape is not None:
        for name, entry in table.items():
            try:
                if parse_operator_spec(name, shape).spec == family:
                    return entry
            except ValueError:
                continue
    covering = trained_family_for(amortizer, family, shape) if value is None else None
    if covering not in (None, family):  # a family inside a trained one takes that one's fit
        return _calibration_entry(amortizer, table_name, covering, shape, preset)
    return value


def check_compatible(net: nn.Module, prior, source: str = "the network") -> None:
    """Raise ValueError if `net` (an amortizer or conditional denoiser) was not made for `prior`.

    Checks the signal shape, then the prior fingerprint recorded at training time (when there is one).
    """
    shape = tuple(int(s) for s in net.config["shape"])
    hint = ""
    if isinstance(net, Amortizer):  # a latent prior's amortizer is not trained from images: say what runs instead
        hint = AMORTIZER_HINT
        if hasattr(prior, "image_shape"):  # a LatentPrior: diffusers is loaded already, importing it costs nothing
            from ..priors.latent import LATENT_AMORTIZER_HINT

            hint = f"; {LATENT_AMORTIZER_HINT}"
    if shape != tuple(prior.shape):
        raise ValueError(
            f"{source} was trained for signals of shape {shape}, but the prior has shape {tuple(prior.shape)}{hint}"
        )
    recorded = (getattr(net, "info", None) or {}).get("prior", {}).get("fingerprint")
    if recorded is not None and recorded != prior_fingerprint(prior):
        spec = net.info["prior"].get("spec", "?")
        raise ValueError(
            f"{source} was trained on another prior ({spec!r}, fingerprint {recorded}); "
            f"this prior's fingerprint is {prior_fingerprint(prior)}{hint}"
        )


#: What to run when LAVPS has no amortizer for the prior (appended to the refusal; a latent prior's:
#: `lavps.priors.latent.LATENT_AMORTIZER_HINT`, as images do not train one).
AMORTIZER_HINT = (
    "; LAVPS needs an amortizer trained for this prior: use --sampler mgdm (no amortizer), or train one with "
    "`lavps train-amortizer --prior SPEC --data IMAGES --out DIR` and pass --amortizer DIR/amortizer.safetensors"
)
