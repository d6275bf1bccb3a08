"""The Python image API and the restore/degrade flow: presets, chunked sampling, safe seeds and files,
the README's image example, and a new user's degrade -> printed restore command path (tiny budgets)."""

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lavps
from lavps.amortize.defaults import default_amortizer_path
from lavps.evaluation.demo import DEMO_ROWS, DemoConfig, row_options
from lavps.imaging.io import read_observation_file, read_png, write_png
from lavps.operators import GaussianNoise, InverseProblem
from lavps.priors.image_unet import default_prior_path
from lavps.samplers.chunked import RunningMoments
from lavps.samplers.config import setting_names
from lavps.samplers.presets import DEFAULT_PRESET, LATENT, LATENT_LAVPS, PRESETS, preset_options
from lavps.samplers.registry import build_sampler, config_class

README = Path(__file__).resolve().parents[1] / "README.md"
shipped = pytest.mark.skipif(
    not (default_prior_path().is_file() and default_amortizer_path().is_file()), reason="shipped networks missing"
)


@pytest.fixture(scope="module")
def prior():
    return lavps.load_prior()


@pytest.fixture(scope="module")
def digit():
    from lavps.evaluation.demo import held_out_digits

    return held_out_digits(1)[0][0]  # the demo's first digit, (1, 32, 32)


# -- presets -----------------------------------------------------------------------------------------


def test_the_demo_runs_the_presets():
    demo = DemoConfig().samplers
    fixed = {label: row for label, row in DEMO_ROWS.items() if row[0] != "lavps"}
    assert {label: (name, preset_options(name, preset)[1]) for label, (name, preset) in fixed.items()} == {
        label: demo[label] for label in fixed
    }
    assert demo["lavps"] == ("lavps", {"preset": "auto"})  # resolved per task (row_options)
    assert demo["lavps-ref"] == ("lavps", {"preset": "reference"})  # per prior: presets.LATENT on a latent one
    for latent in (False, True):  # a LAVPS row runs its preset as `lavps restore` resolves it
        opts, _ = row_options(DemoConfig(), "lavps", {"preset": "reference"}, None, "sr:2", True, latent)
        assert opts["inner_steps"] == preset_options("lavps", "reference", latent=latent)[1]["inner_steps"]
    assert DEMO_ROWS["lavps"] == ("lavps", DEFAULT_PRESET["lavps"]) and DEMO_ROWS["mgdm"] == ("mgdm", "reference")
    assert {s: preset_options(s)[0] for s in PRESETS} == DEFAULT_PRESET


def test_auto_runs_fastest_on_training_families_and_reference_elsewhere():
    assert preset_options("lavps", "auto", trained=True)[1] == PRESETS["lavps"]["fastest"]
    for unknown in (False, None):  # an operator of unknown origin counts as unseen: the robust budget
        assert preset_options("lavps", "auto", trained=unknown)[1] == PRESETS["lavps"]["reference"]
    with pytest.raises(ValueError, match="no preset 'auto'"):
        preset_options("mgdm", "auto")
    for trained in (True, False, None):  # a non-linear family: reference, trained or not
        assert preset_options("lavps", "auto", trained=trained, linear=False)[1] == PRESETS["lavps"]["reference"]
        # a likelihood with several exact modes (phase retrieval): the Gibbs-repetition preset, trained or not
        got = preset_options("lavps", "auto", trained=trained, linear=False, multimodal=True)[1]
        assert got == PRESETS["lavps"]["multimodal"] and got["n_reps"] > 1
    latent_reference = {**PRESETS["lavps"]["reference"], **LATENT_LAVPS, **LATENT["reference"]}
    for trained in (True, False, None):  # a latent prior: reference everywhere (fastest is 1-1.6 dB under there)
        assert preset_options("lavps", "auto", trained=trained, latent=True)[1] == latent_reference
        assert preset_options("lavps", "auto", trained=trained, latent=True, multimodal=True)[1] == latent_reference
    # there `reference` takes 2 Adam steps after the guard (tuning digits: blur -0.35 -> -0.09 dB); a named
    # preset takes LATENT's fields too; every preset takes LATENT_LAVPS (the latent Gauss-Newton pieces)
    assert LATENT["reference"]["inner_steps"] == 2 > PRESETS["lavps"]["reference"]["inner_steps"]
    assert preset_options("lavps", "reference", latent=True) == ("reference", latent_reference)
    assert preset_options("lavps", "fastest", latent=True)[1] == {**PRESETS["lavps"]["fastest"], **LATENT_LAVPS}
    assert preset_options("mgdm", "reference", latent=True)[1] == PRESETS["mgdm"]["reference"]


