"""The `lavps bench gmm` command end to end on a tiny configuration, and its error handling."""

import json
import subprocess
import sys

import pytest

from lavps.cli.main import main


def _run(args):
    return subprocess.run([sys.executable, "-m", "lavps.cli", *args], capture_output=True, text=True, timeout=300)


def test_bench_gmm_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "gmm.json"
    main(
        [
            "bench",
            "gmm",
            "--dim",
            "4",
            "--obs-dim",
            "1",
            "2",
            "--problems",
            "1",
            "--samples",
            "200",
            "--steps",
            "8",
            "--dps-steps",
            "20",
            "--adam-out",
            "1",
            "--adam-in",
            "2",
            "--window",
            "2",
            "--samplers",
            "ddim",
            "dps",
            "mgdm",
            "--workers",
            "1",
            "--quiet",
            "--json",
            str(out),
        ]
    )
    table = capsys.readouterr().out
    assert "exact" in table and "prior" in table and "mgdm" in table

    def strict(name):  # NaN / Infinity are not JSON: a one-problem interval must be null
        raise ValueError(f"non-standard JSON constant {name}")

    payload = json.loads(out.read_text(), parse_constant=strict)
    assert payload["config"]["dims"] == [4] and payload["config"]["obs_dims"] == [1, 2]
    rows = payload["results"]
    assert {(r["obs_dim"], r["sampler"]) for r in rows} == {
        (dy, s) for dy in (1, 2) for s in ("exact", "prior", "posterior mean", "ddim", "dps", "mgdm")
    }
    for r in rows:
        assert set(r) >= {
            "dim",
            "obs_dim",
            "sampler",
            "sw_mean",
            "sw_ci95",
            "seconds",
            "denoiser_forwards",
            "denoiser_backwards",
            "psnr_gain_db",
            "psnr_gain_ci95",
        }
        assert r["n_seeds"] == 1 and r["sw_ci95"] is None
    by = {(r["obs_dim"], r["sampler"]): r for r in rows}
    assert by[(1, "exact")]["sw_mean"] < by[(1, "prior")]["sw_mean"]
    for dy in (1, 2):
        # distortion against exact posterior samples: another exact set is about level with them, the
        # posterior mean (MMSE) is nearer x* than posterior samples, prior samples are much farther
        assert abs(by[(dy, "exact")]["psnr_gain_db"]) < 1.0
        assert by[(dy, "posterior mean")]["psnr_gain_db"] > 0.5
        assert by[(dy, "posterior mean")]["sw_mean"] is None
        assert by[(dy, "prior")]["psnr_gain_db"] < by[(dy, "exact")]["psnr_gain_db"]
    assert "dPSNR" in table
    assert by[(1, "dps")]["denoiser_forwards"] == 19


@pytest.mark.parametrize(
    "args,needle",
    [
        (["bench", "gmm", "--samplers", "nope"], "unknown sampler"),
        (["bench", "gmm", "--sigma", "0"], "--sigma"),
        (["bench", "gmm", "--dim", "x"], "not a valid integer"),
    ],
)
def test_bench_errors_are_one_line(args, needle):
    proc = _run(args)
    assert proc.returncode != 0
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_two_workers_and_one_problem_exit_cleanly():
    # One problem: no interval ("n/a", not nan). Two spawned workers: the pool is closed and joined, so
    # resource_tracker has no leaked semaphore to warn about at exit.
    args = ["bench", "gmm", "--dim", "4", "--obs-dim", "1", "2", "--problems", "1", "--samples", "50", "--steps", "10"]
    args += ["--samplers", "dps", "--workers", "2", "--quiet"]
    proc = _run(args)
    assert proc.returncode == 0, proc.stderr
    assert "leaked" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[:1] == ["4"]]
    names = ("exact", "prior", "posterior", "dps")  # "posterior mean" splits in two
    assert [(r[1], r[2]) for r in rows] == [(dy, s) for dy in ("1", "2") for s in names]
    assert all(r[4] == "n/a" and r[6] == "n/a" for r in rows if r[2] != "posterior")
    assert "nan" not in proc.stdout


def test_mean_squared_distance_is_the_per_coordinate_squared_error():
    import torch

    from lavps.evaluation.gmm_bench import mean_squared_distance

    x_star = torch.tensor([[1.0, -2.0, 0.5]])
    samples = x_star + torch.tensor([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0]])  # squared errors 3 and 9 over d = 3
    assert mean_squared_distance(samples, x_star) == pytest.approx((3 + 9) / 2 / 3)
