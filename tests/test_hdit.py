"""HDiT priors: the published network's outputs replayed, the checkpoint layouts, class labels, bad input."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from lavps.imaging.io import write_png
from lavps.priors.hdit import HDiTConfig, HDiTDenoiser, hdit_config
from lavps.priors.hdit.loader import load_hdit_prior
from lavps.priors.hdit.model import randomize_
from lavps.priors.specs import load_prior, prior_fingerprint

FIXTURE = Path(__file__).parent / "fixtures" / "hdit_tiny.safetensors"


def _fixture():
    with safe_open(str(FIXTURE), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return json.loads(meta["config"]), tensors


def _official_layout(state: dict) -> dict:
    """lavps HDiT names -> the published checkpoint's: "unet." prefix, ".attn." per layer, a logvar head."""
    out = {
        "unet." + re.sub(r"^((?:down_levels|up_levels)\.\d+|mid_level)\.(\d+)\.", r"\1.\2.attn.", k): v
        for k, v in state.items()
    }
    return out | {"logvar_fourier.freqs": torch.zeros(128), "logvar_linear.weight": torch.zeros(1, 128)}


@pytest.mark.parametrize(("case", "label"), [("label1", 1), ("null", 3)])
def test_reproduces_the_published_model_outputs(case, label):
    """Outputs of the official HDiT + EDM wrapper (tests/fixtures, made with its own code) for the same weights."""
    config, io = _fixture()
    denoiser = HDiTDenoiser(HDiTConfig(**config), label)
    randomize_(denoiser.net, seed=0)
    with torch.no_grad():
        out = denoiser.eval()(io[f"{case}.x"], io[f"{case}.sigma"])
    torch.testing.assert_close(out, io[f"{case}.official"], rtol=0, atol=1e-5)


def _tiny_checkpoint(tmp_path, layout="ema"):
    config, _ = _fixture()
    (tmp_path / "tiny.json").write_text(json.dumps(config))
    net = randomize_(HDiTDenoiser(HDiTConfig(**config), 1).net, seed=0)
    state = _official_layout(net.state_dict())
    if layout == "ema":
        torch.save({"ema": state, "step": 5}, tmp_path / "tiny.pt")
        return tmp_path / "tiny.pt", net
    if layout == "plain":
        torch.save(net.state_dict(), tmp_path / "plain.pt")
        return tmp_path / "plain.pt", net
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "tiny.safetensors"))
    return tmp_path / "tiny.safetensors", net


@pytest.mark.parametrize("layout", ["ema", "plain", "safetensors"])
def test_spec_loads_every_layout_through_the_vp_adapter(tmp_path, layout):
    path, net = _tiny_checkpoint(tmp_path, layout)
    prior = load_prior(f"hdit:{path}:{tmp_path / 'tiny.json'}:class=2")
    assert prior.shape == (3, 32, 32)
    g = torch.Generator().manual_seed(0)
    x_t, t = torch.randn(2, 3, 32, 32, generator=g), torch.tensor([10, 700])
    a = prior.schedule.abar(t).float()
    sigma = ((1 - a) / a).sqrt()
    reference = HDiTDenoiser(net.config, 2)
    reference.net.load_state_dict(net.state_dict())
    with torch.no_grad():
        expected = reference(x_t / a.sqrt()[:, None, None, None], sigma)
        torch.testing.assert_close(prior.denoise(x_t, t), expected, rtol=0, atol=1e-5)
        assert torch.equal(prior.denoise(x_t, 0), x_t)
    null = load_prior(f"hdit:{path}:{tmp_path / 'tiny.json'}", class_label="null")
    assert null.denoiser.class_label == 3


def test_class_labels_are_required_refused_and_checked(tmp_path):
    path, _ = _tiny_checkpoint(tmp_path)
    config = str(tmp_path / "tiny.json")
    with pytest.raises(ValueError, match="class-conditional: give a class label 0..2 or null"):
        load_hdit_prior(path, config)
    with pytest.raises(ValueError, match="out of range 0..3"):
        load_prior(f"hdit:{path}:{config}", class_label=7)
    with pytest.raises(ValueError, match="integer or 'null'"):
        load_prior(f"hdit:{path}:{config}:class=cat")
    with pytest.raises(ValueError, match="only for class-conditional HDiT priors"):
        load_prior("mnist", class_label=1)
    unconditional = HDiTConfig(**(json.loads(Path(config).read_text()) | {"num_classes": 0}))
    with pytest.raises(ValueError, match="unconditional: it takes no class label"):
        HDiTDenoiser(unconditional, 0)


