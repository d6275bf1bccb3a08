"""One schema per sampler: typed, documented, validated configs; presets checked against them; JSON round
trips; CLI options generated from the fields (restore, demo, bench gmm); old spellings with a warning."""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from dataclasses import dataclass

import click
import pytest
import torch

import lavps
from lavps.cli.main import _register, cli
from lavps.priors.gmm import grid_mixture
from lavps.samplers.config import SamplerConfig, make_config, option_name, setting, setting_names
from lavps.samplers.presets import PRESETS, TUNED, fit_to_grid
from lavps.samplers.registry import (
    SAMPLERS,
    build_sampler,
    config_class,
    make_settings,
    settings_from_record,
    settings_record,
)

_register()

#: a value other than the default for every field type (the round trip must carry each one)
_OTHER = {
    "steps": 12,
    "window": 4,
    "lr": 0.2,
    "lr_inside": 0.05,
    "adam_out": 2,
    "n_reps": 2,
    "tau": "mix",
    "min_tau": 3,
    "tau_threshold": 2,
    "restart_zeta": 0.5,
    "final_tau": 9,
    "denoise_steps": 2,
    "whiten": True,
    "adam_in": 7,
    "inner_steps": 0,
    "guard": True,
    "candidates": ("network", "linear"),
    "linear_iters": 4,
    "linear_probes": 3,
    "reuse_draw": True,
    "linear_variance": True,
    "linear_below": 100,
    "fallback_steps": 2,
    "inner_tol": 0.01,
    "nonlinear_inner_steps": 5,
    "dps_zeta": 0.5,
    "ddrm_eta": 0.3,
    "ddrm_eta_b": 0.6,
    "diffpir_lambda": 0.4,
    "diffpir_zeta": 0.9,
    "diffpir_solver": "cg",
    "grid": "log_sigma",
    "particles": 2,
    "restarts": 3,
    "discrepancy": 1.25,
    "temperature": 1.7,
    "temperature_above": 400,
    "temperature_below": 1.3,
    "temperature_prior_only": True,
    "draw": "diagonal",  # the default: "linearised" cannot go with particles or temperature_prior_only
    "inner_taus": (200, 600),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_every_setting_is_documented_and_round_trips_through_json(name):
    cls = config_class(name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help"), f"{name}.{f.name} has no documentation"
    config = make_settings(name, {k: _OTHER[k] for k in setting_names(cls)})
    same = [k for k, v in dataclasses.asdict(cls()).items() if getattr(config, k) == v]
    # every field changed (lavps: fallback_steps needs the guard on; draw "linearised" excludes particles,
    # temperature_prior_only and reuse_draw, so it round-trips on its own below)
    assert set(same) <= {"guard", "draw"}
    changed = [config]
    if "draw" in setting_names(cls):
        changed.append(make_settings(name, {"draw": "linearised"}))
    for c in changed:
        record = json.loads(json.dumps(settings_record(name, c)))  # what restore.json / run.json hold
        assert record["settings"] == json.loads(json.dumps(dataclasses.asdict(c)))
        assert settings_from_record(record) == (name, c)


def test_unknown_settings_are_refused_with_the_allowed_list():
    with pytest.raises(ValueError, match=r"sampler 'ddrm' has no setting\(s\) inner_steps; allowed: steps, ddrm_eta"):
        make_settings("ddrm", {"inner_steps": 3})
    with pytest.raises(TypeError, match="takes a DDRMConfig, got a DPSConfig"):
        make_settings("ddrm", make_settings("dps"))
    with pytest.raises(ValueError, match="unknown sampler 'ddpm'; allowed: ddim, dps"):
        make_settings("ddpm")


@pytest.mark.parametrize(
    "name, values, message",
    [
        ("mgdm", {"steps": 3}, r"mgdm setting steps \(--steps\) must be an integer in 4\.\.1000, got 3"),
        ("dps", {"steps": 1001}, r"dps setting steps \(--steps\) must be an integer in 3\.\.1000, got 1001"),
        ("ddrm", {"steps": 1000}, r"in 2\.\.999, got 1000"),
        ("lavps", {"steps": 12, "window": 500}, r"window \(--window\) must be in 0\.\.9 \(the N - 3 iterations"),
        ("mgdm", {"final_tau": 5000}, r"final_tau \(--final-tau\) must be in 1\.\.999 or None, got 5000"),
        ("ddrm", {"ddrm_eta": 1.5}, r"ddrm_eta \(--ddrm-eta\) must be in \[0, 1\], got 1\.5"),
        ("diffpir", {"diffpir_solver": "lu"}, r"must be one of 'auto', 'svd', 'cg', got 'lu'"),
        ("mgdm", {"whiten": "true"}, r"whiten \(--whiten\) must be true or false \(a bool\), got 'true'"),
        ("mgdm", {"steps": 12.5}, r"must be an integer, got 12\.5"),
        ("lavps", {"candidates": "network,linear"}, r"candidates \(--candidates\) must be a list of one of"),
        ("lavps", {"candidates": ("linear",)}, "including 'network'"),
        ("dps", {"dps_zeta": float("nan")}, "must be a finite number"),
    ],
)
def test_values_outside_their_rule_are_refused_naming_it(name, values, message):
    with pytest.raises(ValueError, match=message):
        make_settings(name, values)


def test_a_final_tau_that_would_change_nothing_is_refused_when_built():
    prior = grid_mixture(4, generator=torch.Generator().manual_seed(0))
    build_sampler("mgdm", prior, {"steps": 20, "window": 5, "final_tau": 51})  # T_1 = 52 for N = 20
    with pytest.raises(ValueError, match=r"below the grid's first point T_1 = 52 \(N = 20\) or None, got 52"):
        build_sampler("mgdm", prior, {"steps": 20, "window": 5, "final_tau": 52})


def test_presets_and_tuned_settings_are_valid_typed_fields():
    for sampler, table in PRESETS.items():
        for preset, values in table.items():
            config = make_settings(sampler, values)  # unknown fields or bad values raise
            assert {k: getattr(config, k) for k in values} == values, (sampler, preset)
    for sampler, table in TUNED.items():
        for values in table.values():
            make_settings(sampler, values)


def test_a_preset_window_and_final_tau_are_fitted_to_a_grid_the_user_gives():
    fast = PRESETS["lavps"]["fast"]  # N = 20, window 17, final_tau 20
    assert fit_to_grid(fast, {"steps": 12}) == {**fast, "window": 9}
    assert "final_tau" not in fit_to_grid(fast, {"steps": 100})  # T_1 = 10 <= 20: it would add nothing
    assert fit_to_grid(fast, {"steps": 12, "window": 500})["window"] == 17  # the user's own value is not fitted
    assert fit_to_grid(fast, {}) == fast


def test_old_setting_names_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="'ddrm_steps' is deprecated.*use 'steps'"):
        assert make_settings("ddrm", {"ddrm_steps": 7}).steps == 7
    with pytest.raises(ValueError, match="'steps' only"):
        make_settings("dps", {"dps_steps": 7, "steps": 8})


def _options(command: click.Command) -> dict[str, click.Parameter]:
    with click.Context(command) as ctx:
        return {opt: p for p in command.get_params(ctx) for opt in p.opts}


@pytest.mark.parametrize(
    "path, samplers",
    [
        (("restore",), ("lavps", "mgdm", "dps", "ddrm", "diffpir")),
        (("demo",), ("lavps", "mgdm", "dps", "ddrm", "diffpir")),
        (("bench", "gmm"), tuple(SAMPLERS)),
        (("bench", "calibration"), tuple(SAMPLERS)),
        (("bench", "spread"), ("lavps", "mgdm", "dps", "ddrm", "diffpir")),
        (("bench", "paper"), ("lavps", "mgdm", "dps")),
    ],
)
def test_every_field_is_an_option_with_its_documentation(path, samplers):
    command = cli
    for name in path:
        command = command.commands[name]
    options = _options(command)
    for sampler in samplers:
        cls = config_class(sampler)
        for f in dataclasses.fields(cls):
            param = options[option_name(f.name)]
            assert f.metadata["help"] in param.help and sampler in param.help
            if typing.get_type_hints(cls)[f.name] is bool:
                assert f"--no-{option_name(f.name)[2:]}" in param.secondary_opts


@dataclass(frozen=True)
class _KnobConfig(SamplerConfig):
    label = "knob"
    steps: int = setting(10, "Grid size.")
    new_knob: float = setting(0.5, "A knob that no command names.")


def test_a_new_field_and_a_new_sampler_appear_on_the_cli_without_touching_it(monkeypatch):
    """One line in the configs' table (`samplers.configs.CONFIGS`, which the CLI reads without torch): the
    sampler is a `lavps restore --sampler` choice and its fields are options."""
    from lavps.cli.restore import _restoring
    from lavps.cli.settings import setting_options
    from lavps.samplers.configs import CONFIGS
    from lavps.samplers.registry import restoring_samplers

    assert restoring_samplers() == ("dps", "mgdm", "lavps", "ddrm", "diffpir")
    monkeypatch.setitem(CONFIGS, "knob", _KnobConfig)
    option = next(p for p in setting_options(None) if p.name == "new_knob")
    assert option.opts == ["--new-knob"] and "knob: A knob that no command names." in option.help
    assert "knob" in _restoring() and any(p.name == "new_knob" for p in setting_options(_restoring))


def test_cli_refuses_settings_out_of_range_and_unused_ones(tmp_path):
    """issue 21: `--window 500 --steps 12` and `--final-tau 5000` changed nothing; one range per setting."""
    from lavps.imaging.io import write_png

    png = write_png(lavps.degrade(_digit(), "sr:2", 0.05).y[0], tmp_path / "o.png")
    base = ["restore", str(png), "--operator", "sr:2", "--sigma", "0.05", "--quiet", "--out", str(tmp_path / "r")]
    for extra, message in [
        (["--sampler", "lavps", "--steps", "12", "--window", "500"], "window (--window) must be in 0..9"),
        (["--sampler", "mgdm", "--final-tau", "5000"], "final_tau (--final-tau) must be in 1..999"),
        (["--sampler", "mgdm", "--steps", "3"], "must be an integer in 4..1000, got 3"),
        (["--sampler", "ddrm", "--inner-steps", "2"], "'ddrm' has no setting(s) inner_steps; allowed: steps"),
        (["--sampler", "mgdm", "--dps-steps", "5"], "--dps-steps sets the dps sampler's steps; this run uses mgdm"),
    ]:
        with pytest.raises((ValueError, click.UsageError), match=re.escape(message)):
            cli.main(args=[*base, *extra], standalone_mode=False)
    assert not (tmp_path / "r").exists()
    for command, extra in [  # a setting none of the run's rows reads is refused before any work
        (["bench", "spread", "--samplers", "lavps-fastest"], ["--ddrm-eta", "0.5"]),
        (["bench", "calibration", "--samplers", "ddrm:tiny"], ["--inner-steps", "2"]),
        (["bench", "paper", "--samplers", "dps"], ["--adam-in", "2"]),
    ]:
        with pytest.raises(click.UsageError, match="applies to none of the samplers run"):
            cli.main(args=[*command, *extra, "--out" if command[1] != "spread" else "--json", str(tmp_path / "x")],
                     standalone_mode=False)  # fmt: skip
    assert not (tmp_path / "x").exists()


def _digit():
    from lavps.evaluation.demo import held_out_digits

    return held_out_digits(1)[0][0]


def test_restore_takes_a_config_object_or_a_dict_and_keywords_only():
    from lavps.samplers.mgdm import MGDMConfig

    digit = _digit()
    obs = lavps.degrade(digit, "sr:2", 0.05)
    tiny = PRESETS["mgdm"]["tiny"]
    by_dict = lavps.restore(obs.y, "sr:2", 0.05, sampler="mgdm", preset="tiny", seed=3)
    config = make_config(MGDMConfig, tiny)
    by_config = lavps.restore(obs.y, "sr:2", 0.05, sampler="mgdm", settings=config, seed=3)
    assert by_config.samples.equal(by_dict.samples)
    assert by_config.settings["settings"] == dataclasses.asdict(config) == by_dict.settings["settings"]
    assert settings_from_record(by_config.settings) == ("mgdm", config)
    with pytest.raises(TypeError):
        lavps.restore(obs.y, "sr:2", 0.05, None, "mgdm", 2)  # samples is keyword-only
    with pytest.raises(ValueError, match="complete config without one"):
        lavps.restore(obs.y, "sr:2", 0.05, sampler="mgdm", settings=config, preset="tiny")


def test_a_samplers_kind_default_applies_wherever_it_runs_and_the_users_value_wins():
    """DPS's step on JPEG / HDR (where its paper default diverges) is the same in lavps.restore and the demo."""
    from types import SimpleNamespace

    from lavps.api import load_prior
    from lavps.evaluation.demo_rows import DEMO_SAMPLERS, row_options
    from lavps.samplers.presets import KIND_DEFAULTS, kind_defaults, tuned_options
    from lavps.workflows.settings import resolve_settings

    name, options = DEMO_SAMPLERS["dps"]
    for sampler, kinds in KIND_DEFAULTS.items():
        for values in kinds.values():
            make_settings(sampler, values)  # valid fields and values
    prior = load_prior()
    for spec, zeta in (
        ("jpeg:10", 0.2),
        ("jpeg:50", 0.2),
        ("hdr:2", 0.5),
        ("phase:2", 1.0),
        ("sr:2", 1.0),
        (None, 1.0),
    ):
        resolved = resolve_settings("dps", None, {}, prior, spec)
        assert resolved.config.dps_zeta == zeta
        assert ("kind_default" in resolved.record) is (zeta != 1.0)
        for tuned in (True, False):  # the demo's DPS row: the same step, --paper-baselines or not
            row, _ = row_options(
                SimpleNamespace(tuned_baselines=tuned, settings={}), name, options, None, spec or "", False
            )
            assert row["dps_zeta"] == zeta
    mine = resolve_settings("dps", None, {"dps_zeta": 0.7}, prior, "jpeg:10")
    assert mine.config.dps_zeta == 0.7 and "kind_default" not in mine.record
    own = resolve_settings("dps", "lavps-paper", {}, prior, "jpeg:10")  # a preset's own step is not replaced
    assert own.config.dps_zeta == 0.1 and "kind_default" not in own.record
    assert kind_defaults("mgdm", "jpeg:10") == {} and tuned_options("dps", "jpeg:10") == {}


def test_each_config_names_its_own_sampler_class_and_a_missing_or_inherited_one_is_refused():
    """The registry pairs every config with the class its own `implementation` names (one place per sampler):
    a subclass that forgets it does not silently run its parent's sampler."""
    from lavps.samplers.configs import DDIMConfig
    from lavps.samplers.ddim import DDIM
    from lavps.samplers.dps import DPS
    from lavps.samplers.lavps import LAVPS
    from lavps.samplers.registry import sampler_class

    assert SAMPLERS["ddim"][0] is DDIM and SAMPLERS["dps"][0] is DPS
    assert SAMPLERS["lavps"][0] is LAVPS and SAMPLERS["amortized-only"][0] is LAVPS

    @dataclass(frozen=True)
    class Forgetful(DDIMConfig):  # inherits DDIMConfig's implementation, names none of its own
        label = "forgetful"

    with pytest.raises(TypeError, match="Forgetful.implementation"):
        sampler_class(Forgetful)

    @dataclass(frozen=True)
    class Wrong(DDIMConfig):
        label = "wrong"
        implementation = "ddim:NoSuchSampler"

    with pytest.raises(TypeError, match="'ddim:NoSuchSampler'"):
        sampler_class(Wrong)
