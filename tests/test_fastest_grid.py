"""LAVPS's `fastest` preset (the default on the amortizer's training families) runs its own, finer grid."""

import pytest
import torch

import lavps
from lavps.amortize.defaults import default_amortizer_path
from lavps.diffusion import uniform_grid
from lavps.priors.image_unet import default_prior_path
from lavps.samplers.presets import OWN_GRID, PRESETS

shipped = pytest.mark.skipif(
    not (default_prior_path().is_file() and default_amortizer_path().is_file()), reason="shipped networks missing"
)


def test_fastest_runs_the_network_on_every_iteration_of_its_own_grid():
    fastest = PRESETS["lavps"]["fastest"]
    assert "fastest" in OWN_GRID  # not replaced by the amortizer card's grid
    assert fastest["window"] == fastest["steps"] - 3  # every iteration in the window: no zero-shot Adam step
    assert fastest["final_tau"] < int(uniform_grid(fastest["steps"])[1])  # the extra low-noise point is kept
    assert fastest["inner_steps"] == 0 and fastest["guard"] is False
    assert fastest["temperature"] > 1 and fastest["linear_variance"] is False  # widened, no shrink


@shipped
def test_default_runs_fastest_on_its_grid_and_fast_on_the_cards():
    """One denoiser forward per point of fastest's grid (N + final_tau, less T_0 and the top's start), none
    backward; `fast` stays on the card's shorter grid (fewer amortizer forwards)."""
    prior = lavps.load_prior()
    y = lavps.degrade(torch.zeros(prior.shape), "sr:2", 0.05, seed=0).y
    default = lavps.restore(y, "sr:2", 0.05, prior=prior)
    steps = PRESETS["lavps"]["fastest"]["steps"]
    assert default.settings["auto"]["ran"] == "fastest"
    assert default.cost.denoiser_forwards == steps - 1 and default.cost.denoiser_backwards == 0
    fast = lavps.restore(y, "sr:2", 0.05, prior=prior, preset="fast")
    assert 0 < fast.cost.amortizer_forwards < default.cost.amortizer_forwards
