"""Bad architecture files, LDM folders and checkpoints are one-line ValueErrors naming the file and the key;
a latent folder is never read as a pixel prior; placing a latent prior prints no diffusers warning; `--prior`'s
help lists every spec kind."""

import json
import logging
import re
from pathlib import Path

import pytest
import torch
from diffusers import UNet2DModel, VQModel
from safetensors.torch import save_file

from helpers import tiny_unet_config
from lavps import api
from lavps.imaging.io import write_png
from lavps.operators.spec import draw_operator
from lavps.priors.adm import adm_flags, load_adm_prior
from lavps.priors.diffusers_folder import load_diffusers_prior
from lavps.priors.hdit import HDiTConfig, hdit_config
from lavps.priors.hdit.config import HDIT_PRESETS
from lavps.priors.hdit.loader import load_hdit_prior
from lavps.priors.latent import default_latent_prior_path, load_latent_prior
from lavps.priors.placement import place_prior
from lavps.priors.schemes import PRESET_KINDS
from lavps.priors.specs import load_prior
from test_hdit import _tiny_checkpoint
from test_latent_prior import _AE, _ldm_folder

ADM_FLAGS = json.loads((Path(__file__).parent / "fixtures" / "adm_tiny.json").read_text())["cases"]["adm"]["flags"]


