"""The study's target computations (ratios of numbers measured in one run) and panel specs."""

import pytest

from lavps.evaluation.pareto import pareto_entries, parse_panel, targets


def _row(name, sw, ci, seconds):
    return {"sampler": name, "sw_mean": sw, "sw_ci95": ci, "seconds": seconds}


def test_id_target_picks_cheapest_lavps_within_mgdm_best_interval():
    rows = [
        _row("exact", 0.1, 0.01, 0),
        _row("prior", 9.0, 1.0, 0),
        _row("mgdm[5,20]", 1.0, 0.2, 40.0),
        _row("mgdm[1,0]", 2.0, 0.3, 5.0),
        _row("lavps[1,0]", 1.5, 0.2, 6.0),
        _row("lavps[3,1]", 1.1, 0.2, 12.0),
        _row("lavps[5,3]", 0.9, 0.2, 30.0),
    ]
    t = targets(rows, in_distribution=True)
    assert t["mgdm_best"] == "mgdm[5,20]"
    assert t["lavps_matching"] == "lavps[3,1]"  # 1.1 <= 1.0 + 0.2; lavps[1,0] (1.5) is outside
    assert t["seconds_ratio"] == pytest.approx(12.0 / 40.0)
    assert t["lavps_vs_mgdm_same_budget"]["lavps[1,0]"]["sw_ratio"] == pytest.approx(1.5 / 2.0)


def test_no_lavps_within_interval_is_reported_not_hidden():
    rows = [_row("mgdm[5,20]", 1.0, 0.1, 40.0), _row("lavps[1,0]", 3.0, 0.2, 6.0)]
    assert targets(rows, in_distribution=True)["seconds_ratio"] is None


def test_baselines_reported_against_mgdm_best():
    rows = [
        _row("mgdm[5,20]", 1.0, 0.1, 40.0),
        _row("amortized-only[1,0]", 2.5, 0.2, 3.0),
        _row("supervised", 4.0, 0.5, 1.0),
    ]
    t = targets(rows, in_distribution=False)
    assert t["amortized-only_sw_over_mgdm_best"] == pytest.approx(2.5)
    assert t["supervised_sw_over_mgdm_best"] == pytest.approx(4.0)


def test_panel_specs():
    assert parse_panel("dense:1", 1.0).spec == "dense:1@1"
    assert parse_panel("mask:4@0.5", 1.0).sigma == 0.5
    for bad in ["dense", "blur:1", "dense:x", "dense:1@-1", "mask:0"]:
        with pytest.raises(ValueError, match="family"):
            parse_panel(bad, 1.0)


def test_entries_cover_the_sweep():
    e = pareto_entries((1, 3, 5), (0, 1, 3, 10, 20), (0, 1, 3), True, True)
    labels = [x.label for x in e]
    assert sum(lbl.startswith("mgdm[") for lbl in labels) == 15
    assert sum(lbl.startswith("lavps[") for lbl in labels) == 9
    assert "supervised" in labels and "dps" in labels
