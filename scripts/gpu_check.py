"""One prepared device check for a session that is lent a GPU: the CUDA paths the CPU cannot exercise, in one
call that fits a few minutes, each check independent (one failure does not stop the others).

    python scripts/gpu_check.py --out "$OUT"                  # on the GPU machine (--device cuda)
    python scripts/gpu_check.py --device cpu --out /tmp/gc    # the same checks on the CPU: checks the script

Checks (docs/devices.md; the CPU-only audit that added the fixes is summarised there):
- folder restore with --simulate on the device, which scores the samples against the clean images;
- phase retrieval with `auto` (the `multimodal` preset redraws by its data fit) on the device;
- `lavps demo --quick` on the device, prior-draw stage included;
- `lavps.degrade` of a device tensor equals the CPU's; LAVPS with a user measurement (`as_measurement`) on the
  device; a latent prior (`ldm:mnist`) restore on the device;
- the same seed twice on the device (LAVPS default, DPS): max |difference| (CUDA does not promise 0), and the
  device against the CPU;
- `lavps bench speed` (the FFHQ HDiT at its size, random weights, batch 1, fp32 and bf16) in what is left of
  --budget-s (default 540 s: one device call is at most 600 s).
Prints one line per check and writes gpu_check.json (per check: ok, seconds, what was measured, the error).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

CHECKS = []
DEADLINE = {"at": float("inf")}  # perf_counter time by which the last check must end (--budget-s)


def check(fn):
    CHECKS.append(fn)
    return fn


def lavps_cli(*args: str, timeout: float = 300) -> str:
    """Run the CLI in a subprocess; raise with its last lines if it fails."""
    done = subprocess.run([sys.executable, "-m", "lavps.cli", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"lavps {' '.join(args[:2])} exited {done.returncode}: {done.stderr.strip()[-600:]}")
    return done.stdout


def digits(n: int) -> torch.Tensor:
    from lavps.evaluation.demo import held_out_digits

    return held_out_digits(n)[0]


@check
def folder_restore_simulate(device, work: Path) -> dict:
    from lavps.imaging.io import write_image

    folder = work / "clean"
    folder.mkdir()
    for i, x in enumerate(digits(2)):
        write_image(x, folder / f"d{i}.png")
    lavps_cli("restore", str(folder), "--simulate", "sr:2", "--sigma", "0.05", "--device", device, "--quiet",
              "--out", str(work / "restored"))  # fmt: skip
    rows = (work / "restored" / "metrics.csv").read_text().splitlines()
    return {"metrics_rows": len(rows) - 1, "first_row": rows[1] if len(rows) > 1 else None}


@check
def phase_retrieval_auto(device, work: Path) -> dict:
    import lavps

    obs = lavps.degrade(digits(1)[0], "phase:2", 0.05, seed=1)
    result = lavps.restore(obs.y, obs.operator, 0.05, samples=2, seed=0, run=lavps.RunOptions(device=device))
    return {"samples_shape": list(result.samples.shape), "finite": bool(torch.isfinite(result.samples).all())}


@check
def demo_quick(device, work: Path) -> dict:
    out = lavps_cli("demo", "--quick", "--device", device, "--quiet", "--out", str(work / "demo"), timeout=400)
    return {"last_line": out.strip().splitlines()[-1] if out.strip() else ""}


@check
def degrade_on_device_equals_cpu(device, work: Path) -> dict:
    import lavps

    x = digits(2)
    on_cpu = lavps.degrade(x, "box:0.3:0.5", 0.05, seed=3).y
    on_device = lavps.degrade(x.to(device), "box:0.3:0.5", 0.05, seed=3).y
    return {"max_abs_difference": float((on_device.cpu() - on_cpu).abs().max())}


@check
def user_measurement_on_device(device, work: Path) -> dict:
    import lavps
    from lavps.operators import as_measurement

    x = digits(1)
    op = as_measurement(lambda t: torch.nn.functional.avg_pool2d(t, 2), (1, 32, 32), name="pool2", device=device)
    y = op(x.to(device)).cpu() + 0.05 * torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    result = lavps.restore(y, op, 0.05, samples=1, seed=0, run=lavps.RunOptions(device=device))
    return {"finite": bool(torch.isfinite(result.samples).all())}


@check
def latent_prior_on_device(device, work: Path) -> dict:
    import lavps

    obs = lavps.degrade(digits(1)[0], "sr:2", 0.05, seed=2)
    result = lavps.restore(obs.y, obs.operator, 0.05, prior="ldm:mnist", samples=1, seed=0,
                           run=lavps.RunOptions(device=device))  # fmt: skip
    return {"finite": bool(torch.isfinite(result.samples).all())}


@check
def same_seed_twice(device, work: Path) -> dict:
    import lavps

    obs = lavps.degrade(digits(1)[0], "motion_blur:9:0.5", 0.05, seed=4)
    measured = {}
    for sampler, preset in (("lavps", None), ("dps", "fast")):
        runs = [
            lavps.restore(obs.y, obs.operator, 0.05, sampler=sampler, preset=preset, seed=5,
                          run=lavps.RunOptions(device=d)).samples.cpu()
            for d in (device, device, "cpu")
        ]  # fmt: skip
        measured[sampler] = {"device_twice": float((runs[0] - runs[1]).abs().max()),
                             "device_vs_cpu": float((runs[0] - runs[2]).abs().max())}  # fmt: skip
    return measured


@check
def bench_speed_hdit(device, work: Path) -> dict:
    if device == "cpu":
        return {"skipped": "the full-size HDiT is for a GPU (docs/devices.md)"}
    left = DEADLINE["at"] - time.perf_counter() - 15
    if left < 60:
        return {"skipped": f"{left:.0f} s left of --budget-s"}
    path = work / "speed_hdit.json"
    lavps_cli("bench", "speed", "--prior", "hdit:random:ffhq", "--batch-size", "1", "--precision", "fp32", "bf16",
              "--device", device, "--quiet", "--json", str(path), timeout=left)  # fmt: skip
    return json.loads(path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*", help="names of the checks to run (default: all)")
    parser.add_argument("--budget-s", type=float, default=540, help="the speed table gets what is left of this")
    args = parser.parse_args()
    DEADLINE["at"] = time.perf_counter() + args.budget_s
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("error: no CUDA device here; run with --device cpu to check the script itself")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"device": args.device, "torch": torch.__version__, "python": platform.python_version(),
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "checks": {}}  # fmt: skip
    for fn in CHECKS:
        if args.only and fn.__name__ not in args.only:
            continue
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                entry = {"ok": True, "measured": fn(args.device, Path(tmp))}
            except Exception as e:  # noqa: BLE001 -- every check reports, whatever fails
                entry = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-2000:]}
        entry["seconds"] = round(time.perf_counter() - start, 1)
        report["checks"][fn.__name__] = entry
        said = json.dumps(entry.get("measured", entry.get("error")))[:300]
        print(f"{'ok  ' if entry['ok'] else 'FAIL'} {fn.__name__:32s} {entry['seconds']:7.1f} s  {said}", flush=True)
        (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    failed = [name for name, entry in report["checks"].items() if not entry["ok"]]
    passed = len(report["checks"]) - len(failed)
    print(f"{passed} of {len(report['checks'])} checks passed; gpu_check.json in {args.out}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
