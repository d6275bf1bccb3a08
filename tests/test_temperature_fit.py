"""Per-family variance temperatures of an amortizer (`lavps calibrate-amortizer`): the spread ratio's closed
form, the fit's crossing, the card's tables reaching `fastest` and `reference` (each its own), and the command
end to end."""

import copy
import json
import math

import pytest
import torch

from lavps.amortize.network import calibrated_draw, calibrated_temperature
from lavps.evaluation.calibration import calibration_report, spread_ratio
from lavps.evaluation.temperature_fit import PER_FAMILY, TemperatureFitConfig, choose_draw, fit_log_linear, merge_fits
from lavps.samplers.presets import calibrated_fields


def _draws(scale: float, problems: int = 300, k: int = 15, dim: int = 64, seed: int = 0):
    """Truth ~ N(m_p, I), K samples ~ N(m_p, scale^2 I) per problem."""
    g = torch.Generator().manual_seed(seed)
    centre = 3 * torch.randn(problems, 1, dim, generator=g)
    return centre + scale * torch.randn(problems, k, dim, generator=g), centre[:, 0] + torch.randn(
        problems, dim, generator=g
    )


@pytest.mark.parametrize("scale", [1.0, 0.5, 2.0])
def test_the_spread_ratio_is_one_for_exchangeable_draws_and_the_inverse_scale_otherwise(scale):
    # truth variance 1, sample variance s^2 per coordinate: E||x* - m||^2 = d (1 + s^2 / K) and
    # E||x_i - m||^2 = d s^2 (1 - 1 / K), so the ratio is sqrt((1 + s^2 / K) / ((1 + 1 / K) s^2)): 1 at s = 1
    samples, truth = _draws(scale)
    k = samples.shape[1]
    expected = math.sqrt((1 + scale**2 / k) / ((1 + 1 / k) * scale**2))
    assert spread_ratio(samples, truth) == pytest.approx(expected, rel=0.02)
    assert calibration_report(samples, truth)["spread_ratio"] == spread_ratio(samples, truth)


def test_the_spread_ratio_needs_two_samples():
    samples, truth = _draws(1.0, problems=4, k=2)
    with pytest.raises(ValueError, match="K >= 2"):
        spread_ratio(samples[:, :1], truth)


def test_the_fit_finds_the_crossing_of_a_power_law_and_clamps_outside_the_grid():
    temps = [1.5, 2.0, 2.5, 3.0]
    for t0 in (1.7, 2.2, 2.9):  # ratio = (T / T0)^(-1/2): crosses 1 at T0
        t, how = fit_log_linear(temps, [(t / t0) ** -0.5 for t in temps])
        assert (t, how) == (pytest.approx(t0), "interpolated")
    assert fit_log_linear(temps, [(t / 5.0) ** -0.5 for t in temps]) == (3.0, "clamped high")
    assert fit_log_linear(temps, [(t / 1.0) ** -0.5 for t in temps]) == (1.5, "clamped low")
    # a ratio that does not fall with T: the grid point closest to 1
    assert fit_log_linear(temps, [1.1, 1.02, 1.15, 1.2]) == (2.0, "flat")


@pytest.mark.parametrize(
    "temps, ratios, match",
    [([2.0], [1.0], "at least two"), ([1.5, 2.0], [1.0], "one spread ratio"), ([1.5, 2.0], [1.0, math.nan], "finite")],
)
def test_the_fit_refuses_bad_input(temps, ratios, match):
    with pytest.raises(ValueError, match=match):
        fit_log_linear(temps, ratios)


@pytest.mark.parametrize("temps", [(2.0, 2.0), (1.5, -1.0), (1.5, math.inf)])
def test_the_fit_config_refuses_a_bad_grid(temps):
    with pytest.raises(ValueError, match="temperatures"):
        TemperatureFitConfig(families=("sr:4",), temperatures=temps)


@pytest.mark.parametrize("draws", [(), ("diagonal", "diagonal"), ("full",)])
def test_the_fit_config_refuses_bad_draws(draws):
    with pytest.raises(ValueError, match="draws"):
        TemperatureFitConfig(families=("sr:4",), draws=draws)


class _Net:
    def __init__(self, table, draws=None):
        self.info = {"calibration": {"temperature": table, **({"draw": draws} if draws else {})}}


