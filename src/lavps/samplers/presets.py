"""Named budget presets per image sampler: one table shared by `lavps restore`, `lavps.restore` and the demo.

A preset is a partial dictionary of its sampler's config fields (e.g. `MGDMConfig`), typed as the fields
are (tuples, bools, never comma strings); the rest keeps the config's defaults. `resolve_settings`
validates it against the config (tests/test_settings.py checks every preset and tuned entry).
The demo runs these presets (evaluation/demo.py, DEMO_ROWS), so its speed claims carry over:
LAVPS `auto` (the default: `fastest` on the amortizer's training families, `reference` elsewhere; AUTO),
LAVPS `fast` (grid N = 20, the shipped amortizer's, plus a last point at tau = 20; guard network vs
linearised solution, one scored pass per iteration, no Adam step inside), LAVPS `multimodal` (what `auto`
runs on phase retrieval: the network's proposal with 5 Gibbs repetitions per iteration, an output that does
not explain y redrawn up to twice),
MGDM `reference` (N = 50, 5 Adam steps outside, 20 inside the last 15 iterations), DPS `reference`
(250 steps), DDRM `fast`/`reference` (20/100 denoiser calls), DiffPIR `reference` (100). `paper` is the
method's reference setting (N = 100, window 30; DPS on 1000 steps); `lavps-paper` is the LAVPS paper's
protocol as its official configuration files state it (`lavps bench paper`, docs/paper_bench.md); `tiny`
only checks that a pipeline runs (seconds, poor images).
"""

from __future__ import annotations

from ..constants import CALIBRATED_PRESETS

__all__ = [
    "PRESETS",
    "AUTO",
    "LATENT",
    "LATENT_LAVPS",
    "latent_fields",
    "DEFAULT_PRESET",
    "auto_budget",
    "calibrated_fields",
    "PRESET_HELP",
    "preset_names",
    "preset_options",
    "describe_presets",
    "TUNED",
    "tuned_options",
    "KIND_DEFAULTS",
    "kind_defaults",
    "with_kind_defaults",
    "fit_to_grid",
]

_GRID = {"steps": 50, "window": 15, "lr": 0.03}  # MGDM's reference grid: N = 50, Adam in the last 15 iterations
# LAVPS's grid: the shipped amortizer was trained on N = 20 with every iteration in its window (17), plus
# one more point at tau = 20 (final_tau): N = 20 alone ends at T_1 = 52, where D(x_52) keeps visible noise;
# measured on held-out digits (preset fastest): SSIM +0.03..+0.17 on all 8 families (box 0.72 -> 0.89),
# PSNR -0.04..+0.40 dB, for one more denoiser call (docs/lavps_settings.md)
_SHORT = {"steps": 20, "window": 17, "lr": 0.03, "adam_out": 1, "final_tau": 20}
# the network's log-std plus the linearised likelihood's mean-field shrink (samplers/lavps.py): +0.3 to +1.9 dB
# over the network's own variance on held-out digits of every family (docs/METHOD.md section 5)
# and, below tau = 200 (the last 5 of 18 window iterations), the linearised solution in place of the
# network (no amortizer forward): PSNR within -0.3..+0.03 dB, SSIM +0.02..+0.11 on held-out digits
_SHRINK = {"linear_variance": True, "linear_below": 200}
# the network's own log-std widened by a variance temperature of 2 (calibration on prior draws, docs/calibration.md)
_CALIBRATED = {"linear_variance": False, "temperature": 2.0}

