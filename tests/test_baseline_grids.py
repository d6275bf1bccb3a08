"""The sigma-spaced grid of DDRM / DiffPIR, and DiffPIR's clamp of image estimates to [-1, 1]."""

import math

import pytest
import torch

from lavps.diffusion import Schedule, sigma_grid
from lavps.operators import GaussianNoise, InverseProblem
from lavps.operators.basic import Identity
from lavps.samplers import DiffPIR


@pytest.mark.parametrize("points", [3, 21, 101, 1000])
@pytest.mark.parametrize("rho", [1.0, 7.0, math.inf])
def test_sigma_grid_is_strictly_increasing_from_0_to_the_last_step(points, rho):
    s = Schedule.linear()
    g = sigma_grid(points, s, rho)
    assert g.shape == (points,) and int(g[0]) == 0 and int(g[-1]) == 999
    assert bool((g[1:] > g[:-1]).all())


def test_sigma_grid_is_evenly_spaced_in_sigma_where_steps_allow():
    s = Schedule.linear()
    g = sigma_grid(21, s)
    sig = s.sigma(g)
    gaps = sig[2:] - sig[1:-1]  # above T_1 the steps are fine enough to hit the targets closely
    step = (float(sig[-1]) - float(s.sigma(1))) / 19
    assert torch.allclose(gaps, torch.full_like(gaps, step), rtol=0.1)
    karras = s.sigma(sigma_grid(21, s, 7.0)[1:]) ** (1 / 7)  # rho = 7: even in sigma^(1/7)
    even = (karras[-1] - karras[0]) / 19 * torch.ones(19, dtype=torch.float64)
    assert torch.allclose(karras[1:] - karras[:-1], even, rtol=0.1)
    logs = s.sigma(sigma_grid(21, s, math.inf)[4:]).log()  # rho = inf: even in log sigma (above the first steps)
    even_log = (logs[-1] - logs[0]) / 16 * torch.ones(16, dtype=torch.float64)
    assert torch.allclose(logs[1:] - logs[:-1], even_log, rtol=0.1)
    with pytest.raises(ValueError, match="at least 3"):
        sigma_grid(2, s)


class _Overshooting:
    """An image prior whose denoiser overshoots the data range."""

    schedule = Schedule.linear()
    shape = (1, 4, 4)

    def denoise(self, x_t, t):
        return 3.0 * x_t + 2.0


def test_diffpir_clamps_image_estimates_to_the_data_range():
    prior = _Overshooting()
    op = Identity((1, 4, 4))
    problem = InverseProblem(torch.zeros(1, 1, 4, 4), op, GaussianNoise(0.05))
    out = DiffPIR(prior, steps=5, zeta=1.0).sample(problem, 3, seed=0).samples
    assert float(out.abs().max()) <= 1.0 and float(out.max()) == 1.0


def test_ddrm_and_diffpir_take_the_log_sigma_grid_from_their_config():
    from lavps.diffusion import baseline_grid
    from lavps.samplers.registry import build_sampler

    prior = _Overshooting()
    for name in ("ddrm", "diffpir"):
        s = build_sampler(name, prior, {"steps": 20, "grid": "log_sigma"})
        assert torch.equal(s.grid, baseline_grid("log_sigma", 21, prior.schedule))
        uniform = build_sampler(name, prior, {"steps": 20}).grid
        assert torch.equal(uniform, baseline_grid("uniform_t", 21, prior.schedule))
        with pytest.raises(ValueError, match="grid"):
            build_sampler(name, prior, {"grid": "cosine"})


def test_ddrm_fast_preset_runs_the_log_sigma_grid():
    from lavps.samplers.presets import preset_options

    assert preset_options("ddrm", "fast")[1]["grid"] == "log_sigma"