def test_each_family_keeps_the_draw_of_lower_energy_score_at_its_fitted_temperature():
    temps = [1.0, 1.5, 2.0]
    by_draw = {
        # calibrated near T = 2 (ratio (T / 2)^-1/2), ES 0.150 there
        "diagonal": {"spread_ratio": {f"{t:g}": (t / 2.0) ** -0.5 for t in temps},
                     "energy_score": {"1": 0.16, "1.5": 0.155, "2": 0.150}},
        # calibrated near T = 1, ES 0.135 there: lower, although its ES at T = 2 is the worst of all
        "linearised": {"spread_ratio": {f"{t:g}": (t / 1.05) ** -0.5 for t in temps},
                       "energy_score": {"1": 0.135, "1.5": 0.149, "2": 0.161}},
    }  # fmt: skip
    assert choose_draw(by_draw, temps) == "linearised"
    assert by_draw["linearised"]["temperature"] == pytest.approx(1.05) and by_draw["diagonal"]["temperature"] == 2.0
    # interpolated linearly in log T between T = 1 and 1.5
    expected = 0.135 + math.log(1.05) / math.log(1.5) * (0.149 - 0.135)
    assert by_draw["linearised"]["energy_score_at_fit"] == pytest.approx(expected)
    assert by_draw["diagonal"]["energy_score_at_fit"] == pytest.approx(0.150)
    for t in ("1", "1.5"):  # a tie at the fitted temperatures: the first draw named wins
        by_draw["linearised"]["energy_score"][t] = 0.150
    assert choose_draw(by_draw, temps) == "diagonal"


def _fit_record(families: list[str], temperature: float, seed: int, preset: str = "fastest") -> dict:
    """A `fit_temperatures` record (without its results) whose every family got `temperature`."""
    tables = {key: {f: {"T": temperature} for f in families} for key in PER_FAMILY}
    tables["temperature"] = dict.fromkeys(families, temperature)
    return {**tables, "preset": preset, "fit": {"families": list(families), "seed": seed}}


def test_a_new_fit_replaces_only_its_families_and_the_history_names_the_rest():
    first = _fit_record(["sr:4", "box:0.3:0.5", "sr:2"], 2.0, seed=1)
    second = merge_fits(first, _fit_record(["sr:4"], 1.5, seed=2))
    assert second["temperature"] == {"box:0.3:0.5": 2.0, "sr:2": 2.0, "sr:4": 1.5}
    assert all(set(second[key]) == {"box:0.3:0.5", "sr:2", "sr:4"} for key in PER_FAMILY)
    assert second["fit"]["seed"] == 2 and second["earlier_fits"] == [{"families": ["box:0.3:0.5", "sr:2"], "seed": 1}]
    third = merge_fits(second, _fit_record(["sr:2", "center:0.35"], 3.0, seed=3))
    assert third["temperature"] == {"box:0.3:0.5": 2.0, "sr:4": 1.5, "sr:2": 3.0, "center:0.35": 3.0}
    # each family is credited to the fit that supplies it now; a fit that supplies none is dropped
    assert third["earlier_fits"] == [{"families": ["box:0.3:0.5"], "seed": 1}, {"families": ["sr:4"], "seed": 2}]
    assert merge_fits(third, _fit_record(["box:0.3:0.5", "sr:4", "sr:2", "center:0.35"], 1.0, seed=4)) == (
        _fit_record(["box:0.3:0.5", "sr:4", "sr:2", "center:0.35"], 1.0, seed=4)
    )  # everything refitted: no history left
    broken = {**second, "earlier_fits": {"not": "a list"}}  # a damaged history: the kept families keep their fit
    assert merge_fits(broken, _fit_record(["sr:4"], 1.0, seed=5))["earlier_fits"] == [
        {"families": ["box:0.3:0.5", "sr:2"], "seed": 2}
    ]


@pytest.mark.parametrize(
    "earlier",
    [None, _fit_record(["box:0.3:0.5"], 2.0, seed=1, preset="reference"), {"preset": "fastest", "temperature": [2.0]}],
    ids=["no earlier fit", "another preset", "corrupt"],
)
def test_a_new_fit_stands_alone_without_a_compatible_earlier_record(earlier):
    new = _fit_record(["sr:4"], 1.5, seed=2)
    assert merge_fits(copy.deepcopy(earlier), new) == new