# On a likelihood that is not linear-Gaussian the Gauss-Newton pieces (the guard's linearised candidate, its
# stand-in below tau 200, the variance shrink, the network's likelihood input) see only its linearisation, blind
# where the Jacobian vanishes (hdr:2 saturates 97% of pixels): the LAVPS paper's G_in = 3 Adam steps on the exact
# likelihood after the guard. Tuning digits (results/nonlinear/README.md): hdr:2 -0.93 -> -0.42 dB to
# MGDM-reference, Poisson denoising -0.68 -> -0.22, jpeg:25 and phase:2 within their intervals (phase: -1.5 dB
# aligned in mean), at 0.149x MGDM-reference's passes (0.074x with one step). Re-checked on fresh tuning digits
# (results/nonlinear_tune2): G_in 4 / 5 / 6 / 10, a larger inner lr, no GN stand-in or shrink, an adaptive budget
# and a zero-shot candidate were all flat or worse on hdr:2, phase:2 and jpeg:10; G_in 5 already read 0.32x
# MGDM-reference's measured seconds on hdr:2
_NONLINEAR_STEPS = {"nonlinear_inner_steps": 3}

# Phase retrieval's posterior has exact modes (shifted and flipped copies); LAVPS's samples that matched no copy
# (38% of 24 reported digits under `reference`, MGDM-reference 0%) are blends that the Adam steps cannot undo.
# Gibbs repetitions (re-noise to t and solve again, MGDM's n_reps) of the network's one-pass proposal let a sample
# leave a blend (results/nonlinear_tune3: 6 repetitions, aligned gap to MGDM-reference +0.06 / +1.67 dB on tuning
# sets A / B); a sample still in no mode does not explain y (discrepancy 1.17-1.28 against 1.00-1.09), so it is
# redrawn (`restarts`, lavps.samplers.restarts). 5 repetitions + 2 restarts read +3.11 / +1.00 dB at the same
# mean passes as 6 repetitions alone (results/nonlinear_restarts/README.md). Repetitions lost 0.5-0.6 dB on
# hdr:2 and jpeg:10, so they are kept for multimodal likelihoods (`ImageOperatorFamily.multimodal`)
_MIXING = {"n_reps": 5, "restarts": 2}

# The LAVPS paper's protocol, read from its official code's configs/sampler/{dps,mgdm,lavps}.yaml: N = 100
# with the window on the last 30 iterations, Adam lr 0.01; MGDM 3 Adam steps outside and 3 inside;
# LAVPS 5 outside, inside the inference model's start against the zero-shot one (best of) then 3 steps;
# DPS 1000 steps with zeta ("gamma") 0.1, its linear-task default (bench paper sets the per-task values)
_PAPER_GRID = {"steps": 100, "window": 30, "lr": 0.01}

