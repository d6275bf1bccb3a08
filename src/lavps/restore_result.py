"""What `lavps.degrade` and `lavps.restore` return, and how a restore is written to its folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .imaging.io import write_png
from .inputs import ImageLike, check_clean, image_batch
from .jsonfile import write_json
from .metrics import psnr, ssim
from .operators import Measurement, NoiseModel
from .outputs import OutputFolder, file_sha256
from .samplers.cost import Cost
from .workflows.image import timestamp

__all__ = ["Observation", "RestoreResult", "RESTORE_OUTPUTS", "restore_output"]

RESTORE_OUTPUTS = r"reconstruction_\d{3}\.png|observation\.png|posterior_(mean|std)\.png|restore\.json"


def restore_output(out_dir: str | Path, overwrite: bool = False, inputs=(), **where) -> OutputFolder:
    """The output folder of one restore (see lavps.outputs): checked now, written on entering."""
    return OutputFolder(out_dir, "restore.json", overwrite, inputs, legacy=RESTORE_OUTPUTS, **where)


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
        problem: what was restored: {"operator", "sigma", "noise", "prior"} as `lavps.restore` was given them;
            restore.json records it, so that a saved folder says what it is the posterior of.
    """

    samples: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    cost: Cost
    seeds: list[int]
    settings: dict
    observation: torch.Tensor
    info: dict = field(default_factory=dict)
    problem: dict = field(default_factory=dict)

    def scores(self, reference: ImageLike) -> list[dict]:
        """Per sample {"seed", "psnr", "ssim"} against a clean reference image (tensor or PNG)."""
        ref = image_batch(reference, tuple(self.samples.shape[1:])).to(self.samples.device)
        if ref.shape[0] != 1:  # one clean image scores every sample
            raise ValueError(f"a reference is one image; got a batch of {ref.shape[0]}")
        check_clean(ref, "the reference")  # a NaN or a 0..255 reference would score silently (NaN, ~4 dB)
        x = self.samples
        pairs = zip(psnr(x, ref.expand_as(x)), ssim(x, ref.expand_as(x)), strict=True)
        return [{"seed": s, "psnr": float(p), "ssim": float(q)} for s, (p, q) in zip(self.seeds, pairs, strict=True)]

    def save(
        self, out_dir: str | Path, record: dict | None = None, reference=None, overwrite: bool = False, **where
    ) -> Path:
        """Write reconstruction_XXX.png, observation.png, posterior_mean/std.png (N > 1) and restore.json.

        The folder appears only when complete. restore.json holds `problem`, then `record` (entries added or
        overridden, e.g. where the observation came from), the sampler's settings, per-sample seeds and
        (with a `reference`, a tensor or an image path, recorded) PSNR/SSIM. posterior_std.png maps 0..
        `posterior_std_white` to black..white, which restore.json records. restore.json is completed last:
        "input_sha256" pins the input files it names, "outputs" lists every other file written as {"file",
        "sha256", "bytes"} (`lavps.outputs.output_entries`). out_dir must be new, empty or hold only an earlier
        restore's outputs (replaced with overwrite=True; lavps.outputs).
        """
        rows = [{"index": i, "seed": s} for i, s in enumerate(self.seeds)]
        if reference is not None:
            for row, score in zip(rows, self.scores(reference), strict=True):
                row.update(psnr=score["psnr"], ssim=score["ssim"])
        n = len(self.seeds)
        std_white = max(float(self.std.max()), 1e-8)  # the std image is stretched: record its scale
        where = {"option": "out_dir", "flag": "overwrite=True", **where}  # the CLI names its options
        with restore_output(out_dir, overwrite, **where) as tmp:
            for i in range(n):
                write_png(self.samples[i], tmp / f"reconstruction_{i:03d}.png")
            write_png(self.observation[0], tmp / "observation.png")
            if n > 1:
                write_png(self.mean, tmp / "posterior_mean.png")
                write_png(self.std, tmp / "posterior_std.png", value_range=(0.0, std_white))
            payload = {"date": timestamp(), **self.problem, **(record or {}), **self.settings, "samples": rows}
            if isinstance(reference, (str, Path)):
                payload["reference"] = str(reference)
            if n > 1:  # images in [-1, 1]: a std of 1 is half the data range
                payload.update(posterior_std_white=std_white, posterior_std_mean=float(self.std.mean()))
            payload.update(cost=self.cost.to_dict(), seconds_per_sample=self.cost.seconds / n, info=self.info)
            payload["input_sha256"] = input_digests(payload)
            write_json(tmp / "restore.json", payload)
        return Path(out_dir)


_INPUT_KEYS = ("observation", "operator", "reference", "amortizer", "prior")


def input_digests(record: dict) -> dict[str, str]:
    """sha256 of every input file the record names (observation, operator / kernel / mask file, reference,
    amortizer, prior checkpoint, the files inside a prior spec), by the path as recorded: a later reader can
    tell whether the files at those paths are still the ones this run read. Entries that are not files (a
    spec, "shipped", a folder) are skipped."""
    names = []
    for key in _INPUT_KEYS:
        value = record.get(key)
        names += list(value.values()) if isinstance(value, dict) else [value]
    # a spec names its files between colons (adm:W.pt:FLAGS.json, hdit:W.safetensors:CONFIG.json:class=3)
    names += [part for name in names if isinstance(name, str) and ":" in name for part in name.split(":")]
    digests = {}
    for name in names:
        if isinstance(name, (str, Path)) and str(name) and Path(name).is_file():
            digests[str(name)] = file_sha256(name)
    return digests
