"""Throughput of `lavps restore` (LAVPS default), DPS and `lavps bench speed --quick` per thread setting
(lavps's default, i.e. no --threads, and each --threads N), without and beside one competing busy process;
prints a table and writes results/threads/threads.json.

    python scripts/bench_threads.py [--threads 1 2] [--repeats 2] [--timeout 300] [--out results/threads]

Each cell is the wall time of the whole command (a subprocess, imports included), mean over --repeats
runs; a run that exceeds --timeout is recorded as that timeout (a lower bound). The competing process
is a pure-Python busy loop (one core busy, as another user's job would be). Seconds measured while
other jobs run on the machine are comparable only within one run of this script: it records the
1-minute load average before every cell. OMP_NUM_THREADS / MKL_NUM_THREADS are removed from the
commands' environment, so "default" is what a user without them gets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOADS = {
    "restore (lavps default)": ["restore", "{obs}", "--quiet", "--out", "{tmp}/r"],
    "dps 200 steps": ["restore", "{obs}", "--sampler", "dps", "--steps", "200", "--quiet", "--out", "{tmp}/r"],
    "bench speed --quick": ["bench", "speed", "--quick", "--quiet"],
}


CONDITIONS = ("no extra process", "one busy process")


def _observation(folder: Path) -> Path:
    import torch

    from lavps.imaging.io import write_png

    write_png(torch.linspace(-1, 1, 32 * 32).reshape(1, 32, 32), folder / "clean.png")
    args = ["degrade", folder / "clean.png", "--operator", "motion_blur:9:0.5", "--sigma", "0.05"]
    subprocess.run([sys.executable, "-m", "lavps.cli", *map(str, args), "--out", str(folder / "obs.png")], check=True)
    return folder / "obs.observation.pt"


def _run(args: list[str], threads: int | None, timeout: float) -> tuple[float, float | None]:
    """(wall seconds of the whole command, the sampling seconds restore reports; None where it reports none)."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [a.replace("{tmp}", tmp) for a in args] + ([] if threads is None else ["--threads", str(threads)])
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "lavps.cli", *argv],
                check=True,
                timeout=timeout,
                env=env,
                capture_output=True,
                text=True,
            )
        except subprocess.TimeoutExpired:
            return timeout, None
        wall = time.perf_counter() - start
        reported = re.search(r" in ([0-9.]+) s \(", done.stdout)
        return wall, float(reported.group(1)) if reported else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=Path("results/threads"))
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--conditions", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    parser.add_argument("--name", default="threads", help="JSON file name (without .json) under --out.")
    o = parser.parse_args()
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        obs = _observation(Path(folder))
        for condition in o.conditions:
            busy = None
            if condition != "no extra process":
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                for name in o.workloads:
                    template = WORKLOADS[name]
                    args = [a.replace("{obs}", str(obs)) for a in template]
                    for threads in [None, *o.threads]:
                        load = os.getloadavg()[0]
                        runs = [_run(args, threads, o.timeout) for _ in range(o.repeats)]
                        times = [wall for wall, _ in runs]
                        label = "default" if threads is None else str(threads)
                        row = dict(condition=condition, workload=name, threads=label, seconds=times, load1=load)
                        row["sampling_seconds"] = [reported for _, reported in runs]
                        rows.append(row)
                        print(
                            f"{condition:<17} {name:<24} threads {label:>7}: {sum(times) / len(times):7.1f} s "
                            f"(load {load:.1f})",
                            flush=True,
                        )
            finally:
                if busy is not None:
                    busy.terminate()
                    busy.wait()
    for row in rows:
        row["mean_seconds"] = sum(row["seconds"]) / len(row["seconds"])
    for row in rows:
        best = min(
            r["mean_seconds"] for r in rows if (r["condition"], r["workload"]) == (row["condition"], row["workload"])
        )
        row["ratio_to_best"] = row["mean_seconds"] / best
    print(f"\n{'condition':<17} {'workload':<24} {'threads':>7} {'seconds':>8} {'/ best':>7} {'load':>5}")
    for r in rows:
        cells = f"{r['threads']:>7} {r['mean_seconds']:>8.1f} {r['ratio_to_best']:>7.2f} {r['load1']:>5.1f}"
        print(f"{r['condition']:<17} {r['workload']:<24} {cells}")
    payload = dict(
        config=dict(
            threads=o.threads, repeats=o.repeats, timeout=o.timeout, cpus=os.cpu_count(), workloads=o.workloads
        ),
        note="wall seconds of whole commands; load1 = 1-minute load average before each cell (a shared machine)",
        load_average_before=load_before,
        load_average_after=os.getloadavg(),
        rows=rows,
    )
    o.out.mkdir(parents=True, exist_ok=True)
    (o.out / f"{o.name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {o.out / f'{o.name}.json'}")


if __name__ == "__main__":
    main()