def _write(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


def _refused(key: str, path) -> str:
    """The start of the message for a bad `key` in the file `path`."""
    return "^" + re.escape(f"{path}: {key} must be ")


@pytest.mark.parametrize(
    ("bad", "key"),
    [
        ({"d_head": 0}, "d_head"),
        ({"patch_size": 0}, "patch_size"),
        ({"depths": 5}, "depths"),
        ({"image_size": "32"}, "image_size"),
        ({"mapping_depth": -1}, "mapping_depth"),
        ({"depths": [0, 0, 0, 0]}, "depths"),
        ({"dropout": 1.5}, "dropout"),
        ({"num_classes": True}, "num_classes"),
    ],
)
def test_bad_hdit_config_values_name_the_file_and_key(tmp_path, bad, key):
    path = _write(tmp_path / "h.json", HDIT_PRESETS["tiny"].to_json() | bad)
    with pytest.raises(ValueError, match=_refused(key, path)):
        hdit_config(str(path))
    with pytest.raises(ValueError, match=f"^HDiT config: {key} must be "):  # from Python: no file to name
        HDiTConfig(**(HDIT_PRESETS["tiny"].to_json() | bad))


@pytest.mark.parametrize(
    ("bad", "key"),
    [
        ({"num_head_channels": -1, "num_heads": 0}, "num_heads"),
        ({"attention_resolutions": "0"}, "attention_resolutions"),
        ({"diffusion_steps": 0}, "diffusion_steps"),
        ({"channel_mult": "1,x"}, "channel_mult"),
        ({"num_head_channels": 0}, "num_head_channels"),
        ({"learn_sigma": "False"}, "learn_sigma"),
        ({"noise_schedule": "sigmoid"}, "noise_schedule"),
    ],
)
def test_bad_adm_flags_name_the_file_and_key(tmp_path, bad, key):
    path = _write(tmp_path / "f.json", ADM_FLAGS | bad)
    with pytest.raises(ValueError, match=_refused(key, path)):
        adm_flags(str(path))
    with pytest.raises(ValueError, match=_refused(key, path)):  # checked before the checkpoint is read
        load_prior(f"adm:{tmp_path / 'absent.pt'}:{path}")


def test_a_bad_config_value_is_one_cli_error_line(tmp_path, _cli):
    path = _write(tmp_path / "h.json", HDIT_PRESETS["tiny"].to_json() | {"d_head": 0})
    obs = write_png(torch.zeros(3, 32, 32), tmp_path / "x.png")
    run = _cli("restore", obs, "--operator", "sr:2", "--sigma", "0.1", "--prior", f"hdit:random:{path}", "--out", "o")
    assert run.returncode != 0
    assert run.stderr == f"error: {path}: d_head must be an integer >= 1, got 0\n"


def _vq_folder(root: Path, unet_channels: int) -> Path:
    """A VQModel whose quantised latents have vq_embed_dim = 3 channels (latent_channels = 2)."""
    folder = _ldm_folder(root, "vq")
    torch.manual_seed(0)  # weights of throw-away test networks only
    VQModel(**_AE, num_vq_embeddings=16, vq_embed_dim=3).save_pretrained(folder / "vqvae")
    UNet2DModel(**tiny_unet_config(channels=unet_channels, size=8)).save_pretrained(folder / "unet")
    return folder


def test_a_vq_folder_takes_vq_embed_dim_channels(tmp_path):
    prior = load_latent_prior(_vq_folder(tmp_path / "good", 3))
    assert prior.shape == (3, 8, 8) and prior.image_shape == (1, 16, 16)
    op = draw_operator("sr:2", (1, 16, 16))
    y = op.forward(torch.zeros(1, 1, 16, 16))
    result = api.restore(y, op, 0.1, prior, "dps", samples=1, seed=0, preset="tiny")
    assert result.samples.shape == (1, 1, 16, 16) and torch.isfinite(result.samples).all()
    bad = _vq_folder(tmp_path / "bad", 2)  # latent_channels: not what the quantiser gives the UNet
    with pytest.raises(
        ValueError, match=re.escape(f"{bad}: the UNet takes 2 channels, the autoencoder's latents have 3")
    ):
        load_latent_prior(bad)


def test_ldm_scaling_factor_and_latent_size_are_checked(tmp_path):
    folder = _ldm_folder(tmp_path / "ldm", "kl")
    vae = folder / "vae" / "config.json"
    config = json.loads(vae.read_text())
    _write(vae, config | {"scaling_factor": float("inf")})  # json writes Infinity
    with pytest.raises(ValueError, match=_refused("scaling_factor", vae)):
        load_latent_prior(folder)
    _write(vae, config)
    unet = folder / "unet" / "config.json"
    _write(unet, json.loads(unet.read_text()) | {"sample_size": 16})
    message = f"{folder}: unet/ sample_size 16 does not fit the autoencoder's latents: vae/ sample_size 16 / 2**1 = 8"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        load_latent_prior(folder)


def test_latent_folders_are_not_read_as_pixel_priors(tmp_path):
    folder = _ldm_folder(tmp_path / "ldm", "kl")
    hint = f"{folder} is a latent diffusion folder: use --prior ldm:{folder}"
    for spec in (str(folder), f"diffusers:{folder}"):
        with pytest.raises(ValueError, match="^" + re.escape(hint) + "$"):
            load_prior(spec)
    _write(folder / "model_index.json", {"_class_name": "LDMPipeline", "unet": ["diffusers", "UNet2DModel"]})
    with pytest.raises(ValueError, match=re.escape(hint)):
        load_diffusers_prior(folder)
    (folder / "model_index.json").unlink()  # no index: recognised by its unet/ and vae/
    with pytest.raises(ValueError, match=re.escape(hint)):
        load_diffusers_prior(folder)
    shipped = default_latent_prior_path()
    with pytest.raises(ValueError, match=re.escape(f"use --prior ldm:{shipped}")):
        load_prior(str(shipped))


def test_checkpoint_errors_never_advise_unpickling_and_stay_short(tmp_path):
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickle.pt")
    with pytest.raises(ValueError) as refused:
        load_adm_prior(tmp_path / "pickle.pt", ADM_FLAGS)
    message = str(refused.value)
    assert "not a plain tensor state dict (lavps never unpickles Python objects)" in message
    assert "weights_only" not in message
    path, net = _tiny_checkpoint(tmp_path)
    config = str(tmp_path / "tiny.json")
    (tmp_path / "text.pt").write_text("not a checkpoint\n")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'text.pt'} is not a torch or safetensors file")):
        load_hdit_prior(tmp_path / "text.pt", config, 1)
    ints = {k: (v * 100).to(torch.int32).contiguous() for k, v in net.state_dict().items()}
    save_file(ints, str(tmp_path / "ints.safetensors"))
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "ints.safetensors"))) as refused:
        load_hdit_prior(tmp_path / "ints.safetensors", config, 1)
    assert "not floating point" in str(refused.value) and len(str(refused.value)) < 600


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_placing_a_latent_prior_prints_no_diffusers_warning(tmp_path, capfd):
    records = _Records()
    logging.getLogger("diffusers").addHandler(records)
    try:
        prior = place_prior(load_prior("ldm:mnist"), "cpu", "fp32")
        weights = {k: v.clone() for k, v in prior.autoencoder.state_dict().items()}
        half = place_prior(load_prior(f"ldm:{_ldm_folder(tmp_path / 'ldm', 'kl')}"), "cpu", "bf16")
    finally:
        logging.getLogger("diffusers").removeHandler(records)
    assert records.messages == [] and "float32" not in capfd.readouterr().err
    assert all(torch.equal(v, weights[k]) for k, v in prior.autoencoder.state_dict().items())
    assert next(half.latent.parameters()).dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in half.autoencoder.parameters())


def test_reference_decoder_weights_are_not_rounded_through_bf16(tmp_path):
    prior = load_prior(f"ldm:{_ldm_folder(tmp_path / 'ldm', 'kl')}")
    before = {k: v.clone() for k, v in prior.autoencoder.state_dict().items()}
    placed = place_prior(prior, "cpu", "bf16")
    assert all(torch.equal(v, before[k]) for k, v in placed.autoencoder.state_dict().items())


def test_prior_help_lists_every_spec_kind():
    from lavps.cli.main import cli

    commands = [cli.commands["restore"], cli.commands["degrade"], cli.commands["bench"].commands["paper"]]
    for command in commands:
        (option,) = [p for p in command.params if p.name == "prior_path"]
        missing = [kind for kind in PRESET_KINDS if kind not in option.help]
        assert not missing, (command.name, missing)
    with pytest.raises(ValueError, match=re.escape(", ".join(PRESET_KINDS))):
        load_prior("sd15")
