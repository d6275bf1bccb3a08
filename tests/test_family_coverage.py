"""An operator family inside a trained one (a centred box of a side the box family draws, a mask file that hides
one such box) counts as trained: `ImageOperatorFamily.covers`, `trained_family_for`, and what `auto` and the
card's fit make of it."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

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
        ("box:0.3:0.5", "rect:0:21:10:11", True),  # a given box of sides the family draws, anywhere it fits
        ("box:0.3:0.5", "rect:3:3:9:11", False),
        ("box:0.3:0.5", "rect:3:3:11:17", False),
        ("rect:3:3:11:11", "rect:3:3:11:11", True),
        ("rect:3:3:11:11", "rect:4:3:11:11", False),
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


# ---- a mask file that hides one box is that box (`rect`), and `auto` decides on it as on a spec ---------------
def _mask_file(path, hidden, shape=(32, 32), observed=255):
    """A PNG (uint8) or .npy mask, `observed` where seen, 0 in each (top, left, height, width) box of `hidden`."""
    m = np.full(shape, observed, np.uint8 if path.suffix == ".png" else np.float64)
    for top, left, height, width in hidden:
        m[..., top : top + height, left : left + width] = 0
    if path.suffix == ".png":
        Image.fromarray(m).save(path)
    else:
        np.save(path, m)
    return path


@pytest.mark.parametrize(
    "hidden, family, inside",
    [
        ([(5, 20, 11, 11)], "rect:5:20:11:11", "box:0.3:0.5"),  # sides 11: the family draws 10..16, anywhere
        ([(0, 0, 10, 16)], "rect:0:0:10:16", "box:0.3:0.5"),  # both ends of the range, at the corner
        ([(16, 16, 16, 10)], "rect:16:16:16:10", "box:0.3:0.5"),  # touching the bottom-right edges
        ([(10, 10, 11, 11)], "rect:10:10:11:11", "box:0.3:0.5"),  # what center:0.35 hides
        ([(5, 5, 9, 12)], "rect:5:5:9:12", None),  # 9 rows: smaller than any box the family draws
        ([(5, 5, 12, 17)], "rect:5:5:12:17", None),  # 17 columns: larger
        ([(2, 2, 11, 11), (18, 18, 11, 11)], None, None),  # two holes
        ([(5, 5, 11, 11), (5, 5, 15, 3)], None, None),  # an L: not a rectangle
        ([(5, 0, 11, 32)], "rect:5:0:11:32", None),  # a full-width band: box_mask leaves a column observed
    ],
)
def test_a_mask_file_hiding_one_box_is_that_box(tmp_path, shipped_amortizer, hidden, family, inside):
    from lavps.operators.user_files import mask_operator_from_file

    _, net = shipped_amortizer
    for name in ("m.png", "m.npy"):
        op = mask_operator_from_file(_mask_file(tmp_path / name, hidden), SHAPE)
        assert op.family == family
        assert trained_family_for(net, op.family) == inside
        if family is not None:  # the spec's operator is the file's, exactly
            assert torch.equal(parse_operator_spec(family, SHAPE).sample_one(torch.Generator()).mask, op.mask)


def test_a_soft_per_channel_or_empty_mask_has_no_family(tmp_path):
    from lavps.operators.user_files import mask_operator_from_file

    soft = np.full((32, 32), 1.0)
    soft[5:16, 5:16], soft[0, :] = 0.0, 0.5  # one box hidden, but two observed levels: a soft mask
    np.save(tmp_path / "soft.npy", soft)
    assert mask_operator_from_file(tmp_path / "soft.npy", SHAPE).family is None
    np.save(tmp_path / "binary.npy", (soft != 0).astype(np.float64))  # the same pattern, one observed level
    assert mask_operator_from_file(tmp_path / "binary.npy", SHAPE).family == "rect:5:5:11:11"
    per_channel = np.ones((3, 32, 32))
    per_channel[0, 5:16, 5:16] = 0  # a box in one channel of three: box_mask hides every channel
    np.save(tmp_path / "c.npy", per_channel)
    assert mask_operator_from_file(tmp_path / "c.npy", (3, 32, 32)).family is None
    per_channel[:, 5:16, 5:16] = 0
    np.save(tmp_path / "c.npy", per_channel)
    assert mask_operator_from_file(tmp_path / "c.npy", (3, 32, 32)).family == "rect:5:5:11:11"
    np.save(tmp_path / "none.npy", np.ones((32, 32)))  # nothing hidden: no box
    assert mask_operator_from_file(tmp_path / "none.npy", SHAPE).family is None
    only = np.zeros((32, 32))
    only[3, 3] = 1  # one pixel observed: the box around the hidden ones is the whole image
    np.save(tmp_path / "one.npy", only)
    assert mask_operator_from_file(tmp_path / "one.npy", SHAPE).family is None
    with pytest.raises(ValueError, match="expected"):  # a mask of another size is refused, as before
        mask_operator_from_file(_mask_file(tmp_path / "m.png", [(5, 5, 11, 11)], (28, 28)), SHAPE)


def test_every_box_the_family_draws_read_back_from_a_file_is_covered(tmp_path, shipped_amortizer):
    from lavps.operators.user_files import mask_operator_from_file

    _, net = shipped_amortizer
    masks = box_mask(SHAPE, 0.3, 0.5, torch.Generator().manual_seed(1), 40).mask  # (40, 1, 32, 32)
    for i, m in enumerate(masks):
        np.save(tmp_path / f"{i}.npy", m[0].numpy())
        op = mask_operator_from_file(tmp_path / f"{i}.npy", SHAPE)
        assert op.family.startswith("rect:") and trained_family_for(net, op.family) == "box:0.3:0.5"


def test_auto_runs_fastest_on_a_one_box_mask_file_and_reference_on_two(tmp_path, _cli, shipped_amortizer):
    from lavps.imaging.io import write_png
    from lavps.workflows.settings import resolve_settings

    prior, net = shipped_amortizer
    write_png(torch.rand(1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1, tmp_path / "y.png")
    one = _mask_file(tmp_path / "one.png", [(5, 20, 11, 11)])
    done = _cli("restore", tmp_path / "y.png", "--mask", one, "--sigma", "0.05", "--quiet", "--out", tmp_path / "r")
    assert done.returncode == 0, done.stderr
    said = "preset auto ran fastest: operator family rect:5:20:11:11 is inside the amortizer's training family"
    assert f"{said} box:0.3:0.5" in done.stdout
    record = json.loads((tmp_path / "r" / "restore.json").read_text())
    assert record["auto"]["ran"] == "fastest" and record["auto"]["inside_trained_family"] == "box:0.3:0.5"
    box = resolve_settings("lavps", None, {}, prior, "box:0.3:0.5", amortizer=net).config  # the family's card fit
    assert (record["settings"]["temperature"], record["settings"]["draw"]) == (box.temperature, box.draw)
    two = _mask_file(tmp_path / "two.png", [(2, 2, 11, 11), (18, 18, 11, 11)])
    done = _cli("restore", tmp_path / "y.png", "--mask", two, "--sigma", "0.05", "--quiet", "--out", tmp_path / "r2")
    assert done.returncode == 0, done.stderr
    assert "preset auto ran reference: operator family unknown is not a training family" in done.stdout
    assert json.loads((tmp_path / "r2" / "restore.json").read_text())["auto"]["ran"] == "reference"


def test_an_untagged_operator_file_holding_one_box_is_that_box_and_a_tagged_one_keeps_its_tag(tmp_path):
    """`--operator-file`: a saved mask with no family (written through the API, or before the tag existed) is
    examined for one hidden box as a `--mask` file is; a tagged file keeps its family; two holes stay unknown."""
    from lavps.operators.basic import Mask
    from lavps.operators.files import load_operator, save_operator

    one = torch.ones(SHAPE)
    one[:, 10:21, 10:21] = 0
    two = one.clone()
    two[:, 0:3, 0:3] = 0
    for mask, tag, expected in [
        (one, None, "rect:10:10:11:11"),
        (two, None, None),
        (one, "center:0.35", "center:0.35"),
    ]:
        op = Mask(mask, SHAPE)
        op.family = tag
        save_operator(op, tmp_path / "op.safetensors")
        assert load_operator(tmp_path / "op.safetensors").family == expected
    per_sample = Mask(torch.stack([one, two]), SHAPE)  # a per-sample mask is no single box
    save_operator(per_sample, tmp_path / "batch.safetensors")
    assert load_operator(tmp_path / "batch.safetensors").family is None
