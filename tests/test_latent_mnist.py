"""The latent MNIST prior's training pipeline (tiny runs) and the shipped `ldm:mnist` prior."""

import json
import math

import pytest
import torch

from lavps import api
from lavps.amortize.unet import UNetAmortizer
from lavps.operators.spec import parse_operator_spec
from lavps.priors.latent import LatentFamily, LatentMeasurement, LatentPrior, default_latent_prior_path
from lavps.priors.specs import PriorPreset, resolve_prior
from lavps.samplers.presets import LATENT, LATENT_LAVPS
from lavps.training.amortizer import train_amortizer
from lavps.training.latent_prior import (
    AutoencoderTrainConfig,
    LatentUNetTrainConfig,
    encode_latents,
    export_latent_prior,
    load_autoencoder_checkpoint,
    train_autoencoder,
    train_latent_unet,
)
from lavps.training.networks import TrainConfig
from lavps.training.problems import prior_family, resolve_family
from test_latent_prior import _ldm_folder


def test_tiny_latent_prior_trains_exports_and_loads_as_ldm_folder(tmp_path):
    ae_cfg = AutoencoderTrainConfig(
        steps=2, batch_size=4, channels=(8, 8, 8), latent_channels=2, out_dir=str(tmp_path / "ae")
    )
    ae_ckpt = train_autoencoder(ae_cfg, progress=False)
    autoencoder, _ = load_autoencoder_checkpoint(ae_ckpt)
    images = torch.rand(6, 1, 32, 32) * 2 - 1
    latents = encode_latents(autoencoder, images, batch_size=4)
    assert latents.shape == (6, 2, 8, 8)
    unet_cfg = LatentUNetTrainConfig(steps=2, batch_size=4, channels=(8, 16), out_dir=str(tmp_path / "unet"))
    unet_ckpt = train_latent_unet(unet_cfg, latents * 2.0, progress=False)
    folder = export_latent_prior(ae_ckpt, unet_ckpt, 2.0, tmp_path / "ldm", {"note": "test"})
    assert json.loads((folder / "card.json").read_text())["autoencoder"]["scaling_factor"] == 2.0
    prior = api.load_prior(f"ldm:{folder}")
    assert isinstance(prior, LatentPrior) and prior.shape == (2, 8, 8) and prior.image_shape == (1, 32, 32)
    # the folder holds float16 weights: the loaded decoder is the trained one up to that rounding
    z = torch.randn(3, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(prior.decode(z), autoencoder.decode(z / 2.0).sample, atol=2e-2, rtol=0)
        torch.testing.assert_close(prior.encode(images), 2.0 * latents, atol=2e-2, rtol=0)
    # diffusers' convention: the exported UNet sees timestep t - 1 (the loop trained it that way)
    assert prior.latent.timestep_offset == -1


def test_latent_family_wraps_image_operators_and_keeps_their_name(tmp_path):
    prior = api.load_prior(f"ldm:{_ldm_folder(tmp_path / 'ldm', 'kl')}")  # 16x16 images, 2x8x8 latents
    family = prior_family("sr:2,jpeg:10", prior)
    assert isinstance(family, LatentFamily) and family.name == resolve_family("sr:2,jpeg:10", (1, 16, 16)).name
    op = family.sample(2, torch.Generator().manual_seed(0))
    assert isinstance(op, LatentMeasurement) and op.in_shape == prior.shape and op.batch_size in (None, 2)
    assert prior_family("sr:2", api.load_prior("mnist")) == parse_operator_spec("sr:2", (1, 32, 32))


def test_latent_amortizer_trains_on_decoded_operators_and_lavps_restores_with_it(tmp_path):
    prior = api.load_prior(f"ldm:{_ldm_folder(tmp_path / 'ldm', 'kl')}")
    preset = PriorPreset("tiny-ldm", prior, clean=lambda n, g: torch.randn(n, *prior.shape, generator=g))
    config = TrainConfig(steps=2, batch_size=2, grid_steps=8, window=3, sigma=0.1, out_dir=str(tmp_path / "am"))
    network = UNetAmortizer(prior.shape, channels=(8, 16), input_kind="grad")
    result = train_amortizer(config, network.config, preset, prior_family("sr:2", prior), progress=False)
    assert result.card["family"]["name"] == "sr:2" and all(map(math.isfinite, result.history["ratio"]))
    op = api.operator("sr:2", (1, 16, 16))
    y = op.forward(prior.decode(torch.zeros(1, *prior.shape))).detach()
    done = api.restore(y, op, 0.1, prior, "lavps", samples=2, seed=0, amortizer=result.path, preset="tiny")
    assert done.samples.shape == (2, 1, 16, 16) and torch.isfinite(done.samples).all()
    assert done.cost.amortizer_forwards > 0
    ran = done.settings["settings"]  # the Gauss-Newton stand-in through the decoder near the data only
    assert not ran["linear_variance"] and ran["linear_below"] == LATENT_LAVPS["linear_below"] > 0
    assert list(ran["candidates"]) == ["network", "zero_shot"]
    with pytest.raises((ValueError, FileNotFoundError), match="amortizer|fingerprint|not found"):
        api.restore(y, op, 0.1, prior, "lavps", samples=1, preset="tiny")  # the shipped one is ldm:mnist's


def test_shipped_latent_prior_is_small_and_reconstructs_test_digits():
    folder = default_latent_prior_path()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 2.0e6
    card = json.loads((folder / "card.json").read_text())
    assert {"autoencoder", "unet", "quality", "data"} <= set(card)
    preset = resolve_prior("ldm:mnist")
    prior = preset.prior
    assert prior.shape == (4, 8, 8) and prior.image_shape == (1, 32, 32)
    assert preset.description["fingerprint"]
    from lavps.data.mnist import mnist_split
    from lavps.metrics import psnr

    x = mnist_split("test")[0][::50]
    with torch.no_grad():
        recon = prior.decode(prior.encode(x))
    assert psnr(recon, x).mean() > 20.0  # the autoencoder keeps the digits (card: mean over 500)
    z, _ = preset.draw(4, torch.Generator().manual_seed(0))
    assert z.shape == (4, 4, 8, 8) and 0.5 < float(z.std()) < 2.0  # scaled latents: unit-scale data
    with pytest.raises(ValueError, match="images"):
        LatentMeasurement(parse_operator_spec("sr:2", (1, 16, 16)).sample(1, torch.Generator()), prior)


def test_shipped_latent_amortizer_is_the_default_for_ldm_mnist_and_restores_a_digit():
    from lavps.data.mnist import mnist_split
    from lavps.metrics import psnr

    prior = api.load_prior("ldm:mnist")
    x = mnist_split("test")[0][:1]
    op = api.operator("sr:2", (1, 32, 32))
    y = op.forward(x) + 0.05 * torch.randn(1, *op.out_shape, generator=torch.Generator().manual_seed(0))
    done = api.restore(y, op, 0.05, prior, "lavps", samples=1, seed=0)  # auto: sr:2 is a trained family
    assert done.settings["amortizer"].endswith("mnist32_ldm_amortizer.safetensors")
    assert done.settings["auto"]["trained_family"] and done.cost.amortizer_forwards > 0
    ran = done.settings["settings"]  # reference with presets.LATENT's fields: 2 Adam steps after the guard
    assert done.settings["auto"]["ran"] == "reference" and ran["inner_steps"] == LATENT["reference"]["inner_steps"]
    assert float(psnr(done.samples, x)) > 20.0  # the digit comes back (results/latent: 25.9 dB mean)
