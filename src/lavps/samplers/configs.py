"""The config (settings dataclass) of every sampler, by the sampler's registry name, free of torch: the
CLI generates its sampler options (and their `--help`) from these without importing the samplers. Each
sampler module re-exports its config (`lavps.samplers.ddim.DDIMConfig`, ...); LAVPS's live in
`lavps_config`. Each config names its sampler class (`implementation`, "module:Class"), which
`registry.SAMPLERS` imports: a new sampler is its module plus its config and `CONFIGS` line here (budget
presets in `presets.PRESETS` are optional).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .config import SamplerConfig, setting
from .lavps_config import AmortizedOnlyConfig, LAVPSConfig
from .settings import MAX_ADAM_STEPS, MAX_STEPS, VIConfig

__all__ = [
    "CONFIGS",
    "config_class",
    "restoring_samplers",
    "DDIMConfig",
    "DPSConfig",
    "SupervisedConfig",
    "DDRMConfig",
    "DiffPIRConfig",
    "MGDMConfig",
]


@dataclass(frozen=True)
class DDIMConfig(SamplerConfig):
    """DDIM's settings (ancestral sampling of the prior, eta = 1)."""

    label = "ddim"
    implementation = "ddim:DDIM"
    restores = False  # it samples the prior: it never reads the observation

    steps: int = setting(100, "Grid size N (3..1000 points): one denoiser call per step.")

    def check(self) -> None:
        self.require("steps", 3 <= self.steps <= MAX_STEPS, f"an integer in 3..{MAX_STEPS}")


@dataclass(frozen=True)
class DPSConfig(DDIMConfig):
    """DPS's settings. Defaults: the paper's 1000 steps; zeta 0.03, tuned on held-out Gaussian-mixture
    problems (the image presets use the paper's 1.0)."""

    label = "dps"
    implementation = "dps:DPS"
    restores = True
    renamed = {"dps_steps": "steps"}

    steps: int = setting(1000, "Grid size N (3..1000 points): one denoiser forward and backward per step.")
    dps_zeta: float = setting(0.03, "DPS step size zeta (>= 0), divided by the residual norm.")

    def check(self) -> None:
        super().check()
        self.require("dps_zeta", self.dps_zeta >= 0, ">= 0")


@dataclass(frozen=True)
class SupervisedConfig(DDIMConfig):
    """The supervised baseline's settings: its DDIM grid (the network is given apart)."""

    label = "supervised"
    implementation = "supervised:SupervisedDDIM"
    restores = False  # its network is trained per problem family (bench gmm)


@dataclass(frozen=True)
class DDRMConfig(SamplerConfig):
    """DDRM's settings; defaults eta = 0.85, eta_b = 1 are the paper's, 20 steps its default budget."""

    label = "ddrm"
    implementation = "ddrm:DDRM"
    renamed = {"ddrm_steps": "steps"}

    steps: int = setting(20, "Denoiser calls (2..999).")
    ddrm_eta: float = setting(0.85, "DDRM eta (in [0, 1]): noise kept in the unobserved and less noisy directions.")
    ddrm_eta_b: float = setting(1.0, "DDRM eta_b (in [0, 1]): weight of the observation in the noisier directions.")
    grid: Literal["uniform_t", "log_sigma"] = setting(
        "uniform_t", "Time grid: uniform in t, or evenly spaced in log sigma_t (denser near the data)."
    )

    def check(self) -> None:
        self.require("steps", 2 <= self.steps < MAX_STEPS, f"an integer in 2..{MAX_STEPS - 1}")
        self.require("ddrm_eta", 0.0 <= self.ddrm_eta <= 1.0, "in [0, 1]")
        self.require("ddrm_eta_b", 0.0 <= self.ddrm_eta_b <= 1.0, "in [0, 1]")


@dataclass(frozen=True)
class DiffPIRConfig(SamplerConfig):
    """DiffPIR's settings; defaults lambda 1.75 and zeta 0.3 are the authors' deblurring run in this
    library's units (see the DiffPIR class), 100 steps their budget."""

    label = "diffpir"
    implementation = "diffpir:DiffPIR"
    renamed = {"diffpir_steps": "steps"}

    steps: int = setting(100, "Denoiser calls (2..999).")
    diffpir_lambda: float = setting(1.75, "DiffPIR lambda (> 0): weight of the prior in the data step.")
    diffpir_zeta: float = setting(0.3, "DiffPIR zeta (in [0, 1]): share of fresh noise when re-noising.")
    diffpir_solver: Literal["auto", "svd", "cg"] = setting(
        "auto", "Data step: the operator's SVD, conjugate gradients, or auto (the SVD when there is one)."
    )
    grid: Literal["uniform_t", "log_sigma"] = setting(
        "uniform_t", "Time grid: uniform in t, or evenly spaced in log sigma_t (denser near the data)."
    )

    def check(self) -> None:
        self.require("steps", 2 <= self.steps < MAX_STEPS, f"an integer in 2..{MAX_STEPS - 1}")
        self.require("diffpir_lambda", self.diffpir_lambda > 0, "> 0")
        self.require("diffpir_zeta", 0.0 <= self.diffpir_zeta <= 1.0, "in [0, 1]")


@dataclass(frozen=True)
class MGDMConfig(VIConfig):
    """MGDM's settings: the shared Gibbs-loop settings (VIConfig) and the Adam steps inside the window."""

    label = "mgdm"
    implementation = "mgdm:MGDM"

    adam_in: int = setting(20, f"Adam steps per iteration inside the window (0..{MAX_ADAM_STEPS}).")

    def check(self) -> None:
        super().check()
        self.require("adam_in", 0 <= self.adam_in <= MAX_ADAM_STEPS, f"in 0..{MAX_ADAM_STEPS}")


#: the samplers by name (this order: `restoring_samplers`, the CLI's option lists)
CONFIGS: dict[str, type[SamplerConfig]] = {
    "ddim": DDIMConfig,
    "dps": DPSConfig,
    "mgdm": MGDMConfig,
    "lavps": LAVPSConfig,
    "amortized-only": AmortizedOnlyConfig,
    "supervised": SupervisedConfig,
    "ddrm": DDRMConfig,
    "diffpir": DiffPIRConfig,
}


def restoring_samplers() -> tuple[str, ...]:
    """The samplers `lavps restore` / `lavps.restore` offer: every one whose config `restores` (in order)."""
    return tuple(name for name, config in CONFIGS.items() if config.restores)


def config_class(name: str) -> type[SamplerConfig]:
    """The config class of sampler `name`; an unknown name is refused with the allowed list."""
    if name not in CONFIGS:
        raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(CONFIGS)}")
    return CONFIGS[name]
