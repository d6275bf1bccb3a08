"""`--prior SPEC` end to end: `lavps degrade` + `lavps restore` on a 3x64x64 colour PNG with a random ADM,
diffusers pipeline folders and a VE (EDM-style) callable; bad specs give one `error:` line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
from PIL import Image

from lavps.imaging.io import write_png

FIXTURES = Path(__file__).parent / "fixtures"
SRC = str(Path(__file__).resolve().parents[1] / "src")

EDM_MODULE = '''
import torch


class GaussianDenoiser:
    """E[x0 | x0 + sigma n] for x0 ~ N(0, I) in R^(3x64x64)."""

    shape = (3, 64, 64)

    def __call__(self, x, sigma):
        return x / (1 + sigma[:, None, None, None] ** 2)


def make():
    return GaussianDenoiser()
'''


@pytest.fixture
def cli(_cli):
    """Run the CLI in-process (conftest's runner); return (exit code, stdout, stderr)."""

    def run(*args):
        r = _cli(*args)
        return r.returncode, r.stdout, r.stderr

    return run


def _adm_file(folder: Path) -> str:
    """The fixture's tiny ADM (3 channels) as a .pt state dict, with flags for 64x64 inputs."""
    meta = json.loads((FIXTURES / "adm_tiny.json").read_text())
    case = meta["cases"]["adm"]
    g = torch.Generator().manual_seed(case["seed"])
    state = {k: torch.randn(tuple(case["shapes"][k]), generator=g) * meta["scale"] for k in sorted(case["shapes"])}
    torch.save(state, folder / "adm.pt")
    # attention at the 2x down-sampled level: 8 px for a 16 px image, 32 px for 64 px
    (folder / "flags.json").write_text(json.dumps(case["flags"] | {"image_size": 64, "attention_resolutions": "32"}))
    return f"adm:{folder / 'adm.pt'}:{folder / 'flags.json'}"


def _pipeline(folder: Path, schedule: str, prediction: str, learned: bool) -> str:
    torch.manual_seed(0)  # weights of a throw-away test network only
    net = UNet2DModel(
        sample_size=64,
        in_channels=3,
        out_channels=6 if learned else 3,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=4,
        attention_head_dim=8,
    )
    scheduler = DDPMScheduler(
        beta_schedule=schedule,
        prediction_type=prediction,
        variance_type="learned_range" if learned else "fixed_small",
        num_train_timesteps=500,
    )
    DDPMPipeline(unet=net, scheduler=scheduler).save_pretrained(folder / "pipe")
    return f"diffusers:{folder / 'pipe'}"


def _edm(folder: Path) -> str:
    (folder / "my_edm.py").write_text(EDM_MODULE)
    return f"edm:{folder / 'my_edm.py'}:make"


PRIORS = {"adm": _adm_file, "edm": _edm}
for _schedule in ("linear", "scaled_linear", "squaredcos_cap_v2"):
    for _prediction, _learned in (("epsilon", True), ("v_prediction", False), ("sample", _schedule == "linear")):
        PRIORS[f"diffusers-{_schedule}-{_prediction}" + ("-2C" if _learned else "")] = (
            lambda f, s=_schedule, p=_prediction, v=_learned: _pipeline(f, s, p, v)
        )


@pytest.mark.parametrize("name", list(PRIORS))
def test_restore_colour_png_with_external_prior(tmp_path, cli, name):
    spec = PRIORS[name](tmp_path)
    clean = write_png(torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1, tmp_path / "c.png")
    code, _, err = cli("degrade", clean, "--operator", "pixels:0.5", "--sigma", "0.1", "--out", tmp_path / "obs.png")
    assert code != 0 and "error:" in err  # the default (1x32x32 MNIST) prior does not fit a 64x64 colour image
    code, _, err = cli(
        "degrade", clean, "--operator", "pixels:0.5", "--sigma", "0.1", "--out", tmp_path / "obs.png", "--prior", spec
    )
    assert code == 0, err
    outs = []
    for run in ("a", "b"):
        code, _, err = cli(
            "restore",
            tmp_path / "obs.observation.pt",
            "--operator-file",
            tmp_path / "obs.operator.safetensors",
            "--sigma",
            "0.1",
            "--prior",
            spec,
            "--sampler",
            "mgdm",
            "--steps",
            "4",
            "--adam-out",
            "1",
            "--adam-in",
            "1",
            "--out",
            tmp_path / run,
            "--quiet",
        )
        assert code == 0, err
        outs.append(np.asarray(Image.open(tmp_path / run / "reconstruction_000.png")))
    assert outs[0].shape == (64, 64, 3)
    np.testing.assert_array_equal(outs[0], outs[1])  # same seed, same sample
    meta = json.loads((tmp_path / "a" / "restore.json").read_text())
    assert meta["prior"] == spec and meta["cost"]["denoiser_forwards"] > 0


def test_bad_prior_specs_are_one_line_errors(tmp_path, cli):
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickle.pt")
    spec = _adm_file(tmp_path)
    state = torch.load(tmp_path / "adm.pt", weights_only=True)
    state["extra.weight"] = state.pop("out.2.bias")
    torch.save(state, tmp_path / "adm.pt")
    cases = {
        f"adm:{tmp_path / 'missing.pt'}": "ADM checkpoint not found",
        f"adm:{tmp_path / 'pickle.pt'}": "is not a plain tensor state dict",
        spec: r"1 missing (first: ['out.2.bias']), 1 unexpected (first: ['extra.weight'])",
        f"diffusers:{tmp_path / 'nope'}": "diffusers folder not found",
        f"edm:{tmp_path / 'nope.py'}:make": "module file not found",
    }
    code, _, err = cli("demo", "--prior", _edm(tmp_path), "--out", tmp_path / "o")
    assert code == 2 and err.startswith("error: the demo restores 1x32x32 MNIST digits") and err.count("\n") == 1
    obs = write_png(torch.zeros(1, 32, 32), tmp_path / "x.png")  # the observation exists: the prior is what fails
    for bad, message in cases.items():
        code, out, err = cli(
            "restore", obs, "--operator", "sr:2", "--sigma", "0.1", "--prior", bad, "--out", tmp_path / "o"
        )
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and message in err, (bad, err)
        assert not (tmp_path / "o").exists()


def test_unknown_prior_spec_in_a_subprocess(tmp_path):
    env = os.environ | {"PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    obs = str(write_png(torch.zeros(1, 32, 32), tmp_path / "x.png"))
    args = ["restore", obs, "--operator", "sr:2", "--sigma", "0.1", "--prior", "sd15", "--out", str(tmp_path / "o")]
    p = subprocess.run([sys.executable, "-m", "lavps.cli", *args], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2 and p.stderr.startswith("error: unknown prior spec 'sd15'") and p.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_train_amortizer_on_a_network_prior_needs_data_then_serves_restore(tmp_path, cli):
    spec = _edm(tmp_path)
    (tmp_path / "imgs").mkdir()
    g = torch.Generator().manual_seed(2)
    for i in range(3):
        write_png(torch.rand(3, 64, 64, generator=g) * 2 - 1, tmp_path / "imgs" / f"{i}.png")
    train = ["train-amortizer", "--prior", spec, "--operator", "gaussian_blur:3:1.0", "--sigma", "0.1", "--steps", "6"]
    train += ["--window", "2", "--iterations", "1", "--batch-size", "2", "--out", tmp_path / "am", "--quiet"]
    code, _, err = cli(*train)
    assert code == 2 and err.startswith("error: prior") and "--data DIR" in err and err.count("\n") == 1
    code, _, err = cli(*train, "--data", tmp_path / "imgs")
    assert code == 0, err
    card = json.loads((tmp_path / "am" / "amortizer.json").read_text())
    assert card["prior"]["data"].startswith("3 images from") and card["prior"]["spec"] == spec
    clean = write_png(torch.rand(3, 64, 64, generator=g) * 2 - 1, tmp_path / "c.png")
    deg = ["degrade", clean, "--operator", "gaussian_blur:3:1.0", "--sigma", "0.1", "--out", tmp_path / "o.png"]
    assert cli(*deg, "--prior", spec)[0] == 0
    code, _, err = cli(
        "restore",
        tmp_path / "o.observation.pt",
        "--operator-file",
        tmp_path / "o.operator.safetensors",
        "--sigma",
        "0.1",
        "--prior",
        spec,
        "--sampler",
        "lavps",
        "--amortizer",
        tmp_path / "am" / "amortizer.safetensors",
        "--out",
        tmp_path / "r",
        "--quiet",
    )
    assert code == 0, err
    assert json.loads((tmp_path / "r" / "restore.json").read_text())["cost"]["amortizer_forwards"] > 0


NAN_EDM = EDM_MODULE.replace("return x / (1 + sigma[:, None, None, None] ** 2)", "return x * float('nan')")


def test_broken_edm_modules_are_one_line_errors_and_write_nothing(tmp_path, cli):
    obs = write_png(torch.zeros(3, 32, 32), tmp_path / "x.png")
    cases = {
        "syntax.py": ("def make(:\n", "SyntaxError at"),
        "raises.py": ("def make():\n    raise KeyError('weights')\n", "KeyError at"),
        "nan.py": (NAN_EDM, "the prior's denoiser returned non-finite values"),
    }
    for name, (code, message) in cases.items():
        (tmp_path / name).write_text(code)
        prior = f"edm:{tmp_path / name}:make"
        args = ["--sampler", "ddrm", "--preset", "tiny", "--prior", prior, "--fit", "resize"]
        rc, _, err = cli("restore", obs, "--operator", "sr:2", "--sigma", "0.1", *args, "--out", tmp_path / "o")
        assert rc == 2 and err.count("\n") == 1 and message in err, (name, err)
        assert not (tmp_path / "o").exists()
    assert "at step 1 of" in err  # the sampler and its step are named
