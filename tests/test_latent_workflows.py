"""A latent prior (`ldm:mnist`: 4x8x8 latents, 1x32x32 images) beyond one image's restore: folder restores,
`lavps bench paper`, `bench calibration` and `bench speed` work on its decoded images and sample its latents;
training an amortizer for it from images is refused in one line."""

import csv
import json
from dataclasses import replace

import pytest
import torch

from lavps import api
from lavps.evaluation.calibration_bench import prior_draws
from lavps.evaluation.speed_bench import QUICK, run_speed_benchmark
from lavps.imaging.io import from_unit, read_image, to_unit, write_png
from lavps.metrics import psnr
from lavps.priors.specs import resolve_prior
from lavps.random import name_seed
from lavps.samplers.ddim import DDIM
from test_latent_prior import _ldm_folder


@pytest.fixture(scope="module")
def ldm_mnist():
    return api.load_prior("ldm:mnist")


def _pngs(folder, size, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        write_png(torch.rand(1, size, size, generator=g) * 2 - 1, folder / f"im{i}.png")
    return folder


def _as_saved(x):
    return from_unit((to_unit(x.float()) * 255).round() / 255)


def test_folder_restore_on_a_latent_prior_is_single_restore_of_each_observation(tmp_path, _cli, ldm_mnist):
    obs, out = _pngs(tmp_path / "obs", 16, 2), tmp_path / "out"  # sr:2 observations of 32x32 decoded images
    common = ["--sigma", "0.05", "--prior", "ldm:mnist", "--sampler", "mgdm", "--preset", "tiny", "--quiet"]
    r = _cli("restore", obs, "--operator", "sr:2", *common, "--batch-size", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    for i in range(2):
        saved = read_image(out / f"im{i}" / "reconstruction.png")
        assert saved.shape == (1, 1, 32, 32)
        alone = api.restore(
            obs / f"im{i}.png", "sr:2", 0.05, ldm_mnist, "mgdm", seed=name_seed(0, f"im{i}"), preset="tiny"
        )
        assert torch.equal(_as_saved(alone.samples), saved)
    clean, sim = _pngs(tmp_path / "clean", 32, 1), tmp_path / "sim"
    r = _cli("restore", clean, "--simulate", "sr:2", *common, "--out", sim)
    assert r.returncode == 0, r.stderr
    assert read_image(sim / "im0" / "reconstruction.png").shape == (1, 1, 32, 32)
    assert read_image(sim / "im0" / "observation.png").shape == (1, 1, 16, 16)
    row = next(csv.DictReader((sim / "metrics.csv").open()))
    assert row["status"] == "ok" and float(row["psnr"]) > 0
    never = tmp_path / "never"  # ddrm needs a linear operator on the prior's space: refused before any work
    r = _cli("restore", obs, "--operator", "sr:2", *common[:4], "--sampler", "ddrm", "--out", never)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "--sampler lavps, mgdm or dps" in r.stderr
    assert not never.exists()


def test_bench_paper_on_a_latent_prior_scores_decoded_images(tmp_path, _cli):
    clean, out = _pngs(tmp_path / "clean", 32, 1), tmp_path / "bp"
    args = ["bench", "paper", clean, "--prior", "ldm:mnist", "--quick", "--samplers", "mgdm", "--operator", "sr:2"]
    r = _cli(*args, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    folder = out / "images" / "sr_2" / "im0"
    x, ref = read_image(folder / "mgdm.png"), read_image(folder / "reference.png")
    assert x.shape == ref.shape == (1, 1, 32, 32) and read_image(folder / "observation.png").shape == (1, 1, 16, 16)
    (row,) = list(csv.DictReader((out / "per_image.csv").open()))
    assert float(row["psnr"]) == pytest.approx(float(psnr(x, ref)[0]), abs=1e-4)


def test_bench_calibration_on_a_latent_prior_draws_decoded_truths(tmp_path, _cli, ldm_mnist):
    truth = prior_draws(ldm_mnist, 2, 3, seed=5)
    z = DDIM(ldm_mnist, steps=3, eta=1.0).sample(None, 2, seed=[5, 6]).samples
    assert truth.shape == (2, 1, 32, 32)
    torch.testing.assert_close(truth, ldm_mnist.decode(z))  # x* = decode(a latent draw)
    out = tmp_path / "cal"
    r = _cli(
        "bench", "calibration", "--prior", "ldm:mnist", "--samplers", "mgdm:tiny", "--problems", "2", "--samples", "2",
        "--prior-steps", "3", "--operator", "sr:2", "--out", out, "--quiet",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (row,) = json.loads((out / "calibration.json").read_text())["results"]
    assert row["report"]["problems"] == 2 and row["report"]["samples"] == 2 and row["psnr_one"] > 0


def test_bench_speed_on_a_latent_prior_times_and_counts_the_decoder(ldm_mnist):
    settings = replace(QUICK, samplers=("mgdm",), batch_sizes=(1,), precisions=("fp32",), device="cpu")
    rows = {r["sampler"]: r for r in run_speed_benchmark(settings, prior=ldm_mnist)["rows"]}
    assert (rows["ddim"]["decoder_forwards"], rows["ddim"]["decoder_backwards"]) == (1, 0)  # the final decode
    mgdm = rows["mgdm"]  # every guided step back-propagates through the decoder, then the samples are decoded
    assert mgdm["decoder_backwards"] == mgdm["denoiser_backwards"] > 0
    assert mgdm["decoder_forwards"] > mgdm["decoder_backwards"]
    pixel = run_speed_benchmark(settings, prior=api.load_prior("mnist"))["rows"]
    assert all("decoder_forwards" not in r for r in pixel)


def test_training_an_amortizer_for_a_latent_prior_from_images_is_refused_in_one_line(tmp_path, _cli):
    folder = _ldm_folder(tmp_path / "ldm", "kl")  # 16x16 images, 2x8x8 latents
    images, out = _pngs(tmp_path / "images", 16, 2), tmp_path / "am"
    for extra, says in ((["--data", images], "--data is not supported"), ([], "no clean training latents")):
        r = _cli("train-amortizer", "--prior", f"ldm:{folder}", *extra, "--iterations", "2", "--out", out)
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(lines) == 1 and says in lines[0] and "--sampler mgdm or dps" in lines[0]
        assert not out.exists()
    with pytest.raises(ValueError, match="--data is not supported"):
        resolve_prior(f"ldm:{folder}", data=images)
    prior = api.load_prior(f"ldm:{folder}")  # the shipped latent amortizer is ldm:mnist's: no --data remedy named
    with pytest.raises(ValueError, match="mgdm or dps") as err:
        api.restore(torch.zeros(1, 1, 8, 8), "sr:2", 0.1, prior, "lavps", preset="tiny")
    assert "--data" not in str(err.value)
