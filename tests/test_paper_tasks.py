"""The paper's task catalogue (`paper:NAME`): fixed vs per-sample operators, what each name means."""

import pytest
import torch

from lavps.operators.paper_tasks import PAPER_TASKS
from lavps.operators.spec import draw_operator, parse_operator_spec

SHAPE = (3, 48, 48)  # fits the 35-pixel motion blur kernel


def _x(seed=0):
    return torch.randn(4, *SHAPE, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", [n for n in PAPER_TASKS if not n.endswith("_sto")])
def test_fixed_tasks_use_one_operator_drawn_from_seed_0(name):
    family = parse_operator_spec(f"paper:{name}", SHAPE)
    assert not family.random and family.spec == f"paper:{name}"
    inner = parse_operator_spec(PAPER_TASKS[name], SHAPE)
    expected = inner.sample_one(torch.Generator().manual_seed(0)).forward(_x())
    for seed in (1, 2):  # whatever the generator: the same operator for every sample
        assert torch.equal(family.sample(4, torch.Generator().manual_seed(seed)).forward(_x()), expected)
    assert torch.equal(draw_operator(f"paper:{name}", SHAPE).forward(_x()), expected)  # no seed needed


@pytest.mark.parametrize("name", [n for n in PAPER_TASKS if n.endswith("_sto")])
def test_sto_tasks_draw_a_new_operator_per_sample(name):
    family = parse_operator_spec(f"paper:{name}", SHAPE)
    assert family.random
    x = _x()[:1].expand(4, *SHAPE)
    y = family.sample(4, torch.Generator().manual_seed(3)).forward(x)
    assert not torch.equal(y[0], y[1])  # same image, different operators
    inner = parse_operator_spec(PAPER_TASKS[name], SHAPE)
    assert torch.equal(y, inner.sample(4, torch.Generator().manual_seed(3)).forward(x))
    with pytest.raises(ValueError, match="random and no seed"):
        draw_operator(f"paper:{name}", SHAPE)


def test_pixel_range_observes_a_fraction_in_the_range_per_sample():
    masks = parse_operator_spec("paper:pixel_0.15_0.2_sto", (2, 40, 40)).sample(16, torch.Generator().manual_seed(0))
    counts = masks.mask[:, 0].sum(dim=(1, 2))
    assert (counts >= round(0.15 * 1600)).all() and (counts <= round(0.2 * 1600)).all()
    assert counts.unique().numel() > 4 and torch.equal(masks.mask[:, 0], masks.mask[:, 1])


def test_center_2_hides_the_centred_half_side_box():
    mask = parse_operator_spec("paper:center_2", (1, 256, 256)).sample_one(torch.Generator()).mask[0]
    assert mask[64:192, 64:192].eq(0).all() and mask.sum() == 256**2 - 128**2