def test_the_cards_draw_is_read_by_canonical_spec_and_a_corrupt_one_is_named():
    net = _Net({"sr:4": 1.0, "box:0.3:0.5": 2.5}, {"sr:4": "linearised", "box:0.3:0.5": "diagonal"})
    assert calibrated_draw(net, "sr:4") == "linearised"
    assert calibrated_draw(net, "sr:2", (1, 32, 32)) is None
    assert calibrated_fields("fastest", net, "sr:4") == {"temperature": 1.0, "draw": "linearised"}
    assert calibrated_fields("reference", net, "sr:4") == {}
    with pytest.raises(ValueError, match="calibrated draw for sr:4"):
        calibrated_draw(_Net({"sr:4": 1.0}, {"sr:4": "full"}), "sr:4")


def test_the_cards_table_is_read_by_canonical_spec():
    net = _Net({"sr:4": 1.75, "gaussian_blur:9:2.0": 2.4})
    assert calibrated_temperature(net, "sr:4") == 1.75
    assert calibrated_temperature(net, "gaussian_blur:9:2", (1, 32, 32)) == 2.4  # written another way
    assert calibrated_temperature(net, "sr:2", (1, 32, 32)) is None
    assert calibrated_temperature(net, None) is None
    assert calibrated_temperature(object(), "sr:4") is None  # no card
    for bad in ("hot", -1.0, math.nan):  # a corrupt card is named, never run with a garbage variance
        with pytest.raises(ValueError, match="calibrated temperature for sr:4"):
            calibrated_temperature(_Net({"sr:4": bad}), "sr:4")


def test_only_fastest_on_a_pixel_prior_takes_the_fitted_temperature():
    net = _Net({"sr:4": 1.75})
    assert calibrated_fields("fastest", net, "sr:4") == {"temperature": 1.75}
    assert calibrated_fields("fastest", net, "sr:2") == {}  # no fit for this family
    assert calibrated_fields("fastest", None, "sr:4") == {}  # no card
    assert calibrated_fields("fastest", net, "sr:4", latent=True) == {}
    for preset in ("fast", "reference", "multimodal", "tiny"):
        assert calibrated_fields(preset, net, "sr:4") == {}


def test_each_calibrated_preset_reads_its_own_fits_and_no_other():
    """`fastest`'s fits live under "calibration", `reference`'s under "calibration_reference": a family fitted
    for one preset is not taken by the other; presets without fits take none."""
    from lavps.constants import calibration_key

    net = _Net({"sr:4": 1.75})
    net.info[calibration_key("reference")] = {"temperature": {"gaussian_blur:13:3.0": 1.6}, "draw": {}}
    assert calibration_key("fastest") == "calibration" and calibration_key("reference") == "calibration_reference"
    assert calibrated_fields("reference", net, "gaussian_blur:13:3.0") == {"temperature": 1.6}
    assert calibrated_fields("fastest", net, "gaussian_blur:13:3.0") == {}
    assert calibrated_fields("reference", net, "sr:4") == {}  # sr:4's fit is fastest's
    assert calibrated_fields("reference", net, "gaussian_blur:13:3.0", latent=True) == {}
    assert calibrated_temperature(net, "gaussian_blur:13:3", (1, 32, 32), "reference") == 1.6  # another spelling
    with pytest.raises(ValueError, match="no calibration fit for preset 'fast'"):
        calibration_key("fast")
    with pytest.raises(ValueError, match="preset must be one of"):
        TemperatureFitConfig(families=("sr:4",), preset="fast")


@pytest.fixture(scope="module")
def mnist_and_net():
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.amortize.defaults import default_amortizer_path
    from lavps.api import load_prior

    prior = load_prior()
    net = copy.deepcopy(load_amortizer(default_amortizer_path(), prior=prior))
    net.info = {
        **net.info,
        "calibration": {"temperature": {"sr:4": 1.75}},
        "calibration_reference": {"temperature": {"gaussian_blur:5:1": 1.6}},
    }
    return prior, net


