"""`lavps demo`: held-out test digits restored by every sampler on the amortizer's training families
and on families it never saw -- the whole quality/time frontier, measured in one run.

Per (prior, task, sampler) it reports PSNR and SSIM of one sample per digit, whether the sample keeps the
digit's label under the shipped classifier (a realism check PSNR cannot give), on a few digits that share
one drawn operator the PSNR of the mean of several samples, their energy score and spread ratio (how
honest their spread is), seconds per image, cost counts and, for LAVPS, how often each guard candidate
won; on phase retrieval the share of samples in each mode class. Non-linear tasks (`jpeg:Q`, `phase:S`,
`hdr:S`) run DPS, MGDM and LAVPS only (DDRM and DiffPIR need a linear operator); on a pixel prior LAVPS
runs the non-linear amortizer there when one is given.
A latent prior (`ldm:...`) samples z with y = A(decode(z)); its samples are decoded before scoring.
Writes report.md, metrics.csv, summary.json, labelled grids and the PSNR-vs-seconds plot
(`lavps.evaluation.demo_report`); the prior-draw setting is `lavps.evaluation.demo_draws`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..amortize.network import trained_families, trained_family_for
from ..data.mnist import mnist_split
from ..metrics import psnr, ssim
from ..operators import GaussianNoise, InverseProblem
from ..operators.spec import parse_operator_spec
from ..priors.latent import LatentMeasurement, LatentPrior, image_shape
from ..samplers.lavps import WINS_KEY
from ..samplers.registry import NETWORKS, build_sampler, make_settings, settings_record
from .calibration import energy_score, spread_ratio
from .classifier import label_agreement
from .demo_draws import run_prior_draws
from .demo_report import GLOSSARY, format_demo_table, summarise, write_report
from .demo_rows import DEMO_ROWS, DEMO_SAMPLERS, LINEAR_ONLY, DemoPrior, row_options
from .demo_targets import paired_gaps
from .phase_modes import phase_mode_classes

__all__ = [
    "DemoConfig",
    "DemoPrior",
    "DEMO_ROWS",
    "DEMO_SAMPLERS",
    "GLOSSARY",
    "LINEAR_ONLY",
    "LINEAR_TASKS",
    "NONLINEAR_TASKS",
    "run_demo",
    "format_demo_table",
    "held_out_digits",
    "row_options",
    "draw_row_samples",
    "sample_seeds",
    "task_problem",
    "trained_families",
]

#: the default tasks: the shipped amortizer's six training families, a centred box inside its box family
#: (`ImageOperatorFamily.covers`) and an unseen blur, then non-linear
#: measurements (jpeg:10 and phase:2 are in the non-linear amortizer's card, jpeg:25 and hdr:2 are not)
LINEAR_TASKS = (
    "motion_blur:9:0.5",
    "gaussian_blur:9:2.0",
    "sr:2",
    "sr:4",
    "box:0.3:0.5",
    "pixels:0.2",
    "center:0.35",
    "gaussian_blur:13:3.0",
)
NONLINEAR_TASKS = ("jpeg:10", "phase:2", "jpeg:25", "hdr:2")


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs. `tasks` = training families + unseen ones; ID-ness comes from the amortizer."""

    images: int = 4
    tasks: tuple[str, ...] = (*LINEAR_TASKS, *NONLINEAR_TASKS)
    sigma: float = 0.05
    seed: int = 0
    #: posterior-mean metric: this many digits (sharing one drawn operator), this many samples each
    mean_images: int = 1
    mean_samples: int = 4
    #: first held-out digit of each class (0 = the reported digits; tune on another offset)
    digit_offset: int = 0
    samplers: dict = field(default_factory=lambda: dict(DEMO_SAMPLERS))
    tuned_baselines: bool = True
    #: settings given by the user, per row sampler ({sampler: {config field: value}}): over every row's
    #: preset and tuned values (`lavps demo --steps ...`)
    settings: dict = field(default_factory=dict)
    #: the prior-draw setting (`demo_draws`): x* drawn from each pixel prior (`draw_prior_steps` ancestral
    #: steps), `draw_samples` samples per problem; 0 problems: skipped (`lavps demo` runs 8)
    draw_problems: int = 0
    draw_samples: int = 5
    draw_tasks: tuple[str, ...] = ("sr:4",)
    draw_prior_steps: int = 1000

    def __post_init__(self):
        if self.images < 1 or self.mean_images < 0 or self.mean_samples < 1:
            raise ValueError(f"need images >= 1, mean_images >= 0, mean_samples >= 1, got {self}")
        if self.draw_problems == 1 or self.draw_problems < 0 or self.draw_samples < 2 or self.draw_prior_steps < 3:
            raise ValueError(
                f"the prior-draw setting needs 0 (skip) or >= 2 problems, >= 2 samples and >= 3 prior steps, got "
                f"{self.draw_problems}, {self.draw_samples} and {self.draw_prior_steps}"
            )


