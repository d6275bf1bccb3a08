"""Colour images of any size: PNG/JPEG in and out, alpha policy, --fit crop|resize, operators per channel,
and `lavps degrade` / `restore` end to end on a tiny random 3-channel prior."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import tiny_image_prior
from lavps.imaging.io import fit_image, load_image, read_image, write_image
from lavps.operators import AveragePool, CircularBlur, gaussian_kernel, parse_operator_spec
from lavps.priors.image_unet import save_image_prior


def _img(c, h, w, seed=0):
    return torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture(scope="module")
def rgb_prior_file(tmp_path_factory):
    prior = tiny_image_prior(3, 16)
    path = tmp_path_factory.mktemp("prior") / "rgb16.safetensors"
    save_image_prior(prior, path, {"note": "tiny colour test prior"})
    return path


@pytest.mark.parametrize("c", [1, 3])
def test_png_round_trip_is_exact_to_8_bits_and_jpeg_is_close(tmp_path, c):
    x = _img(c, 12, 20)
    back = read_image(write_image(x, tmp_path / "a.png"))
    assert back.shape == (1, c, 12, 20)
    assert (back - x).abs().max() <= 1 / 255 + 1e-6  # half a grey level in [-1, 1]
    smooth = torch.linspace(-0.8, 0.8, 20).expand(1, c, 12, 20)  # JPEG is lossy; a smooth image survives
    jpg = read_image(write_image(smooth, tmp_path / "a.jpg"))
    assert jpg.shape == (1, c, 12, 20) and (jpg - smooth).abs().mean() < 0.02


def test_alpha_dropped_only_when_opaque(tmp_path):
    rgb = (np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8)
    opaque = np.dstack([rgb, np.full((8, 8), 255, np.uint8)])
    Image.fromarray(opaque, "RGBA").save(tmp_path / "opaque.png")
    Image.fromarray(rgb, "RGB").save(tmp_path / "rgb.png")
    assert torch.equal(read_image(tmp_path / "opaque.png"), read_image(tmp_path / "rgb.png"))
    opaque[0, 0, 3] = 10
    Image.fromarray(opaque, "RGBA").save(tmp_path / "see_through.png")
    with pytest.raises(ValueError, match="see_through.png has an alpha channel with transparent pixels"):
        read_image(tmp_path / "see_through.png")


def test_sixteen_bit_grey(tmp_path):
    arr = np.array([[0, 65535], [32768, 16384]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    x = read_image(tmp_path / "g16.png")
    assert x.shape == (1, 1, 2, 2)
    assert torch.allclose(x[0, 0], torch.from_numpy(arr / 65535.0).float() * 2 - 1, atol=1e-6)


def test_mismatch_without_fit_names_both_shapes():
    with pytest.raises(ValueError, match=r"is 3x20x24 .* expects 3x16x16 .*--fit crop or --fit resize"):
        fit_image(_img(3, 20, 24), (3, 16, 16))
    with pytest.raises(ValueError, match=r"is 1x16x16 .* expects 3x16x16"):
        fit_image(_img(1, 16, 16), (3, 16, 16))


def test_fit_crop_is_a_centre_crop_after_aspect_preserving_downscale():
    x = _img(3, 16, 24)
    assert torch.equal(fit_image(x, (3, 16, 16), "crop"), x[..., :, 4:20])  # one side already fits
    big = torch.linspace(-1, 1, 40).expand(1, 3, 32, 40)  # downscaled by 1/2 to 16x20, then cropped
    out = fit_image(big, (3, 16, 16), "crop")
    assert out.shape == (1, 3, 16, 16)
    assert torch.allclose(out[0, :, 0], fit_image(big, (3, 16, 20), "resize")[0, :, 0, 2:18], atol=1e-6)
    with pytest.raises(ValueError, match="smaller than the prior's 16x16: use --fit resize"):
        fit_image(_img(3, 12, 40), (3, 16, 16), "crop")


def test_fit_resize_and_channel_conversion():
    const = torch.full((1, 3, 9, 13), 0.25)
    assert torch.allclose(fit_image(const, (3, 16, 16), "resize"), torch.full((1, 3, 16, 16), 0.25), atol=1e-6)
    grey = _img(1, 16, 16)
    assert torch.equal(fit_image(grey, (3, 16, 16), "crop"), grey.expand(1, 3, 16, 16))
    rgb = _img(3, 16, 16)
    luma = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    assert torch.allclose(fit_image(rgb, (1, 16, 16), "resize")[:, 0], luma, atol=1e-6)


def test_blur_and_sr_act_per_channel():
    k = gaussian_kernel(5, 1.0)
    x = _img(3, 12, 16).double()
    colour = CircularBlur(k, (3, 12, 16))(x)
    grey = CircularBlur(k, (1, 12, 16))
    per_channel = torch.cat([grey(x[:, i : i + 1]) for i in range(3)], dim=1)
    assert torch.allclose(colour, per_channel)
    sr = AveragePool((3, 12, 16), 2)(x)
    assert torch.allclose(sr, torch.cat([AveragePool((1, 12, 16), 2)(x[:, i : i + 1]) for i in range(3)], 1))


@pytest.mark.parametrize("spec", ["box:0.2:0.5", "pixels:0.3", "center:0.4"])
def test_masks_hide_the_same_pixels_in_every_channel(spec):
    op = parse_operator_spec(spec, (3, 12, 20)).sample(4, torch.Generator().manual_seed(1))
    m = op.mask
    assert m.shape == (4, 3, 12, 20)
    assert torch.equal(m[:, 0], m[:, 1]) and torch.equal(m[:, 0], m[:, 2])
    assert 0 < m.mean() < 1


def test_colour_degrade_restore_with_fit(tmp_path, rgb_prior_file, _cli):
    photo = write_image(_img(3, 20, 24, seed=3), tmp_path / "photo.jpg")
    obs = tmp_path / "obs.png"
    base = ["--sigma", "0.1", "--prior", rgb_prior_file]
    p = _cli("degrade", photo, "--operator", "box:0.3:0.5", "--out", obs, *base)
    assert p.returncode != 0 and p.stderr.count("\n") == 1
    assert "3x20x24" in p.stderr and "3x16x16" in p.stderr and not obs.exists()
    p = _cli("degrade", photo, "--operator", "sr:2", "--out", obs, "--fit", "crop", *base)
    assert p.returncode == 0, p.stderr
    assert read_image(obs).shape == (1, 3, 8, 8)
    out = tmp_path / "restored"
    small = ["--steps", "5", "--adam-out", "1", "--adam-in", "1", "--quiet", "--device", "cpu"]
    r = _cli("restore", obs, "--operator", "sr:2", "--sampler", "mgdm", "--out", out, *base, *small)
    assert r.returncode == 0, r.stderr
    assert read_image(out / "reconstruction_000.png").shape == (1, 3, 16, 16)
    meta = json.loads((out / "restore.json").read_text())
    assert meta["device"] == "cpu" and meta["precision"] == "fp32" and "peak_memory_mb" in meta["cost"]
    # a reference of another size is fitted the same way; without --fit it is refused
    r = _cli("restore", obs, "--operator", "sr:2", "--out", tmp_path / "r2", "--reference", photo, *base, *small)
    assert r.returncode != 0 and "3x20x24" in r.stderr and not (tmp_path / "r2").exists()


def test_transparent_png_is_one_line_error(tmp_path, rgb_prior_file, _cli):
    rgba = np.zeros((16, 16, 4), np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    p = _cli(
        "restore",
        tmp_path / "clear.png",
        "--operator",
        "denoise",
        "--sigma",
        "0.1",
        "--prior",
        rgb_prior_file,
        "--out",
        tmp_path / "o",
        "--quiet",
    )
    assert p.returncode != 0 and p.stderr.startswith("error: ") and p.stderr.count("\n") == 1
    assert "alpha" in p.stderr and not (tmp_path / "o").exists()


def test_load_image_reads_and_fits(tmp_path):
    path = write_image(_img(1, 10, 10), tmp_path / "g.png")
    assert load_image(path, (3, 8, 8), "resize").shape == (1, 3, 8, 8)
