"""Bring-your-own priors: diffusers schedules and prediction types, diffusers folders, ADM, VE denoisers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

from lavps.diffusion import Schedule
from lavps.priors import PREDICTIONS, GaussianMixturePrior, Prior, denoiser_from_output
from lavps.priors.adm import adm_flags, load_adm_prior
from lavps.priors.diffusers_folder import load_diffusers_prior
from lavps.priors.edm import VEDenoiserPrior
from lavps.priors.specs import load_prior, resolve_prior

FIXTURES = Path(__file__).parent / "fixtures"
SCHEDULES = [
    {"beta_schedule": "linear"},
    {"beta_schedule": "linear", "num_train_timesteps": 250, "beta_start": 5e-4, "beta_end": 0.05},
    {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
    {"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 400},
]


@pytest.mark.parametrize("config", SCHEDULES)
def test_schedule_matches_diffusers_alphas_cumprod(config):
    scheduler = DDPMScheduler(**config)
    schedule = Schedule.from_diffusers(dict(scheduler.config))
    assert schedule.num_steps == scheduler.config.num_train_timesteps and schedule.abar(0) == 1
    torch.testing.assert_close(schedule.alphas_cumprod[1:], scheduler.alphas_cumprod.double(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", SCHEDULES)
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("learned_variance", [False, True])
def test_x0_estimate_matches_diffusers_step(config, prediction, learned_variance):
    variance = "learned_range" if learned_variance else "fixed_small"
    scheduler = DDPMScheduler(**config, prediction_type=prediction, clip_sample=False, variance_type=variance)
    schedule = Schedule.from_diffusers(dict(scheduler.config))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 4, generator=g)
    out = torch.randn(2, 6 if learned_variance else 3, 4, 4, generator=g)
    for j in (0, 7, schedule.num_steps // 2, schedule.num_steps - 1):  # diffusers timestep j = our index j + 1
        ref = scheduler.step(out, j, x).pred_original_sample
        torch.testing.assert_close(denoiser_from_output(schedule, x, j + 1, out, prediction), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"beta_schedule": "sigmoid"}, "unsupported beta_schedule 'sigmoid'"),
        ({"beta_schedule": "linear", "rescale_betas_zero_snr": True}, "rescale_betas_zero_snr"),
    ],
)
def test_unmappable_schedules_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        Schedule.from_diffusers(config)


def tiny_unet(out_channels: int = 3, size: int = 8) -> UNet2DModel:
    torch.manual_seed(0)
    return UNet2DModel(
        sample_size=size,
        in_channels=3,
        out_channels=out_channels,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=4,
        attention_head_dim=8,
    ).eval()


@pytest.mark.parametrize("config", SCHEDULES[1:])
@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_diffusers_pipeline_folder_denoises_like_diffusers(tmp_path, config, prediction):
    learned = prediction == "v_prediction"  # one case with a learned-variance (2C) output
    net = tiny_unet(6 if learned else 3)
    variance = "learned_range" if learned else "fixed_small"
    scheduler = DDPMScheduler(**config, prediction_type=prediction, clip_sample=False, variance_type=variance)
    DDPMPipeline(unet=net, scheduler=scheduler).save_pretrained(tmp_path)
    prior = load_diffusers_prior(tmp_path)
    assert isinstance(prior, Prior) and prior.shape == (3, 8, 8)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    j = torch.tensor([3, scheduler.config.num_train_timesteps - 1])
    with torch.no_grad():
        out = net(x, j).sample
        ref = torch.stack(
            [scheduler.step(out[i : i + 1], int(j[i]), x[i : i + 1]).pred_original_sample[0] for i in (0, 1)]
        )
        torch.testing.assert_close(prior.denoise(x, j + 1), ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(prior.denoise(x, torch.tensor([0, 5]))[0], x[0])  # D(x, 0) = x, any prediction
    # the bare unet/ folder finds ../scheduler/ on its own; a folder path is a spec too (lavps.load_prior)
    for other in (load_diffusers_prior(tmp_path / "unet"), load_prior(str(tmp_path / "unet"))):
        torch.testing.assert_close(other.schedule.alphas_cumprod, prior.schedule.alphas_cumprod)


def test_diffusers_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="diffusers folder not found"):
        load_diffusers_prior(tmp_path / "nope")
    tiny_unet().save_pretrained(tmp_path / "unet")
    (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="lacks diffusion_pytorch_model.safetensors"):
        load_diffusers_prior(tmp_path / "unet")
    (tmp_path / "model_index.json").write_text(json.dumps({"unet": ["diffusers", "UNet2DConditionModel"]}))
    with pytest.raises(ValueError, match="must be a UNet2DModel, found"):
        load_diffusers_prior(tmp_path)


def _fixture_state(case: dict, scale: float) -> dict[str, torch.Tensor]:
    """The original-architecture weights of the fixture, redrawn exactly as tests/fixtures was made."""
    g = torch.Generator().manual_seed(case["seed"])
    return {k: torch.randn(tuple(case["shapes"][k]), generator=g) * scale for k in sorted(case["shapes"])}


@pytest.mark.parametrize("name", ["adm", "variant"])
def test_adm_conversion_reproduces_guided_diffusion(tmp_path, name):
    meta = json.loads((FIXTURES / "adm_tiny.json").read_text())
    io = torch.load(FIXTURES / "adm_tiny_io.pt", weights_only=True)[name]
    case = meta["cases"][name]
    torch.save(_fixture_state(case, meta["scale"]), tmp_path / "model.pt")
    (tmp_path / "flags.json").write_text(json.dumps(case["flags"]))
    prior = load_adm_prior(tmp_path / "model.pt", str(tmp_path / "flags.json"))
    assert prior.shape == (3, 16, 16) and prior.timestep_offset == -1
    with torch.no_grad():
        out = prior.net_output(io["x"], io["t"] + 1)  # ADM timestep j = our index j + 1
    torch.testing.assert_close(out, io["out"], rtol=0, atol=1e-5)


def test_adm_loader_refuses_bad_files(tmp_path):
    meta = json.loads((FIXTURES / "adm_tiny.json").read_text())
    case = meta["cases"]["adm"]
    state = _fixture_state(case, meta["scale"])
    flags = adm_flags(case["flags"])
    state.pop("middle_block.1.qkv.weight")
    state["label_emb.weight"] = torch.zeros(3, 128)
    torch.save(state, tmp_path / "keys.pt")
    with pytest.raises(ValueError, match=r"1 missing \(first: \['middle_block.1.qkv.weight'\]\), 1 unexpected"):
        load_adm_prior(tmp_path / "keys.pt", flags)
    with pytest.raises(ValueError, match="keys do not match the ADM flags"):
        load_adm_prior(tmp_path / "keys.pt", "ffhq")
    torch.save(_fixture_state(case, meta["scale"]), tmp_path / "good.pt")
    with pytest.raises(ValueError, match="good.pt: tensor shapes do not match the ADM flags"):
        load_adm_prior(tmp_path / "good.pt", flags | {"num_channels": 64})
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickle.pt")
    with pytest.raises(ValueError, match="not a plain tensor state dict"):
        load_adm_prior(tmp_path / "pickle.pt", flags)
    torch.save({"state_dict": {"a": torch.zeros(1)}, "epoch": 3}, tmp_path / "nested.pt")
    with pytest.raises(ValueError, match="not a plain state dict of tensors"):
        load_adm_prior(tmp_path / "nested.pt", flags)
    with pytest.raises(ValueError, match="class-conditional"):
        load_adm_prior(tmp_path / "keys.pt", flags | {"class_cond": True})


def test_ve_denoiser_reproduces_the_exact_gmm_denoiser():
    g = torch.Generator().manual_seed(0)
    weights, means = (
        torch.rand(3, generator=g, dtype=torch.float64),
        3 * torch.randn(3, 4, generator=g, dtype=torch.float64),
    )
    variances = 0.2 + torch.rand(3, 4, generator=g, dtype=torch.float64)
    gmm = GaussianMixturePrior(weights, means, variances)

    def ve_denoiser(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """E[x0 | x0 + sigma n = x] of the same mixture, written independently in VE form."""
        s2 = sigma[:, None, None] ** 2
        c = variances + s2  # (B, K, d)
        diff = x[:, None, :] - means
        logits = gmm.weights.log() - 0.5 * (diff**2 / c + c.log()).sum(-1)
        return (torch.softmax(logits, 1)[..., None] * (means + variances / c * diff)).sum(1)

    prior = VEDenoiserPrior(ve_denoiser, (4,))
    x = 4 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 1, 100, 500, 1000])
    torch.testing.assert_close(prior.denoise(x, t), gmm.denoise(x, t), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(prior.denoise(x, 0), x)
    with pytest.raises(ValueError, match=r"expected x_t of shape \(B, 4\)"):
        prior.denoise(x[:, :3], 10)


def test_unknown_and_malformed_specs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown prior spec 'stable'; allowed: mnist, gmm:D"):
        resolve_prior("stable")
    with pytest.raises(FileNotFoundError, match="ADM checkpoint not found"):
        resolve_prior(f"adm:{tmp_path / 'x.pt'}:imagenet")
    with pytest.raises(ValueError, match="unknown ADM preset 'lsun'"):
        resolve_prior(f"adm:{tmp_path / 'x.pt'}:lsun")
    with pytest.raises(ValueError, match="expected edm:MODULE:FACTORY"):
        resolve_prior("edm:only")
    with pytest.raises(ValueError, match="no clean training data"):
        resolve_prior(f"diffusers:{_save_pipeline(tmp_path)}").draw(2, torch.Generator())


def _save_pipeline(folder: Path) -> Path:
    DDPMPipeline(unet=tiny_unet(), scheduler=DDPMScheduler()).save_pretrained(folder)
    return folder