#: sampler -> preset name -> config fields over the config's defaults (images in [-1, 1])
PRESETS: dict[str, dict[str, dict]] = {
    "dps": {
        "tiny": {"steps": 10, "dps_zeta": 1.0},
        "fast": {"steps": 100, "dps_zeta": 1.0},
        "reference": {"steps": 250, "dps_zeta": 1.0},
        "paper": {"steps": 1000, "dps_zeta": 1.0},
        "lavps-paper": {"steps": 1000, "dps_zeta": 0.1},
    },
    "mgdm": {
        "tiny": {"steps": 8, "window": 3, "lr": 0.03, "adam_out": 1, "adam_in": 1},
        # LAVPS's grid with enough Adam steps to use the likelihood: with 1 / 1 steps at lr 0.03 (the setting
        # until now) MGDM's draws stayed near the prior's (~12 dB on every MNIST family); 2 / 5 at lr 0.1:
        # 17.7-28.0 dB on 10 tuning digits at ~1/4.5 of `reference`'s seconds
        "fast": {**_SHORT, "lr": 0.1, "adam_out": 2, "adam_in": 5},
        "reference": {**_GRID, "adam_out": 5, "adam_in": 20},
        "paper": {"steps": 100, "window": 30, "lr": 0.03, "adam_out": 5, "adam_in": 20},
        "lavps-paper": {**_PAPER_GRID, "adam_out": 3, "adam_in": 3},
    },
    "ddrm": {
        "tiny": {"steps": 5},
        # log-sigma grid at 20 steps: +0.04..+1.84 dB over uniform-in-t on all six tuning families (10 digits,
        # offset 30); at 100 steps uniform-in-t wins everywhere (-0.96..-1.85 dB for log-sigma): docs/baselines.md
        "fast": {"steps": 20, "grid": "log_sigma"},
        "reference": {"steps": 100},
    },
    "diffpir": {
        "tiny": {"steps": 5},
        "fast": {"steps": 20},
        "reference": {"steps": 100},
    },
    "lavps": {
        "tiny": {"steps": 8, "window": 3, "lr": 0.03, "adam_out": 1, "inner_steps": 1},
        # guard: the network's proposal vs the Gaussian-linearised solution, one scored pass per
        # iteration, the winner's draw is kept; both with the likelihood's variance shrink
        "fast": {**_SHORT, "inner_steps": 0, "candidates": ("network", "linear"), "reuse_draw": True, **_SHRINK},
        # the network's proposal alone (no guard, no Adam step): one denoiser forward per iteration. Calibrated
        # (results/calibration/default_fix): without the shrink and at variance temperature 2 the truth's rank
        # among 15 samples of prior draws is near uniform on sr:4, box and motion blur (with the shrink at T = 1,
        # 96% of 48 motion-blur truths lay beyond every sample); it costs 1-2.4 dB of one-sample PSNR there.
        # An amortizer whose card holds per-family temperatures (lavps calibrate-amortizer; the shipped one does)
        # replaces the 2 by its family's (calibrated_fields): 17 of 18 coverages within +-5 points instead of 16.
        # Its card may also choose the draw per family (`draw` "linearised": the linearised inner problem's full
        # covariance around the network's mean; the shipped card does on five of six families: 18 of 18,
        # results/calibration/linearised_draw)
        "fastest": {**_SHORT, "inner_steps": 0, "guard": False, **_SHRINK, **_CALIBRATED},
        # the guard of `fast`, then one Adam step on the inner problem; _NONLINEAR_STEPS where the likelihood
        # is not linear-Gaussian (non-linear A or non-Gaussian noise; linear-Gaussian runs are unchanged)
        "reference": {**_SHORT, "inner_steps": 1, "candidates": ("network", "linear"), **_SHRINK, **_NONLINEAR_STEPS},
        # the network's proposal with the likelihood's variance shrink (no guard, no Adam step, temperature 1),
        # _MIXING Gibbs repetitions per iteration and restarts: for a likelihood with several exact modes (phase
        # retrieval), where the re-noising lets a sample leave a blend of modes and a sample left in none is redrawn
        "multimodal": {**_SHORT, "inner_steps": 0, "guard": False, **_SHRINK, **_MIXING},
        "lavps-paper": {
            **_PAPER_GRID,
            "adam_out": 5,
            "inner_steps": 3,
            "guard": True,
            "candidates": ("network", "zero_shot"),
        },
    },
}