def test_bad_checkpoints_and_configs_are_clear_errors(tmp_path):
    path, net = _tiny_checkpoint(tmp_path)
    config = str(tmp_path / "tiny.json")
    state = _official_layout(net.state_dict())
    state.pop("unet.mid_level.0.attn.ff.down_proj.weight")
    state["unet.mid_level.0.attn.self_attn.jnorm.linear.weight"] = torch.zeros(64, 32)
    torch.save({"ema": state}, tmp_path / "keys.pt")
    with pytest.raises(ValueError, match=r"1 missing \(first: \['mid_level.0.ff.down_proj.weight'\]\), 1 unexpected"):
        load_prior(f"hdit:{tmp_path / 'keys.pt'}:{config}:class=1")
    with pytest.raises(ValueError, match="keys do not match the HDiT config"):
        load_prior(f"hdit:{path}")  # the ffhq preset
    wide = json.loads(Path(config).read_text()) | {"mapping_width": 64}
    with pytest.raises(ValueError, match="tensors do not fit the HDiT config"):
        load_hdit_prior(path, wide, 1)
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickle.pt")
    with pytest.raises(
        ValueError, match=r"not a plain tensor checkpoint \(lavps never unpickles Python objects\)"
    ) as refused:
        load_hdit_prior(tmp_path / "pickle.pt", config, 1)
    assert "weights_only" not in str(refused.value)  # torch's advice to run the file's code is not passed on
    (tmp_path / "cut.pt").write_bytes((tmp_path / "keys.pt").read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.pt is not a readable torch checkpoint"):
        load_hdit_prior(tmp_path / "cut.pt", config, 1)
    with pytest.raises(FileNotFoundError, match="HDiT checkpoint not found"):
        load_prior(f"hdit:{tmp_path / 'none.pt'}")
    with pytest.raises(ValueError, match="unknown HDiT config keys"):
        hdit_config({"depth": 3})
    with pytest.raises(ValueError, match="kernel 4 must be odd"):
        HDiTConfig(image_size=32, patch_size=2, depths=(1, 1), widths=(32, 32), kernel_sizes=(4, 0), d_head=32)


def test_cli_restores_a_colour_png_with_a_class_label_and_refuses_bad_labels(tmp_path, _cli):
    path, _ = _tiny_checkpoint(tmp_path)
    spec = f"hdit:{path}:{tmp_path / 'tiny.json'}"
    clean = write_png(torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1, tmp_path / "c.png")
    obs = tmp_path / "obs.png"
    r = _cli(
        "degrade", clean, "--operator", "sr:2", "--sigma", "0.05", "--out", obs, "--prior", spec, "--class-label", "1"
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "obs.json").read_text())["prior"] == spec + ":class=1"  # the class is recorded
    assert f"--prior {spec}:class=1" in r.stdout  # and in the printed restore command
    common = ["--operator-file", tmp_path / "obs.operator.safetensors", "--sigma", "0.05", "--quiet"]
    common += ["--sampler", "mgdm", "--steps", "4", "--adam-out", "1", "--adam-in", "1"]
    r = _cli("restore", tmp_path / "obs.observation.pt", *common, "--out", tmp_path / "a")  # the recorded prior
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(tmp_path / "a" / "reconstruction_000.png")).shape == (32, 32, 3)
    assert json.loads((tmp_path / "a" / "restore.json").read_text())["prior"] == spec + ":class=1"
    r = _cli("restore", tmp_path / "obs.observation.pt", *common, "--class-label", "1", "--out", tmp_path / "a1")
    assert r.returncode == 0, r.stderr  # the record's own class, given again: no "names a class twice"
    for source, args, message in (
        ("obs.observation.pt", ["--prior", spec, "--class-label", "null"], "restore it with the same class label"),
        ("obs.observation.pt", ["--prior", spec], "restore it with the same class label"),
        ("obs.observation.pt", ["--class-label", "2"], "restore it with the same class label"),  # record: class 1
        ("obs.png", ["--prior", spec], "class-conditional: give a class label"),
        ("obs.png", ["--prior", "mnist", "--class-label", "1"], "only for class-conditional HDiT priors"),
        ("obs.png", ["--prior", spec, "--class-label", "9"], "out of range"),
    ):
        r = _cli("restore", tmp_path / source, *common, *args, "--out", tmp_path / "b")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, (args, r.stderr)
        assert not (tmp_path / "b").exists()


def test_the_class_label_is_part_of_the_prior_fingerprint(tmp_path):
    path, _ = _tiny_checkpoint(tmp_path)
    spec = f"hdit:{path}:{tmp_path / 'tiny.json'}"
    one, again, two = (prior_fingerprint(load_prior(spec, class_label=c)) for c in (1, 1, 2))
    assert one == again and one != two  # p(x | c) is another prior for every class c


def test_a_config_that_changes_no_tensor_still_changes_the_fingerprint(tmp_path):
    """sigma_data is no tensor, yet it changes D: the same weights under another CONFIG.json are another prior."""
    path, _ = _tiny_checkpoint(tmp_path)
    config = json.loads((tmp_path / "tiny.json").read_text())
    (tmp_path / "other.json").write_text(json.dumps({**config, "sigma_data": 1.0}))
    same = prior_fingerprint(load_prior(f"hdit:{path}:{tmp_path / 'tiny.json'}", class_label=1))
    again = prior_fingerprint(load_prior(f"hdit:{path}:{tmp_path / 'tiny.json'}", class_label=1))
    other = prior_fingerprint(load_prior(f"hdit:{path}:{tmp_path / 'other.json'}", class_label=1))
    assert same == again and same != other
    (tmp_path / "drop.json").write_text(json.dumps({**config, "dropout": 0.3}))  # off at sampling: the same prior
    assert prior_fingerprint(load_prior(f"hdit:{path}:{tmp_path / 'drop.json'}", class_label=1)) == same


def test_random_spec_builds_seeded_weights_for_benchmarks():
    a, b = load_prior("hdit:random:tiny"), load_prior("hdit:random:tiny")
    assert a.shape == (3, 32, 32) and a.denoiser.class_label is None
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = a.denoise(x, 500)
        assert torch.equal(out, b.denoise(x, 500)) and not torch.equal(out, x)
