"""`lavps bench speed --quick`: the table, the JSON, and pass counts that follow from the budgets."""

import json

import torch

from lavps.evaluation.speed_bench import QUICK, SpeedSettings
from lavps.priors.adm import adm_unet_config
from lavps.priors.image_unet import build_unet


def test_default_prior_is_the_adm_ffhq_preset():
    settings = SpeedSettings()
    assert settings.shape == (3, 256, 256)
    cfg = adm_unet_config(settings.adm_flags)
    assert cfg["block_out_channels"] == [128, 128, 256, 256, 512, 512] and cfg["out_channels"] == 6
    with torch.device("meta"):  # no memory, no time: only the parameter count
        net = build_unet(cfg)
    assert 90e6 < sum(p.numel() for p in net.parameters()) < 97e6  # guided-diffusion FFHQ-256: ~93.6 M
    assert QUICK.shape == (3, 16, 16)


def test_quick_bench_table_json_and_pass_counts(tmp_path, _cli):
    out = tmp_path / "speed.json"
    args = [
        "bench",
        "speed",
        "--quick",
        "--samplers",
        "dps",
        "mgdm",
        "lavps",
        "--batch-size",
        "2",
        "--precision",
        "bf16",
    ]
    r = _cli(*args, "--device", "cpu", "--json", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "x DDIM" in r.stdout and "device: cpu" in r.stdout
    rows = json.loads(out.read_text())["rows"]
    by = {(row["sampler"], row["grid"]): row for row in rows}
    assert set(by) == {("ddim", 10), ("dps", 10), ("ddim", 8), ("mgdm", 8), ("lavps", 8)}
    assert all(row["batch"] == 2 and row["precision"] == "bf16" for row in rows)
    b = QUICK.budgets
    steps = b["dps"]["steps"] - 1
    assert (by["dps", 10]["denoiser_forwards"], by["dps", 10]["denoiser_backwards"]) == (steps, steps)
    iters, win = b["mgdm"]["steps"] - 3, b["mgdm"]["window"]  # 5 iterations, the last 2 in the window
    out_iters = iters - win
    assert out_iters > 0 and win > 0
    mgdm = 1 + out_iters * (b["mgdm"]["adam_out"] + 1) + win * (b["mgdm"]["adam_in"] + 1)
    assert by["mgdm", 8]["denoiser_forwards"] == mgdm
    assert by["mgdm", 8]["denoiser_backwards"] == out_iters * b["mgdm"]["adam_out"] + win * b["mgdm"]["adam_in"]
    inner = b["lavps"]["inner_steps"]
    lavps = 1 + out_iters * (b["lavps"]["adam_out"] + 1) + win * (2 + inner + 1)  # guard: two forwards
    assert by["lavps", 8]["denoiser_forwards"] == lavps and by["lavps", 8]["amortizer_forwards"] == win
    for row in rows:
        ddim = by["ddim", row["grid"]]
        assert abs(row["ratio_to_ddim"] - row["seconds"] / ddim["seconds"]) < 1e-9
        assert row["peak_memory_mb"] is None  # CPU: no GPU memory to report


def test_bad_options_are_one_line(_cli):
    r = _cli("bench", "speed", "--quick", "--samplers", "ddrm")
    assert r.returncode != 0 and "ddrm" in r.stderr
    r = _cli("bench", "speed", "--quick", "--precision", "fp8")
    assert r.returncode != 0 and "fp8" in r.stderr and "Traceback" not in r.stderr


def test_bench_speed_times_a_given_prior(_cli):
    r = _cli(
        "bench",
        "speed",
        "--quick",
        "--prior",
        "mnist",
        "--samplers",
        "mgdm",
        "--batch-size",
        "1",
        "--precision",
        "fp32",
    )
    assert r.returncode == 0, r.stderr
    assert "prior: 1.1 M parameters" in r.stdout and "mgdm" in r.stdout
    r = _cli("bench", "speed", "--quick", "--prior", "gmm:8", "--samplers", "mgdm")
    assert r.returncode != 0 and "image priors with a network" in r.stderr