#: DDRM, DiffPIR (and LAVPS) settings tuned per operator family on held-out digits that no report uses (the
#: demo's digit offset 30, 10 digits, sigma_y 0.05, the MNIST prior v1 -- the shipped one before its
#: fine-tuning; PSNR of one sample): DDRM at 20 steps
#: over eta x eta_b in {0.5, 0.7, 0.85, 1} x {0.4, 0.7, 1}, DiffPIR at 100 steps over lambda x zeta in
#: {0.1, 0.2, 0.5, 1.75, 5, 15} x {0.1, 0.3, 0.6, 0.9, 1} (searched in three passes, docs/baselines.md);
#: DPS-250's step zeta on the non-linear tasks (the shipped prior, 3 digits at offset 30; below).
#: The demo applies them (`lavps.restore` does not). Keys are canonical specs (`family.spec`); a family
#: without an entry runs the papers' defaults.
TUNED: dict[str, dict[str, dict]] = {
    "ddrm": {
        "motion_blur:9:0.5": {"ddrm_eta": 0.5, "ddrm_eta_b": 1.0},
        # gaussian_blur:9:2: the defaults (0.85, 1.0) were best
        "sr:2": {"ddrm_eta": 1.0, "ddrm_eta_b": 1.0},
        "sr:4": {"ddrm_eta": 1.0, "ddrm_eta_b": 1.0},
        "box:0.3:0.5": {"ddrm_eta": 1.0, "ddrm_eta_b": 1.0},
        "pixels:0.2": {"ddrm_eta": 1.0, "ddrm_eta_b": 1.0},
    },
    "diffpir": {
        "motion_blur:9:0.5": {"diffpir_lambda": 1.75, "diffpir_zeta": 1.0},
        "gaussian_blur:9:2": {"diffpir_lambda": 0.5, "diffpir_zeta": 1.0},
        "sr:2": {"diffpir_lambda": 0.2, "diffpir_zeta": 1.0},
        "sr:4": {"diffpir_lambda": 0.1, "diffpir_zeta": 1.0},
        "box:0.3:0.5": {"diffpir_lambda": 1.75, "diffpir_zeta": 1.0},
        "pixels:0.2": {"diffpir_lambda": 0.1, "diffpir_zeta": 1.0},
    },
    # DPS: its step on JPEG and HDR is a default of those kinds (KIND_DEFAULTS), for `lavps.restore` too
    "dps": {},
    # LAVPS: none. restart_zeta = 1 on box inpainting was one (+0.8 dB with amortizer v2); with amortizer v3
    # and final_tau it gained -0.01 dB on 20 tuning digits, so it was dropped (docs/lavps_settings.md)
    "lavps": {},
}


#: Defaults a sampler needs on an operator kind where the paper's own default fails, applied wherever it runs
#: (`lavps.restore`, the demo, bench; a setting the user gives wins): sampler -> kind -> settings.
#: DPS at its default step (zeta 1) diverges on JPEG (|x| 1.2e4-1.5e4 on every tuning digit: 16.8 / 21.9 dB of
#: clipped noise on jpeg:10 / jpeg:25) and loses 2.7 dB on hdr:2. On 3 tuning digits (offset 30), zeta in
#: {1, 0.5, 0.3, 0.2, 0.1}: jpeg:10 16.79 / 19.87 (2 of 3 diverged) / 26.13 / 26.29 / 25.31 dB, jpeg:25 21.94 /
#: 24.12 / 29.04 / 29.33 / 27.52, hdr:2 26.20 / 28.92 / 28.45 / 27.83 / 26.90; phase:2 keeps zeta 1 (13.16 /
#: 12.83 at 0.3 / 10.88 at 0.1). Measured at jpeg:10 / jpeg:25 and hdr:2, applied to every quality and scale.
KIND_DEFAULTS: dict[str, dict[str, dict]] = {
    "dps": {"jpeg": {"dps_zeta": 0.2}, "hdr": {"dps_zeta": 0.5}},
}


def kind_defaults(sampler: str, spec: str | None) -> dict:
    """The settings `sampler` needs on the kind of this operator spec (KIND_DEFAULTS; {} if none or no spec)."""
    kind = (spec or "").split(":")[0]
    return dict(KIND_DEFAULTS.get(sampler, {}).get(kind, {}))


def with_kind_defaults(sampler: str, values: dict, spec: str | None) -> tuple[dict, dict]:
    """(a preset's values with its kind's defaults, the defaults applied): a kind default replaces the
    sampler's standard value (its `reference` preset's) only; a preset that sets its own (`lavps-paper`'s DPS
    zeta 0.1, which does not diverge) keeps it. The one rule of `lavps.restore` and the demo."""
    standard = PRESETS.get(sampler, {}).get("reference", {})
    applied = {
        k: v for k, v in kind_defaults(sampler, spec).items() if values.get(k, standard.get(k)) == standard.get(k)
    }
    return {**values, **applied}, applied


