"""Weighted particles around MGDM: closer to the exact mixture posterior than one path, independent of
batch-mates, clear errors."""

import pytest
import torch

from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers.particles import Particles
from lavps.samplers.registry import build_sampler


def _blind_mgdm(prior):
    """MGDM with no Adam step: its proposal ignores y, so one path is about a prior draw."""
    return build_sampler("mgdm", prior, {"steps": 20, "adam_out": 0, "adam_in": 0, "window": 5})


def test_particles_move_the_mode_masses_to_the_exact_posterior_weights():
    gp = make_gmm_problem(2, 1, seed=3)
    exact = gp.posterior.weights
    errors = {}
    for k in (1, 8):
        out = Particles(_blind_mgdm(gp.prior), k).sample(gp.problem, 300, seed=3).samples
        errors[k] = float((gp.prior.responsibilities(out).mean(0) - exact).abs().max())
    assert errors[1] > 0.2  # one path: the proposal alone, far from the posterior's modes
    assert errors[8] < 0.12 and errors[8] < errors[1] / 3


def test_an_output_does_not_depend_on_its_batch_mates():
    gp = make_gmm_problem(2, 1, seed=0)
    sampler = Particles(_blind_mgdm(gp.prior), 4)
    both = sampler.sample(gp.problem, 2, seed=[11, 12]).samples
    alone = sampler.sample(gp.problem, 1, seed=[12]).samples
    assert torch.allclose(both[1], alone[0], atol=1e-5)
    assert not torch.allclose(both[0], both[1])


def test_bad_particle_settings_are_named():
    gp = make_gmm_problem(2, 1, seed=0)
    with pytest.raises(ValueError, match="particles must be >= 1"):
        Particles(_blind_mgdm(gp.prior), 0)
    with pytest.raises(TypeError, match="MGDM or LAVPS"):
        Particles(build_sampler("dps", gp.prior, {}), 2)


def test_particles_is_a_setting_of_mgdm_and_lavps():
    gp = make_gmm_problem(2, 1, seed=0)
    settings = {"steps": 20, "adam_out": 0, "adam_in": 0, "window": 5}
    sampler = build_sampler("mgdm", gp.prior, {**settings, "particles": 4})
    assert isinstance(sampler, Particles) and sampler.count == 4
    assert not isinstance(build_sampler("mgdm", gp.prior, settings), Particles)
    with pytest.raises(ValueError, match="particles"):
        build_sampler("mgdm", gp.prior, {**settings, "particles": -1})
