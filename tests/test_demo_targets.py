"""The demo's paired gaps: the reference sampler, the paired interval, the bars and the seconds ratios."""

import math

import pytest

from lavps.evaluation.demo_targets import format_gaps, paired_gaps


def _rows(task, sampler, psnrs):
    return [dict(task=task, sampler=sampler, image=i, psnr=p) for i, p in enumerate(psnrs)]


def _summary(task, sampler, psnrs, seconds, in_distribution=True):
    return dict(
        task=task,
        sampler=sampler,
        psnr=sum(psnrs) / len(psnrs),
        seconds_per_image=seconds,
        in_distribution=in_distribution,
    )


def test_gap_is_paired_per_digit_against_the_best_slow_sampler():
    digits = [20.0, 30.0, 25.0, 28.0]  # widely spread digits: unpaired intervals would be wide
    table = {
        ("blur", "ddrm-20"): ([d - 1.0 for d in digits], 0.1),
        ("blur", "dps"): ([d + 0.5 for d in digits], 2.0),
        ("blur", "mgdm"): ([d + 0.2 for d in digits], 4.0),
        ("blur", "lavps-fastest"): (digits, 0.2),
        ("hole", "mgdm"): ([d + 0.4 for d in digits], 5.0),
        ("hole", "dps"): ([d + 3.0 for d in digits], 1.0),  # better, but an unseen family is held to MGDM
        ("hole", "lavps-fastest"): (digits, 0.5),
        ("alone", "lavps-fastest"): (digits, 0.5),  # no reference ran: left out
    }
    rows = [r for (t, s), (p, _) in table.items() for r in _rows(t, s, p)]
    summary = [_summary(t, s, p, sec, t == "blur") for (t, s), (p, sec) in table.items()]
    gaps = {g["task"]: g for g in paired_gaps(rows, summary)}
    assert set(gaps) == {"blur", "hole"}
    blur, hole = gaps["blur"], gaps["hole"]
    assert blur["reference"] == "dps" and blur["gap"] == pytest.approx(-0.5) and blur["gap_ci95"] == pytest.approx(0.0)
    assert blur["bar"] == -0.3 and not blur["met"] and blur["images"] == 4
    assert blur["x_ddrm20"] == pytest.approx(2.0) and blur["x_mgdm"] == pytest.approx(0.05)
    assert hole["reference"] == "mgdm" and hole["gap"] == pytest.approx(-0.4) and hole["bar"] == -0.5 and hole["met"]
    assert hole["x_ddrm20"] is None and hole["x_mgdm"] == pytest.approx(0.1)
    assert blur["gap_to_mgdm"] == pytest.approx(-0.2) and hole["gap_to_mgdm"] == pytest.approx(-0.4)
    text = format_gaps(list(gaps.values()))
    assert "-0.50" in text and "n/a" in text  # no DDRM-20 on the unseen task


def test_gap_interval_reflects_the_spread_of_paired_differences():
    rows = _rows("t", "mgdm", [10.0, 10.0, 10.0]) + _rows("t", "lavps", [9.0, 10.0, 11.0])
    summary = [_summary("t", "mgdm", [10.0] * 3, 1.0, False), _summary("t", "lavps", [9.0, 10.0, 11.0], 0.1, False)]
    (gap,) = paired_gaps(rows, summary)
    assert gap["gap"] == pytest.approx(0.0) and math.isfinite(gap["gap_ci95"]) and gap["gap_ci95"] > 2.0


def test_frontier_compares_the_default_with_the_fast_tier_and_the_best_slow_sampler():
    from lavps.evaluation.demo_frontier import fast_frontier

    digits = [20.0, 30.0, 25.0]
    passes = {"ddrm-20": (20, 0), "dps": (249, 249), "mgdm": (508, 460), "lavps": (19, 0), "lavps-fast": (33, 0)}
    offsets = {"ddrm-20": -1.0, "dps": 2.0, "mgdm": 1.0, "lavps": 0.0, "lavps-fast": 5.0}
    rows, summary = [], []
    for name, off in offsets.items():
        rows += _rows("blur", name, [d + off + 0.01 * i for i, d in enumerate(digits)])
        entry = _summary("blur", name, [d + off for d in digits], 0.1)
        summary.append({**entry, "denoiser_forwards": passes[name][0], "denoiser_backwards": passes[name][1]})
    (f,) = fast_frontier(rows, summary)
    # lavps-fast (33 forwards) is outside the tier and no rival; DPS is the best slow sampler
    assert f["rival"] == "ddrm-20" and f["slow"] == "dps" and f["top"] and f["fast"]
    assert f["gap_rival"] == pytest.approx(1.0) and f["gap_slow"] == pytest.approx(-2.0)
    assert f["gap_rival_ci95"] < 0.1  # paired: the spread of the digits cancels
    assert f["verdict"] == "ahead"  # +1.0 with an interval far narrower than 1
    summary[-2] = {**summary[-2], "denoiser_forwards": 69, "denoiser_backwards": 18}  # default ran `reference`
    (slow,) = fast_frontier(rows, summary)
    assert not slow["top"] and slow["verdict"] == "outside"