def tuned_options(sampler: str, spec: str) -> dict:
    """The tuned settings of `sampler` for a canonical operator spec ({} if none: the papers' defaults)."""
    return dict(TUNED.get(sampler, {}).get(spec, {}))


#: LAVPS's `auto` preset: the budget it picks for an operator family the amortizer was trained on (its card
#: lists them; a family inside one counts, `amortize.network.trained_family_for`) and for any other operator
#: (unseen family, kernel file, a mask file that hides no single box, unknown origin). Measured on
#: the demo's 20 held-out digits (docs/lavps_settings.md): on the six training families `fastest` is within
#: 0.02 dB of `fast` or better at 0.65x its seconds; on the two unseen ones `reference` is +0.9 to +1.5 dB
#: over `fast` and `fastest` (its Adam step uses the likelihood where the network is out of its depth).
#: On a non-linear measurement (jpeg, phase, hdr) `auto` runs `reference` whether or not the family is a
#: trained one: the network sees the likelihood only through its Gauss-Newton linearisation there, and
#: `fastest` has neither the guard nor a step on the exact likelihood to catch a proposal in the wrong basin
#: (phase:2: the unguarded proposal matched no copy of x* on 3/8 tuning digits; results/nonlinear/README.md).
#: On a family with several exact modes of its likelihood (phase retrieval: `ImageOperatorFamily.multimodal`)
#: `auto` runs `multimodal` instead (Gibbs repetitions, see _MIXING).
#: On a latent prior (`ldm:`) `auto` runs `reference` on every family: there `fastest` (N = 20, T = 2)
#: stayed 1.0-1.6 dB under latent MGDM-reference on the shipped latent amortizer's own families and
#: `reference` (with LATENT's 2 Adam steps) is 0.16-0.19 dB under it at 0.20-0.24x its seconds
#: (16 reported digits, results/latent/paired_inner2).
AUTO = {
    "trained": "fastest",
    "unseen": "reference",
    "nonlinear": "reference",
    "multimodal": "multimodal",
    "latent": "reference",
}

#: LAVPS on a latent prior, over any preset: below tau = 300 (the last 6 of the 18 window iterations) the
#: Gauss-Newton solution through decode and A stands in for the network (5 CG iterations, its log-std from 16
#: VJP probes; objective.gauss_newton_start); above, the guard compares the network with the zero-shot start
#: (one scored pass) and the network keeps its own variance (the shrink there would cost 16 decoder VJPs per
#: iteration and gained nothing). On 8 tuning digits (test offset 30), preset reference: -2.3 dB -> -0.5 dB
#: (sr:2) and -2.4 -> -0.35 dB (gaussian_blur) to MGDM-reference, at about twice the seconds
#: (results/latent/README.md). J v through the decoder is a finite difference of decodes
#: (`LatentMeasurement.linearize`): same PSNR, 0.19x instead of 0.23-0.24x of MGDM-reference's seconds
#: (16 reported digits, results/latent/paired_fd). Settings the user gives still win.
#: Applied over every LAVPS preset's fields on a latent prior by `preset_options(..., latent=True)` (`latent_fields`).
LATENT_LAVPS = {
    "linear_variance": False,
    "linear_below": 300,
    "linear_iters": 5,
    "candidates": ("network", "zero_shot"),
    # every measurement is non-linear in z; the latent settings above were tuned with G_in as the preset's
    "nonlinear_inner_steps": None,
}


#: LAVPS on a latent prior: per preset, fields over the preset's (`preset_options(..., latent=True)`; the
#: latent pieces every preset takes are LATENT_LAVPS above). `reference` takes 2 Adam steps
#: after the guard: chosen on 8 tuning digits (gaussian_blur -0.35 -> -0.09 dB to latent MGDM-reference, sr:2
#: -0.51 -> -0.47; results/latent/paired_fd/tuning_settings.txt); on the 16 reported digits, paired with one
#: step: -0.01 / +0.15 / +0.05 dB (sr:2 / blur / jpeg:10, all inside their intervals) for 1.2-1.3x the
#: seconds (results/latent/paired_inner2)
LATENT = {"reference": {"inner_steps": 2}}