def test_preset_errors_name_the_allowed_values():
    allowed = "tiny, fast, fastest, reference, multimodal, lavps-paper, auto"
    with pytest.raises(ValueError, match=f"no preset .paper.*{allowed}"):
        preset_options("lavps", "paper")
    with pytest.raises(ValueError, match="no budget presets for sampler 'ddim'"):
        preset_options("ddim", "fast")
    assert preset_options("ddim") == ("defaults", {})  # a sampler without presets runs its config's defaults


# -- streaming moments and chunks --------------------------------------------------------------------


@pytest.mark.parametrize("splits", [[7], [1, 6], [3, 3, 1], [1] * 7])
def test_running_moments_match_the_two_pass_formulas(splits):
    x = torch.randn(7, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5 + 100
    m = RunningMoments()
    for part in torch.split(x, splits):
        m.add(part)
    assert m.count == 7
    torch.testing.assert_close(m.mean, x.mean(0), rtol=0, atol=1e-12)
    torch.testing.assert_close(m.std(), x.std(0), rtol=1e-12, atol=1e-12)


@shipped
@pytest.mark.parametrize("sampler", ["mgdm", "lavps"])
def test_chunked_sampling_equals_one_batch(prior, digit, sampler):
    obs = lavps.degrade(digit, "gaussian_blur:5:1.0", 0.05, seed=0)
    one = lavps.restore(obs.y, obs.operator, obs.sigma, prior, sampler, samples=3, seed=10, preset="tiny")
    chunked = lavps.restore(
        obs.y,
        obs.operator,
        obs.sigma,
        prior,
        sampler,
        samples=3,
        seed=10,
        preset="tiny",
        run=lavps.RunOptions(batch_size=2),
    )
    assert one.seeds == chunked.seeds == [10, 11, 12]
    # across batch sizes samples agree up to float rounding (lavps.random); MGDM/LAVPS do not amplify it
    torch.testing.assert_close(chunked.samples, one.samples, rtol=0, atol=1e-4)
    torch.testing.assert_close(chunked.mean, one.samples.mean(0), rtol=0, atol=1e-4)
    torch.testing.assert_close(chunked.std, one.samples.std(0), rtol=0, atol=1e-4)
    assert chunked.cost.denoiser_forwards == one.cost.denoiser_forwards > 0
    # per-iteration guard win fractions: chunk-size-weighted means equal the one-batch fractions
    assert chunked.info.keys() == one.info.keys()
    for key, value in one.info.items():
        for name, wins in value.items() if isinstance(value, dict) else [(key, value)]:
            got = chunked.info[key][name] if isinstance(value, dict) else chunked.info[key]
            assert got == pytest.approx(wins)


@shipped
@pytest.mark.parametrize(
    "name,options",
    [
        ("dps", {"steps": 6}),
        ("mgdm", PRESETS["mgdm"]["tiny"]),
        ("lavps", {**PRESETS["lavps"]["tiny"], "candidates": ("network", "zero_shot", "linear")}),
    ],
)
def test_sample_is_bit_identical_whatever_its_batch_mates(prior, digit, name, options):
    """lavps.random's contract: at a fixed batch size, sample 0 ignores the other seeds and observations."""
    if name == "lavps":
        from lavps.amortize.checkpoint import load_amortizer

        options = {**options, "amortizer": load_amortizer(default_amortizer_path(), prior=prior)}
    op = lavps.operator("gaussian_blur:5:1.0", tuple(prior.shape))
    g = torch.Generator().manual_seed(1)
    clean = torch.stack([digit, *(torch.rand(2, *prior.shape, generator=g) * 2 - 1)])
    y = op.forward(clean) + 0.05 * torch.randn(3, *op.out_shape, generator=g)
    y_mates = y.clone()
    y_mates[1:] = y[1:].flip(-1) + 0.3
    sampler = build_sampler(name, prior, options)
    a = sampler.sample(InverseProblem(y, op, GaussianNoise(0.05)), 3, seed=[4, 0, 1]).samples
    b = sampler.sample(InverseProblem(y_mates, op, GaussianNoise(0.05)), 3, seed=[4, 8, 9]).samples
    assert torch.equal(a[0], b[0])
    assert not torch.equal(a[1], b[1])


# -- operators, seeds, inputs ------------------------------------------------------------------------


def test_random_operator_needs_a_seed_deterministic_ones_do_not():
    with pytest.raises(ValueError, match="'motion_blur:9:0.5' is random and no seed was given"):
        lavps.operator("motion_blur:9:0.5", (1, 16, 16))
    a = lavps.operator("motion_blur:9:0.5", (1, 16, 16), seed=3)
    b = lavps.operator("motion_blur:9:0.5", (1, 16, 16), seed=3)
    assert torch.equal(a.kernel, b.kernel)
    assert not torch.equal(a.kernel, lavps.operator("motion_blur:9:0.5", (1, 16, 16), seed=4).kernel)
    for spec in ("sr:2", "center:0.5", "denoise", "gaussian_blur:5:1.0"):
        assert tuple(lavps.operator(spec, (1, 16, 16)).in_shape) == (1, 16, 16)


def test_degrade_draws_the_operator_of_its_seed_and_restore_refuses_a_random_spec(prior):
    x = torch.zeros(1, 32, 32)
    obs = lavps.degrade(x, "box:0.3:0.5", 0.1, seed=5)
    assert torch.equal(obs.operator.mask, lavps.operator("box:0.3:0.5", (1, 32, 32), seed=5).mask)
    assert obs.y.shape == (1, 1, 32, 32) and obs.seed == 5
    with pytest.raises(ValueError, match="is random"):
        lavps.restore(obs.y, "box:0.3:0.5", 0.1, prior, "mgdm", preset="tiny")
    with pytest.raises(ValueError, match="no setting.*adam_in"):
        lavps.restore(obs.y, obs.operator, 0.1, prior, "lavps", preset="tiny", settings={"adam_in": 3})
    with pytest.raises(ValueError, match="sigma"):
        lavps.restore(obs.y, obs.operator, 0.0, prior, "mgdm")


def test_sixteen_bit_png_is_scaled_by_65535(tmp_path):
    grey = np.full((4, 4), 32768, dtype=np.uint16)
    grey[0, 0], grey[0, 1] = 0, 65535
    Image.fromarray(grey).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    x = read_png(tmp_path / "g16.png", channels=1, size=(4, 4))
    assert float(x[0, 0, 1, 1]) == pytest.approx(32768 / 65535 * 2 - 1, abs=1e-6)  # mid-grey, not white
    assert float(x[0, 0, 0, 0]) == -1.0 and float(x[0, 0, 0, 1]) == 1.0
    rgb = read_png(tmp_path / "g16.png", channels=3, size=(4, 4))
    assert rgb.shape == (1, 3, 4, 4) and torch.equal(rgb[:, 0], rgb[:, 2])


class _NotATensor:
    pass


def test_pickled_observation_is_one_safe_error_line(tmp_path, _cli):
    bad = tmp_path / "bad.observation.pt"
    torch.save({"y": _NotATensor()}, bad)
    p = _cli("restore", bad, "--operator", "denoise", "--sigma", "0.1", "--out", tmp_path / "out", "--quiet")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "pickled" in lines[0]
    assert "weights_only=False" not in p.stderr
    assert not (tmp_path / "out").exists()


def test_observation_files_tensor_dict_or_bare_and_garbage_refused(tmp_path):
    y = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    torch.save({"y": y}, tmp_path / "a.pt")
    torch.save(y, tmp_path / "b.pt")
    assert torch.equal(read_observation_file(tmp_path / "a.pt"), y) and torch.equal(
        read_observation_file(tmp_path / "b.pt"), y
    )
    (tmp_path / "c.pt").write_bytes(b"not a tensor file")
    with pytest.raises(ValueError, match="c.pt is not a readable tensor file"):
        read_observation_file(tmp_path / "c.pt")
    torch.save({"x": y}, tmp_path / "d.pt")
    with pytest.raises(ValueError, match="d.pt is not an observation file"):
        read_observation_file(tmp_path / "d.pt")


# -- the CLI over the API ----------------------------------------------------------------------------


@shipped
def test_restore_json_records_the_preset_and_only_that_samplers_settings(tmp_path, digit, _cli):
    clean = write_png(digit, tmp_path / "digit.png")
    degrade = [
        "degrade",
        clean,
        "--operator",
        "pixels:0.5",
        "--sigma",
        "0.1",
        "--seed",
        "2",
        "--out",
        tmp_path / "o.png",
    ]
    assert _cli(*degrade).returncode == 0
    common = ["--sigma", "0.1", "--sampler", "mgdm", "--preset", "tiny", "--quiet"]
    r = _cli("restore", tmp_path / "o.png", "--operator", "pixels:0.5", *common, "--out", tmp_path / "a")
    assert r.returncode != 0 and "--op-seed" in r.stderr and not (tmp_path / "a").exists()
    r = _cli(
        "restore", tmp_path / "o.png", "--operator", "pixels:0.5", "--op-seed", 2, *common, "--out", tmp_path / "a"
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "a" / "restore.json").read_text())
    assert meta["preset"] == "tiny" and meta["sampler"] == "mgdm"
    assert PRESETS["mgdm"]["tiny"].items() <= meta["settings"].items()  # the preset, plus mgdm's own defaults
    assert set(meta["settings"]) == set(setting_names(config_class("mgdm")))  # asdict(config): every field
    assert meta["operator"] == {"spec": "pixels:0.5", "seed": 2}
    from_file = ["--operator-file", tmp_path / "o.operator.safetensors", "--steps", 6, "--out", tmp_path / "b"]
    from_file += ["--samples", 3, "--batch-size", 2]
    r = _cli("restore", tmp_path / "o.observation.pt", *from_file, *common)
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "b" / "restore.json").read_text())
    assert "seed" not in meta["operator"] and meta["operator"]["operator_file"].endswith("o.operator.safetensors")
    assert meta["settings"]["steps"] == 6 and "inner_steps" not in meta["settings"]
    assert [row["seed"] for row in meta["samples"]] == [0, 1, 2] and (tmp_path / "b" / "posterior_std.png").is_file()
    r = _cli("restore", tmp_path / "o.png", "--operator", "sr:2", "--sigma", "0.1", "--out", tmp_path / "c")
    assert r.returncode != 0 and "32x32" in r.stderr  # deterministic: no seed asked, the PNG size is named
    # a .observation.pt alone: sigma and the operator come from the record `lavps degrade` wrote beside it
    r = _cli(
        "restore",
        tmp_path / "o.observation.pt",
        "--sampler",
        "mgdm",
        "--preset",
        "tiny",
        "--quiet",
        "--out",
        tmp_path / "d",
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "d" / "restore.json").read_text())
    assert meta["sigma"] == 0.1 and meta["operator"]["operator_file"].endswith("o.operator.safetensors")
    (tmp_path / "o.json").write_text("{not json")
    r = _cli("restore", tmp_path / "o.observation.pt", "--quiet", "--out", tmp_path / "e")
    assert r.returncode != 0 and "degrade record" in r.stderr and not (tmp_path / "e").exists()