def test_frontier_reads_a_gap_inside_its_interval_as_level_not_as_a_win():
    """A default ahead by its point estimate but with a paired interval holding 0 is "top" (the issue's count)
    and "level" (what the digits can tell); one clearly behind is "behind"; the summary line counts both."""
    from lavps.evaluation.demo_frontier import SCORES, fast_frontier, format_frontier

    passes = {"ddrm-20": (20, 0), "lavps": (19, 0)}
    noisy = {"ddrm-20": [20.0, 30.0, 25.0, 22.0], "lavps": [21.0, 29.0, 26.5, 21.0]}  # +0.125, wide interval
    rows, summary = [], []
    for name, values in noisy.items():
        rows += _rows("blur", name, values)
        entry = _summary("blur", name, values, 0.1)
        summary.append({**entry, "denoiser_forwards": passes[name][0], "denoiser_backwards": passes[name][1]})
    (f,) = fast_frontier(rows, summary)
    assert f["top"] and f["gap_rival"] == pytest.approx(0.125) and f["verdict"] == "level"
    assert "level on 1" in format_frontier([f])
    assert SCORES["psnr"].verdict(-1.0, 0.5) == "behind" and SCORES["energy_score"].verdict(-1.0, 0.5) == "ahead"
    assert SCORES["psnr"].verdict(1.0, float("nan")) == "n/a"  # one digit: no interval, no reading


def test_energy_frontier_ranks_lower_as_better_and_can_disagree_with_psnr():
    """An over-confident fast rival leads one-sample PSNR but loses on the energy score: the two frontiers
    then name different winners, each paired per digit on the digits that have the score."""
    from lavps.evaluation.demo_frontier import all_frontiers, format_frontier

    psnrs = {"ddrm-20": [31.0, 30.0, 29.0], "lavps": [29.0, 28.0, 27.5], "dps": [30.0, 29.5, 28.0]}
    energies = {"ddrm-20": [0.050, 0.047], "lavps": [0.034, 0.036], "dps": [0.033, 0.033]}  # 2 scored digits
    passes = {"ddrm-20": (20, 0), "lavps": (19, 0), "dps": (249, 249)}
    rows, summary = [], []
    for name in psnrs:
        for i, p in enumerate(psnrs[name]):
            es = energies[name][i] if i < len(energies[name]) else None
            rows.append(dict(task="blur", sampler=name, image=i, psnr=p, energy_score=es))
        entry = _summary("blur", name, psnrs[name], 0.1)
        summary.append(
            {**entry, "energy_score": sum(energies[name]) / 2, "denoiser_forwards": passes[name][0],
             "denoiser_backwards": passes[name][1]}
        )  # fmt: skip
    frontiers = all_frontiers(rows, summary)
    (by_psnr,), (by_es,) = frontiers["psnr"], frontiers["energy_score"]
    assert by_psnr["rival"] == "ddrm-20" and not by_psnr["top"] and by_psnr["gap_rival"] == pytest.approx(-5.5 / 3)
    assert by_es["rival"] == "ddrm-20" and by_es["top"] and by_es["slow"] == "dps"
    assert by_es["gap_rival"] == pytest.approx(-0.0135) and by_es["gap_slow"] == pytest.approx(0.002)
    assert by_es["value"] == pytest.approx(0.035)
    assert "by ES, the default is the top point of the fast tier on 1 of 1" in format_frontier(
        frontiers["energy_score"]
    )
    # no row with an energy score (no --mean-images): no energy frontier
    plain = [{k: v for k, v in r.items() if k != "energy_score"} for r in rows]
    assert all_frontiers(plain, [{**s, "energy_score": None} for s in summary])["energy_score"] == []