#: The preset a sampler runs when none is named: the budget the demo reports for it.
DEFAULT_PRESET = {"dps": "reference", "mgdm": "reference", "ddrm": "fast", "diffpir": "reference", "lavps": "auto"}


def preset_names() -> list[str]:
    """Every preset name, in the order of the table (for the CLI's choices)."""
    return [*dict.fromkeys(name for table in PRESETS.values() for name in table), "auto"]


def preset_options(
    sampler: str,
    preset: str | None = None,
    trained: bool | None = None,
    linear: bool = True,
    latent: bool = False,
    multimodal: bool = False,
) -> tuple[str, dict]:
    """(resolved preset name, a copy of its options) for `sampler`; None = DEFAULT_PRESET[sampler].

    On a latent prior (`latent` True) a LAVPS preset takes `latent_fields` over its own, and `auto` takes
    AUTO["latent"]'s options, else AUTO["multimodal"]'s when `multimodal` is True (a family whose likelihood
    has several exact modes, e.g. phase retrieval), else AUTO["nonlinear"]'s when `linear` is False (a
    non-linear operator family),
    else AUTO["trained"]'s when `trained` is True (the operator's family is one the amortizer was trained
    on), else AUTO["unseen"]'s (False or None: unknown counts as unseen); the name stays "auto" (see
    `auto_budget`).

    A sampler without presets runs its config's defaults: ("defaults", {}) when no preset is named.

    Raises:
        ValueError: a preset named for a sampler without presets, or a preset this sampler does not have.
    """
    if sampler not in PRESETS and preset is None:
        return "defaults", {}
    if sampler not in PRESETS:
        raise ValueError(f"no budget presets for sampler {sampler!r}; samplers with presets: {', '.join(PRESETS)}")
    name = DEFAULT_PRESET.get(sampler, "reference") if preset is None else preset
    if name == "auto" and sampler == "lavps":
        ran = auto_budget(trained, linear, latent, multimodal)
        return name, {**PRESETS[sampler][ran], **(latent_fields(ran) if latent else {})}
    if name not in PRESETS[sampler]:
        allowed = [*PRESETS[sampler], *(["auto"] if sampler == "lavps" else [])]
        raise ValueError(f"sampler {sampler!r} has no preset {name!r}; allowed: {', '.join(allowed)}")
    return name, {**PRESETS[sampler][name], **(latent_fields(name) if latent and sampler == "lavps" else {})}


def latent_fields(preset: str) -> dict:
    """What a LAVPS preset changes on a latent prior: LATENT_LAVPS (every preset), then LATENT[preset]."""
    return {**LATENT_LAVPS, **LATENT.get(preset, {})}


def auto_budget(trained: bool | None, linear: bool = True, latent: bool = False, multimodal: bool = False) -> str:
    """The preset LAVPS's `auto` runs: AUTO["latent"] on a latent prior, AUTO["multimodal"] for a family whose
    likelihood has several exact modes, AUTO["nonlinear"] for a non-linear family, else AUTO["trained"] for a
    training family, else AUTO["unseen"]."""
    if latent:
        return AUTO["latent"]
    if multimodal:
        return AUTO["multimodal"]
    if not linear:
        return AUTO["nonlinear"]
    return AUTO["trained"] if trained is True else AUTO["unseen"]


