"""Throughput of `lavps restore` on a folder: torchrun with 1 process vs N processes (gloo, 1 thread each).

Writes `--images` held-out MNIST test digits (32x32 PNGs) to OUT/clean, restores them with
`lavps restore OUT/clean --simulate SPEC ...` under `torchrun --nproc_per_node P` for every P of
--procs, checks that every run wrote byte-identical reconstructions, prints a table and writes
OUT/folder_scaling.json. Wall seconds include process start-up (import of torch and lavps); the
`restore` column is the slowest rank's own time inside `restore_folder` (what more images amortize).

    python scripts/bench_folder_scaling.py --out runs/folder_scaling --images 8 --procs 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/folder_scaling"))
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--simulate", default="motion_blur:9:0.5")
    parser.add_argument("--sigma", type=float, default=0.05)
    parser.add_argument("--sampler", default="lavps")
    parser.add_argument("--extra", default="--adam-out 1 --inner-steps 1", help="More `lavps restore` options.")
    a = parser.parse_args()

    import torch

    from lavps.data.mnist import mnist_split
    from lavps.imaging.io import write_png

    clean = a.out / "clean"
    images, _ = mnist_split("test")
    for i in range(a.images):
        write_png(images[i], clean / f"digit{i:03d}.png")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    rows = []
    for p in a.procs:
        out = a.out / f"restored_w{p}"
        if out.exists():
            raise SystemExit(f"{out} exists: remove it (the benchmark measures full runs)")
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(p)]
        cmd += ["-m", "lavps.cli", "restore", str(clean), "--simulate", a.simulate, "--sigma", str(a.sigma)]
        cmd += ["--sampler", a.sampler, "--batch-size", str(a.batch_size), "--quiet", "--out", str(out)]
        cmd += a.extra.split()
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        inner = max(float(s) for s in re.findall(r"in ([0-9.]+) s on this rank", done.stdout))
        rows.append({"procs": p, "wall_s": round(wall, 2), "restore_s": round(inner, 2), "images": a.images})
    base = rows[0]
    pngs = {
        r["procs"]: {
            q.relative_to(a.out / f"restored_w{r['procs']}"): q.read_bytes()
            for q in sorted((a.out / f"restored_w{r['procs']}").rglob("*.png"))
        }
        for r in rows
    }
    identical = all(v == pngs[base["procs"]] for v in pngs.values())
    head = f"{'procs':>5} {'wall s':>8} {'restore s':>10} {'img/s (wall)':>13}"
    print(f"{head} {'speed-up wall':>14} {'speed-up restore':>17}")
    for r in rows:
        r["images_per_s"] = round(r["images"] / r["wall_s"], 3)
        r["speedup_wall"] = round(base["wall_s"] / r["wall_s"], 3)
        r["speedup_restore"] = round(base["restore_s"] / r["restore_s"], 3)
        print(
            f"{r['procs']:>5} {r['wall_s']:>8.2f} {r['restore_s']:>10.2f} {r['images_per_s']:>13.3f} "
            f"{r['speedup_wall']:>14.3f} {r['speedup_restore']:>17.3f}"
        )
    print(f"outputs byte-identical across process counts: {identical}")
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    config |= {"torch": torch.__version__, "cpu_count": os.cpu_count(), "threads_per_process": 1}
    config["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]  # other users of the machine
    result = {"config": config, "results": rows, "identical_outputs": identical}
    (a.out / "folder_scaling.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