def held_out_digits(n: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """n held-out test digits cycling through the classes (one 0, one 1, ...), skipping the first
    `offset` digits of each class; returns (images, labels, indices into the test split)."""
    images, labels = mnist_split("test")
    picked = []
    for i in range(n):
        idx = (labels == i % 10).nonzero().flatten()
        j = offset + i // 10
        if j >= len(idx):
            raise ValueError(f"only {len(idx)} test digits per class: cannot take digit {j} of class {i % 10}")
        picked.append(int(idx[j]))
    return images[picked], labels[picked], picked


def task_problem(config: DemoConfig, t_index: int, spec: str, shape: tuple[int, ...], clean: torch.Tensor):
    """(family, problem) of task `t_index`: one operator per digit and the noise, from a seeded generator
    (the same observations for every sampler and every prior, and for `lavps bench spread`)."""
    family = parse_operator_spec(spec, shape)
    g = torch.Generator().manual_seed(config.seed * 1000 + t_index)
    op = family.sample(len(clean), g)
    noise = GaussianNoise(config.sigma)
    with torch.no_grad():
        y = noise.measure(clean, op, torch.randn(len(clean), *op.out_shape, generator=g))
    return family, InverseProblem(y, op, noise)


def sample_seeds(config: DemoConfig, t_index: int) -> list[int]:
    """The per-digit sampler seeds of task `t_index`."""
    return [config.seed * 100_000 + t_index * 1000 + i for i in range(config.images)]


def draw_row_samples(
    prior, name: str, options: dict, problem: InverseProblem, seeds: list[int], progress: bool = False
):
    """(images, result, seconds) of one sample per seed of a demo row (sampler `name` with `options`, as
    `row_options` gives them; sample seeds from `sample_seeds`); on a latent prior the sampler runs on z with
    A(decode(z)) and the decode counts in the seconds."""
    latent = isinstance(prior, LatentPrior)
    if latent:
        problem = InverseProblem(problem.y, LatentMeasurement(problem.operator, prior), problem.noise)
    result = build_sampler(name, prior, options).sample(problem, len(seeds), seed=seeds, progress=progress)
    start = time.perf_counter()
    with torch.no_grad():
        x = prior.decode(result.samples) if latent else result.samples
    return x.float().cpu(), result, result.cost.seconds + time.perf_counter() - start


def _posterior_scores(config: DemoConfig, prior, name, options, spec, t_index, clean) -> dict:
    """Scores of several samples per digit on the first `mean_images` digits (one shared operator,
    `mean_samples` samples each): per digit the PSNR of their mean and, with K >= 2, their energy score (a
    proper score: one-sample PSNR rewards samples squeezed towards the posterior mean, the energy score
    does not); the pooled spread ratio of those digits (1: as spread out as their distance to the digit says,
    > 1: too close together). Empty lists and None where not computed."""
    m, k = min(config.mean_images, len(clean)), config.mean_samples
    scores = {"mean_psnr": [], "energy_score": [], "spread_ratio": None}
    if m == 0:
        return scores
    g = torch.Generator().manual_seed(config.seed * 1000 + t_index + 500)
    op = parse_operator_spec(spec, image_shape(prior)).sample_one(g)
    noise = GaussianNoise(config.sigma)
    x = clean[:m]
    with torch.no_grad():
        y = noise.measure(x, op, torch.randn(m, *op.out_shape, generator=g))
    problem = InverseProblem(y.repeat_interleave(k, 0), op, noise)
    seeds = [config.seed * 100_000 + 50_000 + t_index * 1000 + i for i in range(m * k)]
    samples = draw_row_samples(prior, name, options, problem, seeds)[0]
    samples = samples.reshape(m, k, *samples.shape[1:])
    scores["mean_psnr"] = psnr(samples.mean(1), x).tolist()
    if k >= 2:
        scores["energy_score"] = energy_score(samples, x).tolist()
        scores["spread_ratio"] = spread_ratio(samples, x)
    return scores


def _observation_image(problem: InverseProblem, clean: torch.Tensor) -> torch.Tensor:
    """What the grid shows as the observation: A^+ y for a linear operator, y when it has the image's shape
    (JPEG, HDR), else mid-grey (phase retrieval's Fourier magnitudes are no image)."""
    y, op = problem.y, problem.operator
    if op.is_linear and y.shape != clean.shape:
        return op.pinv(y)
    return y if y.shape == clean.shape else torch.zeros_like(clean)


def run_demo(config: DemoConfig, prior, amortizer, classifier, out_dir: Path, progress: bool = True) -> dict:
    """Runs every (prior, task, sampler); returns {"rows": per image, "summary": per (prior, task, sampler),
    "skipped", "targets": LAVPS's paired gaps}. `prior`: one loaded prior (with `amortizer`), or a list of
    `DemoPrior`s run in turn on the same digits and observations (then `amortizer` is unused)."""
    priors = prior if isinstance(prior, list) else [DemoPrior("mnist", prior, amortizer)]
    clean, labels, indices = held_out_digits(config.images, config.digit_offset)
    # the label column's ceiling: a digit the classifier mislabels clean is no sampler's failure
    clean_ok = label_agreement(classifier, clean, labels)
    digits = (clean, labels, indices, clean_ok)
    rows, grids, skipped, tuned_used, ran = [], {}, [], [], []
    for dp in priors:
        r, g, s, t = _run_prior(config, dp, classifier, digits, progress, first=dp is priors[0], ran=ran)
        rows, skipped, tuned_used = rows + r, skipped + s, tuned_used + t
        grids.update(g)
    if not rows:  # every (task, sampler) pair was skipped: there is nothing to report
        raise ValueError(f"no sampler could run on any task: {'; '.join(skipped)}")
    summary = summarise(rows)
    gaps = paired_gaps(rows, summary)
    draws = run_prior_draws(config, priors, summary, progress)
    write_report(config, rows, summary, grids, skipped, out_dir, tuned_used, gaps, priors, draws, ran)
    return {"rows": rows, "summary": summary, "skipped": skipped, "targets": gaps, "prior_draws": draws}


def _run_prior(config: DemoConfig, dp: DemoPrior, classifier, digits, progress: bool, first: bool, ran: list):
    """(rows, grids, skipped, tuned_used) of every (task, sampler) on one prior; `ran` gets every setting of
    each row that ran (preset, tuned values, the card's temperature and draw, generated overrides)."""
    clean, labels, indices, clean_ok = digits
    shape, latent = image_shape(dp.prior), isinstance(dp.prior, LatentPrior)
    rows, grids, skipped, tuned_used = [], {}, [], []
    for t_index, spec in enumerate(config.tasks):
        family, problem = task_problem(config, t_index, spec, shape, clean)
        linear = problem.operator.is_linear
        net = dp.amortizer_for(linear)
        in_distribution = trained_family_for(net, family.spec, shape) is not None
        grid_name = spec if first else f"{dp.name} {spec}"
        grids[grid_name] = {"reference": clean, "observation": _observation_image(problem, clean)}
        seeds = sample_seeds(config, t_index)
        for label, (name, options) in config.samplers.items():
            if name in LINEAR_ONLY and (latent or not linear):
                skipped.append(f"{label} on {grid_name}: {name} needs a linear operator on the prior's own space")
                continue
            opts, tuned = row_options(
                config, name, options, net, family.spec, in_distribution, latent, linear, family.multimodal
            )
            if tuned:
                tuned_used.append(f"- {family.spec}, {label}: {tuned}")
            try:
                x, result, seconds = draw_row_samples(dp.prior, name, opts, problem, seeds, progress)
            except ValueError as e:  # e.g. DDRM on an operator without a cheap SVD
                skipped.append(f"{label} on {grid_name}: {e}")
                continue
            grids[grid_name][label] = x
            fields = {k: v for k, v in opts.items() if k not in NETWORKS}
            ran.append({"prior": dp.name, "task": spec, "row": label, "seeds": list(seeds),
                        **settings_record(name, make_settings(name, fields))})  # fmt: skip
            p, s = psnr(x, clean), ssim(x, clean)
            kept = label_agreement(classifier, x, labels)
            scores = _posterior_scores(config, dp.prior, name, opts, spec, t_index, clean)
            means, energies = scores["mean_psnr"], scores["energy_score"]
            modes, aligned = (
                phase_mode_classes(x, clean, problem.operator.oversampling) if family.kind == "phase" else (None, None)
            )
            wins = {k: sum(v) / len(v) for k, v in result.info.get(WINS_KEY, {}).items() if v}
            c = result.cost
            for i in range(config.images):
                rows.append(
                    dict(
                        prior=dp.name,
                        task=spec,
                        in_distribution=in_distribution,
                        sampler=label,
                        image=indices[i],
                        label=int(labels[i]),
                        seed=seeds[i],
                        psnr=float(p[i]),
                        ssim=float(s[i]),
                        max_abs=float(x[i].abs().max()),  # far beyond 1: a diverged sample (the report says so)
                        label_kept=float(kept[i]),
                        label_clean=float(clean_ok[i]),
                        mean_psnr=means[i] if i < len(means) else None,
                        energy_score=energies[i] if i < len(energies) else None,
                        spread_ratio=scores["spread_ratio"],
                        mode=modes[i] if modes else None,
                        aligned_psnr=float(aligned[i]) if modes else None,
                        seconds_per_image=seconds / config.images,
                        denoiser_forwards=c.denoiser_forwards,
                        denoiser_backwards=c.denoiser_backwards,
                        amortizer_forwards=c.amortizer_forwards,
                        wins=";".join(f"{k}={v:.2f}" for k, v in wins.items()),
                    )
                )
    return rows, grids, skipped, tuned_used