@pytest.mark.parametrize(
    "preset, family, given, temperature, recorded",
    [
        (None, "sr:4", {}, 1.75, True),  # auto runs fastest on a training family
        ("fastest", "sr:4", {}, 1.75, True),
        ("fastest", "box:0.3:0.5", {}, 2.0, False),  # no fit for it: the preset's
        ("fast", "sr:4", {}, 1.0, False),  # fast keeps its own variance rule
        ("fastest", "sr:4", {"temperature": 3.0}, 3.0, False),  # the user's wins
        (None, "gaussian_blur:13:3.0", {}, 1.0, False),  # unseen family: auto runs reference, no fit for it
        (None, "gaussian_blur:5:1", {}, 1.6, True),  # unseen, with a reference fit on the card
        ("reference", "gaussian_blur:5:1", {}, 1.6, True),
        ("fastest", "gaussian_blur:5:1", {}, 2.0, False),  # the reference fit is not fastest's
    ],
)
def test_resolved_settings_take_the_cards_temperature_where_it_applies(
    mnist_and_net, preset, family, given, temperature, recorded
):
    from lavps.workflows.settings import resolve_settings

    prior, net = mnist_and_net
    resolved = resolve_settings("lavps", preset, given, prior, family, amortizer=net)
    assert resolved.config.temperature == temperature
    assert ("calibrated_temperature" in resolved.record) is recorded


def test_resolved_settings_take_the_cards_draw_and_the_users_wins(mnist_and_net):
    from lavps.workflows.settings import resolve_settings

    prior, net = mnist_and_net
    net = copy.copy(net)
    net.info = {**net.info, "calibration": {"temperature": {"sr:4": 1.1}, "draw": {"sr:4": "linearised"}}}
    resolved = resolve_settings("lavps", None, {}, prior, "sr:4", amortizer=net)
    assert (resolved.config.draw, resolved.config.temperature) == ("linearised", 1.1)
    assert resolved.record["calibrated_temperature"] == {
        "operator_family": "sr:4",
        "temperature": 1.1,
        "draw": "linearised",
    }
    mine = resolve_settings("lavps", None, {"draw": "diagonal"}, prior, "sr:4", amortizer=net)
    assert (mine.config.draw, mine.config.temperature) == ("diagonal", 1.1)
    assert mine.record["calibrated_temperature"] == {"operator_family": "sr:4", "temperature": 1.1}
    # particles draw mean-field: the card's draw yields to them (no refusal), its temperature stays
    swarm = resolve_settings("lavps", None, {"particles": 4}, prior, "sr:4", amortizer=net)
    assert (swarm.config.draw, swarm.config.temperature, swarm.config.particles) == ("diagonal", 1.1, 4)
    with pytest.raises(ValueError, match="particles"):  # asked for together: refused, named
        resolve_settings("lavps", None, {"particles": 4, "draw": "linearised"}, prior, "sr:4", amortizer=net)
    # so does temperature_prior_only (the prior's share is mean-field by construction)
    prior_only = resolve_settings("lavps", None, {"temperature_prior_only": True}, prior, "sr:4", amortizer=net)
    assert prior_only.config.draw == "diagonal" and "draw" not in prior_only.record["calibrated_temperature"]
    with pytest.raises(ValueError, match="draw"):
        resolve_settings(
            "lavps", None, {"temperature_prior_only": True, "draw": "linearised"}, prior, "sr:4", amortizer=net
        )


def test_the_demo_rows_take_the_same_temperature(mnist_and_net):
    from lavps.evaluation.demo import DemoConfig
    from lavps.evaluation.demo_rows import row_options

    _, net = mnist_and_net
    config = DemoConfig()
    auto, _ = row_options(config, "lavps", {"preset": "auto"}, net, "sr:4", True)
    fast, _ = row_options(config, "lavps", {"preset": "fast"}, net, "sr:4", True)
    other, _ = row_options(config, "lavps", {"preset": "auto"}, net, "box:0.3:0.5", True)
    assert (auto["temperature"], fast.get("temperature", 1.0), other["temperature"]) == (1.75, 1.0, 2.0)