@shipped
def test_auto_preset_follows_the_operators_family(tmp_path, prior, digit, _cli):
    """Default LAVPS budget: fastest on a family of the amortizer's card, reference on any other operator."""
    from lavps.operators import load_operator, save_operator

    trained = lavps.restore(lavps.degrade(digit, "sr:2", 0.05).y, "sr:2", 0.05, prior=prior)
    assert trained.settings["preset"] == "auto"
    assert trained.settings["auto"] == {
        "operator_family": "sr:2",
        "trained_family": True,
        "linear": True,
        "multimodal": False,
        "ran": "fastest",
    }
    assert trained.cost.denoiser_backwards == 0  # fastest: no Adam step
    unseen = lavps.restore(lavps.degrade(digit, "center:0.6", 0.05).y, "center:0.6", 0.05, prior=prior)
    assert unseen.settings["auto"]["ran"] == "reference" and unseen.settings["auto"]["trained_family"] is False
    assert unseen.cost.denoiser_backwards > 0  # reference: one Adam step per window iteration
    inside = lavps.restore(lavps.degrade(digit, "center:0.35", 0.05).y, "center:0.35", 0.05, prior=prior)
    assert inside.settings["auto"]["ran"] == "fastest"  # a centred box the box family draws
    assert inside.settings["auto"]["inside_trained_family"] == "box:0.3:0.5"
    # a hand-built operator (no family): unknown counts as unseen, the robust budget
    bare = lavps.operator("sr:2")
    bare.family = None
    assert lavps.restore(trained.observation, bare, 0.05, prior=prior).settings["auto"]["ran"] == "reference"
    # an operator file keeps the family that drew it, so `lavps restore OBS.observation.pt` stays fast
    obs = lavps.degrade(digit, "motion_blur:9:0.5", 0.05, seed=4)
    assert obs.operator.family == "motion_blur:9:0.5"
    save_operator(obs.operator, tmp_path / "op.safetensors")
    assert load_operator(tmp_path / "op.safetensors").family == "motion_blur:9:0.5"
    clean = write_png(digit, tmp_path / "digit.png")
    r = _cli("degrade", clean, "--operator", "center:0.6", "--sigma", "0.05", "--out", tmp_path / "o.png")
    assert r.returncode == 0, r.stderr
    r = _cli("restore", tmp_path / "o.observation.pt", "--quiet", "--out", tmp_path / "r")
    assert r.returncode == 0, r.stderr
    assert "preset auto ran reference: operator family center:0.6 is not a training family" in r.stdout
    meta = json.loads((tmp_path / "r" / "restore.json").read_text())
    assert meta["preset"] == "auto" and meta["auto"]["operator_family"] == "center:0.6"
    assert meta["auto"]["ran"] == "reference" and meta["settings"]["inner_steps"] == 1
    folder = tmp_path / "clean"
    folder.mkdir()
    write_png(digit, folder / "a.png")
    r = _cli("restore", folder, "--simulate", "sr:2", "--sigma", "0.05", "--quiet", "--out", tmp_path / "f")
    assert r.returncode == 0, r.stderr  # a folder restore decides the same way (simulate: the family's spec)
    assert json.loads((tmp_path / "f" / "run.json").read_text())["settings"]["auto"]["ran"] == "fastest"
    explicit = lavps.restore(trained.observation, "sr:2", 0.05, prior=prior, preset="fast").settings
    assert explicit["preset"] == "fast" and "auto" not in explicit  # a named preset is taken as it is


