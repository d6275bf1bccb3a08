"""An operator family inside a trained one (a centred box of a side the box family draws) counts as trained:
`ImageOperatorFamily.covers`, `trained_family_for`, and what `auto` and the card's fit make of it."""

import pytest
import torch

from lavps.amortize.network import calibrated_draw, calibrated_temperature, trained_family_for
from lavps.operators.image_masks import box_mask, box_side_range
from lavps.operators.spec import parse_operator_spec

SHAPE = (1, 32, 32)


def _family(spec, shape=SHAPE):
    return parse_operator_spec(spec, shape)


@pytest.mark.parametrize(
    "outer, inner, covered",
    [
        ("box:0.3:0.5", "center:0.35", True),  # an 11-pixel centred box; the family draws 10..16 pixels
        ("box:0.3:0.5", "center:0.3", True),
        ("box:0.3:0.5", "center:0.5", True),
        ("box:0.3:0.5", "center:0.28", False),  # 9 pixels: smaller than any box the family draws
        ("box:0.3:0.5", "center:0.52", False),  # 17 pixels
        ("box:0.3:0.5", "box:0.35:0.45", True),
        ("box:0.3:0.5", "box:0.2:0.5", False),
        ("box:0.3:0.5", "box:0.3:0.5", True),
        ("box:0.3:0.5", "pixels:0.3", False),
        ("pixels_range:0.1:0.3", "pixels:0.2", True),
        ("pixels_range:0.1:0.3", "pixels:0.05", False),
        ("pixels_range:0.1:0.3", "pixels_range:0.15:0.25", True),
        ("sr:2", "sr:2", True),
        ("sr:2", "sr:4", False),
        ("gaussian_blur:9:2.0", "gaussian_blur:13:3.0", False),
        ("center:0.35", "box:0.3:0.5", False),  # the other way round: a box family is not one centred box
    ],
)
def test_a_family_covers_exactly_the_families_whose_draws_it_can_make(outer, inner, covered):
    assert _family(outer).covers(_family(inner)) is covered


def test_a_side_at_half_a_pixel_past_the_range_is_not_covered():
    shape = (1, 30, 30)  # 0.45 x 30 = 13.5: box:0.3:0.45 draws sides 9..13, center:0.45 is a 14-pixel box
    assert not _family("box:0.3:0.45", shape).covers(_family("center:0.45", shape))
    assert _family("box:0.3:0.45", shape).covers(_family("center:0.43", shape))  # 12.9: a 13-pixel box


def test_a_family_covers_nothing_on_another_image_shape():
    assert not _family("box:0.3:0.5").covers(_family("center:0.35", (1, 64, 64)))
    assert not _family("sr:2").covers(_family("sr:2", (3, 32, 32)))


@pytest.mark.parametrize(
    "size, lo, hi",
    [(32, 0.3, 0.5), (28, 0.25, 0.6), (7, 0.1, 0.9), (30, 0.3, 0.45), (30, 0.35, 0.5), (20, 0.125, 0.375)],
)  # the last three end at exactly half a pixel: 13.5, 10.5; 2.5 and 7.5
def test_the_side_range_is_what_box_mask_draws(size, lo, hi):
    masks = box_mask((1, size, size), lo, hi, torch.Generator().manual_seed(0), 3000).mask  # (B, 1, H, W)
    hidden = masks[:, 0] == 0
    heights = hidden.any(dim=2).sum(dim=1)  # rows holding a hidden pixel
    widths = hidden.any(dim=1).sum(dim=1)
    low, high = box_side_range(size, lo, hi)
    expected = set(range(low, high + 1))
    assert set(heights.tolist()) == expected and set(widths.tolist()) == expected


@pytest.fixture(scope="module")
def shipped_amortizer():
    from lavps.amortize.checkpoint import load_amortizer
    from lavps.amortize.defaults import default_amortizer_path
    from lavps.api import load_prior

    prior = load_prior()
    return prior, load_amortizer(default_amortizer_path(prior), prior=prior)


def test_the_trained_family_of_an_operator_family(shipped_amortizer):
    _, net = shipped_amortizer
    assert trained_family_for(net, "sr:4") == "sr:4"
    assert trained_family_for(net, "center:0.35") == "box:0.3:0.5"
    assert trained_family_for(net, "center:0.35", SHAPE) == "box:0.3:0.5"
    assert trained_family_for(net, "center:0.6") is None
    assert trained_family_for(net, "gaussian_blur:13:3.0") is None
    assert trained_family_for(net, "no_such_kind:3") is None
    assert trained_family_for(net, None) is None
    assert trained_family_for(object(), "sr:4") is None  # no card


def test_a_covered_family_takes_the_covering_familys_fit(shipped_amortizer):
    _, net = shipped_amortizer
    assert calibrated_temperature(net, "center:0.35") == calibrated_temperature(net, "box:0.3:0.5")
    assert calibrated_draw(net, "center:0.35") == calibrated_draw(net, "box:0.3:0.5")
    assert calibrated_temperature(net, "center:0.6") is None


def test_auto_runs_the_trained_budget_on_a_covered_family_and_records_why(shipped_amortizer):
    from lavps.workflows.settings import resolve_settings

    prior, net = shipped_amortizer
    inside = resolve_settings("lavps", None, {}, prior, "center:0.35", amortizer=net)
    box = resolve_settings("lavps", None, {}, prior, "box:0.3:0.5", amortizer=net)
    outside = resolve_settings("lavps", None, {}, prior, "center:0.6", amortizer=net)
    assert inside.record["auto"]["ran"] == box.record["auto"]["ran"] == "fastest"
    assert inside.record["auto"]["inside_trained_family"] == "box:0.3:0.5"
    assert "inside_trained_family" not in box.record["auto"]
    assert (inside.config.temperature, inside.config.draw) == (box.config.temperature, box.config.draw)
    assert outside.record["auto"]["ran"] == "reference" and not outside.record["auto"]["trained_family"]