def test_the_command_writes_a_card_that_restore_then_uses(tmp_path, _cli):
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.amortize.defaults import default_amortizer_path
    from lavps.api import load_prior

    out = tmp_path / "cal" / "net"
    args = ["calibrate-amortizer", "--operator", "sr:4", "--problems", "2", "--samples", "2", "--prior-steps", "3"]
    run = _cli(*args, "--temperatures", "1.5", "2.5", "--draws", "diagonal", "linearised", "--out", out, "--quiet")
    assert run.returncode == 0, run.stderr
    assert "sr:4" in run.stdout and "fitted T" in run.stdout and "linearised" in run.stdout
    net = load_amortizer(out.with_suffix(".safetensors"), prior=load_prior())
    table = net.info["calibration"]
    assert 1.5 <= table["temperature"]["sr:4"] <= 2.5
    assert set(table["spread_ratio"]["sr:4"]) == {"1.5", "2.5"}
    chosen = table["draw"]["sr:4"]
    assert set(table["by_draw"]["sr:4"]) == {"diagonal", "linearised"}
    assert table["temperature"]["sr:4"] == table["by_draw"]["sr:4"][chosen]["temperature"]
    assert calibrated_fields("fastest", net, "sr:4") == {"temperature": table["temperature"]["sr:4"], "draw": chosen}
    card = json.loads((tmp_path / "cal" / "net.json").read_text())  # the shipped card's fields, plus the fit
    assert card["calibration"]["temperature"] == table["temperature"] and "held_out_loss_ratio" in card
    assert (tmp_path / "cal" / "net.calibration.json").is_file()
    # the shipped card's other families keep their fits, credited to the shipped fit's settings
    shipped = load_amortizer(default_amortizer_path(load_prior()), prior=load_prior()).info["calibration"]
    others = [f for f in shipped["temperature"] if f != "sr:4"]
    assert others and all(table[key][f] == shipped[key][f] for key in ("temperature", "draw") for f in others)
    assert table["earlier_fits"] == [{**shipped["fit"], "families": others}]
    assert "kept from the card's earlier fits: " + ", ".join(others) in run.stdout
    again = _cli(*args, "--temperatures", "1.5", "2.5", "--out", out, "--quiet")  # refused before any work
    assert again.returncode != 0 and "exists" in again.stderr and "--overwrite" in again.stderr


def test_the_command_fits_reference_on_an_unseen_family_and_keeps_the_fastest_fits(tmp_path, _cli):
    """--preset reference: the fit goes under the card's "calibration_reference", `auto` on that unseen family
    (which runs reference) then takes it, and the card's `fastest` fits are untouched."""
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.amortize.defaults import default_amortizer_path
    from lavps.api import load_prior
    from lavps.workflows.settings import resolve_settings

    prior = load_prior()
    out = tmp_path / "ref"
    run = _cli(
        "calibrate-amortizer", "--preset", "reference", "--operator", "gaussian_blur:5:1.0", "--problems", "2",
        "--samples", "2", "--prior-steps", "3", "--temperatures", "1", "2", "--out", out, "--quiet",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    family = "gaussian_blur:5:1"  # the canonical spec the card is keyed by
    assert "Spread ratio of `reference`" in run.stdout and family in run.stdout
    assert "note:" not in run.stderr  # an unseen family: auto runs reference there, no note
    net = load_amortizer(out.with_suffix(".safetensors"), prior=prior)
    fit = net.info["calibration_reference"]
    assert fit["preset"] == "reference" and fit["fit"]["preset"] == "reference"
    assert 1.0 <= fit["temperature"][family] <= 2.0 and set(fit["temperature"]) == {family}
    shipped = load_amortizer(default_amortizer_path(prior), prior=prior).info
    assert net.info["calibration"] == shipped["calibration"]  # fastest's fits kept as they were
    resolved = resolve_settings("lavps", None, {}, prior, family, amortizer=net)
    assert resolved.config.temperature == fit["temperature"][family]
    assert resolved.record["auto"]["ran"] == "reference"
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["calibration_reference"]["temperature"] == fit["temperature"]


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--preset", "reference"], "--preset reference needs --operator"),
        (["--operator", "jpeg:10"], "not a linear operator family"),
        (["--operator", "warp:3"], "operator"),
        (["--temperatures", "2", "2"], "given more than once"),  # a repeated list value: refused by the option
        (["--amortizer", "missing.safetensors"], "does not exist"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line(tmp_path, _cli, extra, match):
    run = _cli("calibrate-amortizer", *extra, "--out", tmp_path / "x", "--quiet")
    assert run.returncode != 0
    assert match in run.stderr and run.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_reference_fit_of_a_training_family_says_auto_runs_fastest_there(tmp_path, _cli):
    run = _cli(
        "calibrate-amortizer", "--preset", "reference", "--operator", "center:0.35", "--problems", "2", "--samples",
        "2", "--prior-steps", "3", "--temperatures", "1", "2", "--out", tmp_path / "c", "--quiet",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "note: auto runs fastest on center:0.35" in run.stderr  # a box the box family draws