@shipped
def test_readme_image_example_runs_verbatim(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    code = next(b for b in blocks if "lavps.restore(" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    psnrs = json.loads(printed[0])
    assert len(psnrs) == 1 and psnrs[0] > 20  # the motion blur ID task restores to > 20 dB
    assert (tmp_path / "restored" / "restore.json").is_file()


@shipped
def test_new_user_path_reproduces_the_demo_code_path(tmp_path, prior, digit, _cli):
    """degrade, then the restore command degrade printed (plus a tiny preset) == the demo's sampling code."""
    clean = write_png(digit, tmp_path / "digit.png")
    out = tmp_path / "obs.png"
    p = _cli("degrade", clean, "--operator", "motion_blur:9:0.5", "--sigma", "0.05", "--seed", "3", "--out", out)
    assert p.returncode == 0, p.stderr
    again = _cli("degrade", clean, "--operator", "motion_blur:9:0.5", "--sigma", "0.05", "--out", out)
    assert again.returncode != 0 and "--overwrite" in again.stderr  # degrade never overwrites silently
    command = shlex.split(p.stdout.strip().splitlines()[-1])
    assert command[:2] == ["lavps", "restore"] and "--operator-file" in command
    r = _cli(*command[1:], "--preset", "tiny", "--reference", clean, "--quiet")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "obs_restored" / "restore.json").read_text())
    cli_psnr = meta["samples"][0]["psnr"]

    # the demo's code path (evaluation/demo.py): build_sampler + per-sample seeds + psnr on the tensors
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.metrics import psnr

    obs = lavps.degrade(digit, "motion_blur:9:0.5", 0.05, seed=3)
    options = {**PRESETS["lavps"]["tiny"], "amortizer": load_amortizer(default_amortizer_path(), prior=prior)}
    x = build_sampler("lavps", prior, options).sample(
        InverseProblem(obs.y, obs.operator, GaussianNoise(0.05)), 1, seed=[0]
    )
    demo_psnr = float(psnr(x.samples, digit[None])[0])
    assert cli_psnr == pytest.approx(demo_psnr, abs=1e-3)
    assert meta["preset"] == "tiny" and meta["cost"]["amortizer_forwards"] > 0