def calibrated_fields(ran: str, amortizer, family: str | None, latent: bool = False, shape=None) -> dict:
    """What the amortizer's card fitted for the operator's family and the preset that runs (`ran`, after
    `auto`) sets over that preset (`lavps calibrate-amortizer [--preset reference]`,
    `amortize.network.calibrated_temperature` / `calibrated_draw`): {"temperature": T} and, where the fit chose
    one, {"draw": d}, on `fastest` or `reference` (CALIBRATED_PRESETS: each has its own fits) on a pixel prior;
    else nothing (also when the card has no fit for the family and preset). Settings the user gives still win."""
    from ..amortize.network import calibrated_draw, calibrated_temperature

    if ran not in CALIBRATED_PRESETS or latent:
        return {}
    temperature = calibrated_temperature(amortizer, family, shape, ran)
    draw = calibrated_draw(amortizer, family, shape, ran)
    return {
        **({} if temperature is None else {"temperature": temperature}),
        **({} if draw is None else {"draw": draw}),
    }


#: What each preset is for (help texts)
PRESET_HELP = {
    "tiny": "seconds, only checks a pipeline",
    "fastest": "LAVPS's network proposal alone on N=20 + final_tau 20 (no guard), its variance widened x2, or by the "
    "temperature (and drawn the way) the amortizer's card fitted for the family (calibrated spread): one denoiser "
    "forward per iteration",
    "fast": "LAVPS on N=20 + final_tau 20, guard network vs linearised start, one scored pass per iteration "
    "(the demo's lavps-fast); MGDM at that grid with 2 / 5 Adam steps; DDRM/DiffPIR 20 steps",
    "reference": "the demo's MGDM (5 / 20 Adam steps) and DPS (250 steps) budgets; DDRM and DiffPIR 100 steps; "
    "LAVPS fast + one Adam step (two on a latent prior), at the temperature the amortizer's card fitted for the "
    "family with calibrate-amortizer --preset reference, if any",
    "paper": "the MGDM paper's N=100, window 30; DPS 1000 steps",
    "lavps-paper": "the LAVPS paper's protocol (its official configs): N=100, window 30, lr 0.01; MGDM 3 / 3 Adam "
    "steps, LAVPS 5 outside + best-of(network, zero-shot) + 3 inside; DPS 1000 steps, zeta 0.1",
    "multimodal": "LAVPS only: the network's proposal with 5 Gibbs repetitions per iteration (mixes between exact "
    "modes of the likelihood), an output whose discrepancy exceeds 1.1 redrawn up to twice; auto's choice on phase "
    "retrieval",
    "auto": "LAVPS only: fastest when the operator's family is a linear one the amortizer was trained on (its "
    "card), multimodal on phase retrieval, else reference (unseen or non-linear family, kernel or mask file; any "
    "family on a latent prior)",
}


def describe_presets() -> str:
    """What each preset means and each sampler's default, for help texts."""
    meaning = "; ".join(f"{name}: {PRESET_HELP[name]}" for name in preset_names())
    defaults = ", ".join(f"{s} {p}" for s, p in DEFAULT_PRESET.items())
    return (
        f"{meaning}. Default: {defaults} (only lavps has fastest, multimodal and auto; lavps, ddrm and diffpir have "
        "no paper preset)."
    )


def fit_to_grid(preset: dict, given: dict, num_steps: int = 1000) -> dict:
    """The preset's values fitted to a grid size N that the user gave (`given["steps"]`) without them.

    Stated rule: a preset's `window` longer than the grid's N - 3 iterations is capped at N - 3 (the same
    iterations: all of them), and a preset's `final_tau` at or above the uniform grid's first point
    T_1 = floor((K - 1) / (N - 1)) is dropped (it would add nothing). Values the user gives are never
    changed: out of range, they are refused by the config.
    """
    out = dict(preset)
    steps = given.get("steps")
    if steps is None or isinstance(steps, bool) or not hasattr(steps, "__index__") or steps < 4:  # NumPy ints too
        return out
    if "window" in out and "window" not in given:
        out["window"] = min(out["window"], steps - 3)
    if out.get("final_tau") is not None and "final_tau" not in given and steps <= num_steps:
        first = (num_steps - 1) // (steps - 1)  # floor(linspace(0, K - 1, N))[1]
        if out["final_tau"] >= first:
            out.pop("final_tau")
    return out
