"""Run estimates (lavps.samplers.estimate) and memory refusals (lavps.samplers.budget): the counted passes are
exactly those the real run makes, the stand-in network never leaks into a real run, a long run is announced
on stderr before it starts (not with quiet), and a run that cannot fit is refused before any work."""

from __future__ import annotations

import pytest
import torch

from lavps import api
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers.budget import check_memory
from lavps.samplers.cost import STAND_IN
from lavps.samplers.estimate import MIN_PASSES, estimate_run
from lavps.samplers.registry import build_sampler

CASES = [
    ("ddrm", {"steps": 30}),
    ("dps", {"steps": 40}),
    ("mgdm", {"steps": 12, "window": 4, "adam_in": 3}),
    ("diffpir", {"steps": 25}),
]


@pytest.mark.parametrize("name,options", CASES, ids=[c[0] for c in CASES])
def test_counted_passes_equal_the_real_runs(name, options):
    gp = make_gmm_problem(dim=8, obs_dim=2, seed=0)
    sampler = build_sampler(name, gp.prior, options)
    estimate = estimate_run(sampler, gp.problem, samples=50, batch_size=5)  # 10 batches: > MIN_PASSES passes
    real = sampler.sample(gp.problem, 3, seed=[0, 1, 2]).cost
    assert estimate is not None and not STAND_IN.get()
    counted = estimate.cost
    assert (counted.denoiser_forwards, counted.denoiser_backwards, counted.amortizer_forwards) == (
        real.denoiser_forwards,
        real.denoiser_backwards,
        real.amortizer_forwards,
    )
    assert estimate.batches == 10 and estimate.seconds > 0
    assert f"{real.denoiser_forwards} denoiser forwards" in estimate.line(50)


def test_the_stand_in_never_leaks_into_a_real_run():
    gp = make_gmm_problem(dim=8, obs_dim=2, seed=0)
    sampler = build_sampler("ddrm", gp.prior, {"steps": 10})
    before = sampler.sample(gp.problem, 2, seed=[0, 1]).samples
    estimate_run(sampler, gp.problem, samples=100, batch_size=7)
    assert torch.equal(sampler.sample(gp.problem, 2, seed=[0, 1]).samples, before)


def test_a_short_run_is_not_timed_and_batches_are_counted():
    gp = make_gmm_problem(dim=8, obs_dim=2, seed=0)
    sampler = build_sampler("ddrm", gp.prior, {"steps": 10})  # 9 forwards per path
    assert estimate_run(sampler, gp.problem, samples=2, batch_size=None) is None  # 9 < MIN_PASSES
    many = estimate_run(sampler, gp.problem, samples=10**6, batch_size=1000)
    assert many.batches == 1000 and 9 * 1000 >= MIN_PASSES


@pytest.fixture
def every_run_is_long(monkeypatch):
    import lavps.samplers.estimate as estimate

    monkeypatch.setattr(estimate, "LONG_SECONDS", 0.0)  # every run counts as long here, and is timed
    monkeypatch.setattr(estimate, "MIN_PASSES", 0)


def test_a_long_run_is_announced_before_it_starts_and_quiet_is_silent(capsys, every_run_is_long):
    obs = torch.zeros(1, 16, 16)
    for progress in (True, False):
        api.restore(obs, "sr:2", 0.1, sampler="ddrm", preset="tiny", samples=2, run=api.RunOptions(progress=progress))
        err = capsys.readouterr().err
        assert ("expected: " in err and "denoiser forwards" in err) == progress, err


def test_a_long_folder_restore_is_announced(tmp_path, every_run_is_long, _cli):
    from lavps.imaging.io import write_png

    (tmp_path / "in").mkdir()
    for i in range(3):
        write_png(torch.zeros(1, 32, 32), tmp_path / "in" / f"{i}.png")
    args = ["--simulate", "sr:2", "--sigma", "0.1", "--sampler", "ddrm", "--preset", "tiny"]
    loud = _cli("restore", tmp_path / "in", *args, "--out", tmp_path / "a")
    assert loud.returncode == 0 and "3 image(s) in 1 batch(es)" in loud.stderr, loud.stderr
    quiet = _cli("restore", tmp_path / "in", *args, "--quiet", "--out", tmp_path / "b")
    assert quiet.returncode == 0 and "expected: " not in quiet.stderr


def test_memory_is_refused_before_any_work_with_the_batch_size_that_fits(monkeypatch):
    import lavps.samplers.budget as budget

    monkeypatch.setattr(budget, "available_bytes", lambda device="cpu": 2**30)  # 1 GiB free
    with pytest.raises(ValueError, match=r"--samples 1000000000000 cannot fit"):
        check_memory("dps", (1, 32, 32), 10**12, None)
    with pytest.raises(ValueError, match=r"use --batch-size (\d+)") as refused:
        check_memory("dps", (1, 32, 32), 1000, None)
    fits = int(refused.value.args[0].split("--batch-size ")[1].split()[0])
    check_memory("dps", (1, 32, 32), 1000, fits)  # the suggested batch size passes
    with pytest.raises(ValueError):
        check_memory("dps", (1, 32, 32), 1000, fits + 200)


def test_particles_multiply_the_memory_of_a_batch(monkeypatch):
    import lavps.samplers.budget as budget

    monkeypatch.setattr(budget, "available_bytes", lambda device="cpu": 2**30)  # 1 GiB free
    with pytest.raises(ValueError, match=r"use --batch-size (\d+)") as plain:
        check_memory("lavps", (1, 32, 32), 1000, None)
    with pytest.raises(ValueError, match=r"1000 outputs of 16 particles at once .* use --batch-size (\d+)") as swarm:
        check_memory("lavps", (1, 32, 32), 1000, None, particles=16)
    alone, with_particles = (int(e.value.args[0].split("--batch-size ")[1].split()[0]) for e in (plain, swarm))
    assert with_particles == alone // 16  # each output carries 16 paths
    check_memory("lavps", (1, 32, 32), 1000, with_particles, particles=16)  # the suggested size passes
    with pytest.raises(ValueError, match="use fewer --particles"):  # not even one output fits
        check_memory("lavps", (1, 32, 32), 10, 1, particles=10**6)


def test_restore_refuses_particles_that_cannot_fit_before_any_work(monkeypatch):
    import lavps
    import lavps.samplers.budget as budget

    monkeypatch.setattr(budget, "available_bytes", lambda device="cpu": 2**28)  # 256 MiB free
    y = torch.zeros(1, 1, 16, 16)
    lavps.restore(y, "sr:2", 0.1, sampler="lavps", preset="tiny", samples=1, settings={"particles": 2})  # fits
    with pytest.raises(ValueError, match="particles at once"):
        lavps.restore(y, "sr:2", 0.1, sampler="lavps", preset="tiny", samples=64, settings={"particles": 64})