def test_tuned_baseline_settings_are_canonical_and_valid():
    """Every tuned entry (DDRM, DiffPIR, DPS, LAVPS) names a canonical operator spec and only keys its sampler
    reads."""
    from lavps.operators.spec import parse_operator_spec
    from lavps.samplers.presets import TUNED, tuned_options

    assert set(TUNED) == {"ddrm", "diffpir", "dps", "lavps"}
    for sampler, table in TUNED.items():
        for spec, options in table.items():
            assert parse_operator_spec(spec, (1, 32, 32)).spec == spec
            assert options and set(options) <= set(setting_names(config_class(sampler)))
            assert tuned_options(sampler, spec) == options and tuned_options(sampler, spec) is not options
    assert tuned_options("diffpir", "center:0.35") == {} and tuned_options("mgdm", "sr:2") == {}


@shipped
def test_auto_runs_reference_on_a_nonlinear_family_even_a_trained_one(prior):
    """jpeg:10 is in the non-linear amortizer's card, yet auto runs `reference` (the guard and Adam steps on
    the exact likelihood) with its non-linear G_in; a linear family of the same card still runs `fastest`."""
    from lavps.amortize.defaults import nonlinear_amortizer_path
    from lavps.workflows.settings import resolve_settings

    path = nonlinear_amortizer_path()
    jpeg = resolve_settings("lavps", "auto", {}, prior, "jpeg:10", path)
    expected = {
        "operator_family": "jpeg:10",
        "trained_family": True,
        "linear": False,
        "multimodal": False,
        "ran": "reference",
    }
    assert jpeg.record["auto"] == expected
    assert jpeg.config.nonlinear_inner_steps == PRESETS["lavps"]["reference"]["nonlinear_inner_steps"]
    assert jpeg.config.nonlinear_inner_steps > jpeg.config.inner_steps
    hdr = resolve_settings("lavps", "auto", {}, prior, "hdr:2", path)
    assert hdr.record["auto"]["ran"] == "reference" and hdr.record["auto"]["trained_family"] is False
    sr = resolve_settings("lavps", "auto", {}, prior, "sr:2", path)
    assert sr.record["auto"]["ran"] == "fastest" and sr.record["auto"]["linear"] is True
    # phase retrieval (trained; shifted and flipped copies give the same y): the Gibbs-repetition preset
    phase = resolve_settings("lavps", "auto", {}, prior, "phase:2", path)
    assert phase.record["auto"]["ran"] == "multimodal" and phase.record["auto"]["multimodal"] is True
    assert phase.config.n_reps == PRESETS["lavps"]["multimodal"]["n_reps"] > 1 and phase.config.inner_steps == 0
    # with no amortizer named, a non-linear family takes the shipped non-linear one (the demo's), a linear the other
    default = resolve_settings("lavps", "auto", {}, prior, "phase:2")
    assert default.record["amortizer"] == str(path) and default.record["auto"]["trained_family"] is True
    assert resolve_settings("lavps", "auto", {}, prior, "sr:2").record["amortizer"] != str(path)
