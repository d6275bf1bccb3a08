"""Named budget presets per image sampler: one table shared by `lavps restore`, `lavps.restore` and the demo.

A preset is a plain option dictionary for `build_sampler` holding ONLY the settings of its sampler.
`fast` for MGDM and LAVPS is exactly the demo's budget (grid N = 50, window 15, one Adam step per
iteration, lr 0.03), so the demo's speed claims carry over; `reference` is the demo's MGDM budget
(5 Adam steps outside, 20 inside the window) and its DPS; `paper` is the method's reference setting
(N = 100, window 30; DPS on 1000 steps); `tiny` only checks that a pipeline runs (seconds, poor images).
"""

from __future__ import annotations

__all__ = [
    "PRESETS",
    "DEFAULT_PRESET",
    "SETTING_KEYS",
    "PRESET_HELP",
    "preset_names",
    "preset_options",
    "describe_presets",
]

_GRID = {"steps": 50, "window": 15, "lr": 0.03}  # the grid and window the shipped amortizer was trained for

#: sampler -> preset name -> options for `build_sampler` (images in [-1, 1])
PRESETS: dict[str, dict[str, dict]] = {
    "dps": {
        "tiny": {"dps_steps": 10, "dps_zeta": 1.0},
        "fast": {"dps_steps": 100, "dps_zeta": 1.0},
        "reference": {"dps_steps": 250, "dps_zeta": 1.0},
        "paper": {"dps_steps": 1000, "dps_zeta": 1.0},
    },
    "mgdm": {
        "tiny": {"steps": 8, "window": 3, "lr": 0.03, "adam_out": 1, "adam_in": 1},
        "fast": {**_GRID, "adam_out": 1, "adam_in": 1},
        "reference": {**_GRID, "adam_out": 5, "adam_in": 20},
        "paper": {"steps": 100, "window": 30, "lr": 0.03, "adam_out": 5, "adam_in": 20},
    },
    "ddrm": {
        "tiny": {"ddrm_steps": 5},
        "fast": {"ddrm_steps": 20},
        "reference": {"ddrm_steps": 100},
    },
    "diffpir": {
        "tiny": {"diffpir_steps": 5},
        "fast": {"diffpir_steps": 20},
        "reference": {"diffpir_steps": 100},
    },
    "lavps": {
        "tiny": {"steps": 8, "window": 3, "lr": 0.03, "adam_out": 1, "inner_steps": 1},
        "fast": {**_GRID, "adam_out": 1, "inner_steps": 1},
        "reference": {**_GRID, "adam_out": 5, "inner_steps": 3},
    },
}

_VI = ("steps", "window", "lr", "lr_inside", "adam_out", "n_reps", "tau", "min_tau", "tau_threshold")
#: sampler -> every option a user may set on top of a preset (the keys `build_sampler` reads for it)
SETTING_KEYS: dict[str, tuple[str, ...]] = {
    "dps": ("dps_steps", "dps_zeta"),
    "ddrm": ("ddrm_steps", "ddrm_eta", "ddrm_eta_b"),
    "diffpir": ("diffpir_steps", "diffpir_lambda", "diffpir_zeta", "diffpir_solver"),
    "mgdm": (*_VI, "adam_in", "denoise_steps", "whiten"),
    # inner_steps replaces adam_in; the guard's options: see samplers/lavps.py (GuardSettings)
    "lavps": (*_VI, "denoise_steps", "whiten", "inner_steps", "guard", "candidates", "linear_iters", "reuse_draw"),
}

#: The preset a sampler runs when none is named: the budget the demo reports for it.
DEFAULT_PRESET = {"dps": "reference", "mgdm": "reference", "ddrm": "fast", "diffpir": "reference", "lavps": "fast"}


def preset_names() -> list[str]:
    """Every preset name, in the order of the table (for the CLI's choices)."""
    return list(dict.fromkeys(name for table in PRESETS.values() for name in table))


def preset_options(sampler: str, preset: str | None = None) -> tuple[str, dict]:
    """(resolved preset name, a copy of its options) for `sampler`; None = DEFAULT_PRESET[sampler].

    Raises:
        ValueError: a sampler without presets, or a preset this sampler does not have.
    """
    if sampler not in PRESETS:
        raise ValueError(f"no budget presets for sampler {sampler!r}; samplers with presets: {', '.join(PRESETS)}")
    name = DEFAULT_PRESET[sampler] if preset is None else preset
    if name not in PRESETS[sampler]:
        raise ValueError(f"sampler {sampler!r} has no preset {name!r}; allowed: {', '.join(PRESETS[sampler])}")
    return name, dict(PRESETS[sampler][name])


#: What each preset is for (help texts)
PRESET_HELP = {
    "tiny": "seconds, only checks a pipeline",
    "fast": "the demo's LAVPS budget (N=50, 1 Adam step per iteration); DDRM and DiffPIR 20 steps",
    "reference": "the demo's MGDM (5 / 20 Adam steps) and DPS (250 steps) budgets; DDRM and DiffPIR 100 steps",
    "paper": "the MGDM paper's N=100, window 30; DPS 1000 steps",
}


def describe_presets() -> str:
    """What each preset means and each sampler's default, for help texts."""
    meaning = "; ".join(f"{name}: {PRESET_HELP[name]}" for name in preset_names())
    defaults = ", ".join(f"{s} {p}" for s, p in DEFAULT_PRESET.items())
    return f"{meaning}. Default: {defaults} (lavps, ddrm and diffpir have no paper preset)."
