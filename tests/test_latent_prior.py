"""Latent diffusion priors (`ldm:DIR`): tiny random VQModel / AutoencoderKL + latent UNet2DModel folders in
the diffusers LDM layout, restored end to end through the API and the CLI."""

import json
import os
import subprocess
import sys

import pytest
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DModel, VQModel

from helpers import tiny_unet_config
from lavps import api
from lavps.operators.measurement import Measurement
from lavps.operators.spec import draw_operator
from lavps.priors.latent import LatentMeasurement, LatentPrior

_AE = dict(
    in_channels=1,
    out_channels=1,
    down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
    up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
    block_out_channels=(8, 8),
    layers_per_block=1,
    latent_channels=2,
    norm_num_groups=4,
    sample_size=16,
)


def _ldm_folder(root, kind):
    """vqvae/ or vae/ + unet/ + scheduler/ + model_index.json, random weights: 16x16 images, 2x8x8 latents."""
    torch.manual_seed(0)  # weights of throw-away test networks only
    if kind == "vq":
        VQModel(**_AE, num_vq_embeddings=16, vq_embed_dim=2).save_pretrained(root / "vqvae")
    else:
        AutoencoderKL(**_AE, scaling_factor=0.5).save_pretrained(root / "vae")
    UNet2DModel(**tiny_unet_config(channels=2, size=8)).save_pretrained(root / "unet")
    DDPMScheduler().save_pretrained(root / "scheduler")
    ae = ["diffusers", "VQModel" if kind == "vq" else "AutoencoderKL"]
    index = {
        "_class_name": "LDMPipeline",
        "unet": ["diffusers", "UNet2DModel"],
        "scheduler": ["diffusers", "DDPMScheduler"],
    }
    index["vqvae" if kind == "vq" else "vae"] = ae
    (root / "model_index.json").write_text(json.dumps(index))
    return root


@pytest.mark.parametrize("kind", ["vq", "kl"])
def test_latent_prior_restores_images_through_the_decoder(tmp_path, kind):
    folder = _ldm_folder(tmp_path / "ldm", kind)
    prior = api.load_prior(f"ldm:{folder}")
    assert isinstance(prior, LatentPrior) and prior.shape == (2, 8, 8) and prior.image_shape == (1, 16, 16)
    assert prior.scaling_factor == (1.0 if kind == "vq" else 0.5)
    z = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(prior.decode(z)[1:], prior.decode(z[1:]))  # batch-independent decoding
    op = draw_operator("sr:2", (1, 16, 16))
    lifted = LatentMeasurement(op, prior)
    assert lifted.in_shape == (2, 8, 8) and not lifted.is_linear  # linear A is non-linear in z
    torch.testing.assert_close(lifted.forward(z), op.forward(prior.decode(z)))
    lin = lifted.linearize(z)  # the Jacobian through the decoder (a VQ's straight-through quantiser too)
    assert lin.vjp(torch.ones_like(lin.value)).abs().sum() > 0
    y = op.forward(prior.decode(z[:1])).detach()
    for sampler in ("mgdm", "dps"):
        result = api.restore(y, op, 0.1, prior, sampler, samples=2, seed=3, preset="tiny")
        assert result.samples.shape == (2, 1, 16, 16) and torch.isfinite(result.samples).all()
        again = api.restore(y, op, 0.1, prior, sampler, samples=2, seed=3, preset="tiny")
        assert torch.equal(again.samples, result.samples)
    with pytest.raises(ValueError, match="images"):
        LatentMeasurement(draw_operator("sr:2", (1, 32, 32)), prior)


def test_ldm_folder_errors_and_cli(tmp_path):
    folder = _ldm_folder(tmp_path / "ldm", "vq")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    y = torch.zeros(1, 1, 16, 16)
    torch.save({"y": y}, tmp_path / "y.observation.pt")
    args = ["restore", "y.observation.pt", "--operator", "jpeg:20", "--sigma", "0.1", "--prior", f"ldm:{folder}"]
    args += ["--sampler", "mgdm", "--preset", "tiny", "--quiet", "--out", "r"]
    done = subprocess.run(
        [sys.executable, "-m", "lavps.cli", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "r").glob("reconstruction_*.png"))) == 1
    (folder / "vae").mkdir()
    (folder / "vae" / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="exactly one autoencoder"):
        api.load_prior(f"ldm:{folder}")
    with pytest.raises(FileNotFoundError, match="not found"):
        api.load_prior(f"ldm:{tmp_path / 'absent'}")


@pytest.mark.parametrize("kind", ["vq", "kl"])
def test_latent_jacobian_products_match_autograd_and_keep_samples_apart(tmp_path, kind):
    """J v through a smooth (KL) decoder by a difference of decodes: within 1% of the double backward;
    J^T w the same backward pass; a VQ decoder (quantised) keeps the double backward."""
    prior = api.load_prior(f"ldm:{_ldm_folder(tmp_path / 'ldm', kind)}")
    gen = torch.Generator().manual_seed(2)
    z, v = torch.randn(3, 2, 8, 8, generator=gen), torch.randn(3, 2, 8, 8, generator=gen)
    for spec in ("sr:2", "jpeg:20"):  # a linear and a non-linear image operator
        lifted = LatentMeasurement(draw_operator(spec, (1, 16, 16)), prior)
        assert lifted.jvp_by_difference == (kind == "kl")
        lin, exact = lifted.linearize(z), Measurement.linearize(lifted, z)
        w = torch.randn(lin.value.shape, generator=gen)
        torch.testing.assert_close(lin.value, exact.value)
        torch.testing.assert_close(lin.vjp(w), exact.vjp(w))
        error = (lin.jvp(v) - exact.jvp(v)).flatten(1).norm(dim=1) / exact.jvp(v).flatten(1).norm(dim=1)
        assert float(error.max()) < (1e-2 if kind == "kl" else 1e-6)
        mates = torch.cat([10 * z[:1], z[1:2], -z[2:]])  # the step is per sample: batch-mates do not matter
        other = lifted.linearize(mates).jvp(torch.cat([100 * v[:1], v[1:2], v[2:] / 100]))
        torch.testing.assert_close(other[1], lin.jvp(v)[1], rtol=1e-5, atol=1e-6)
        assert float((lin.jvp(3 * v) - 3 * lin.jvp(v)).norm() / (3 * lin.jvp(v)).norm()) < 1e-3  # linear in v


def test_the_scaling_factor_is_part_of_the_fingerprint(tmp_path):
    """Two LDM folders with the same weights but another VAE scaling factor decode every z to another image: an
    amortizer trained against one must not pass for the other."""
    import shutil

    from lavps.priors.specs import prior_fingerprint

    one = _ldm_folder(tmp_path / "one", "kl")
    other = tmp_path / "other"
    shutil.copytree(one, other)
    config = json.loads((other / "vae" / "config.json").read_text())
    (other / "vae" / "config.json").write_text(json.dumps({**config, "scaling_factor": 0.25}))
    a, again, b = (api.load_prior(f"ldm:{f}") for f in (one, one, other))
    assert prior_fingerprint(a) == prior_fingerprint(again) != prior_fingerprint(b)
