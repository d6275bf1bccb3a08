"""Calibration of amortizers trained with and without the forward-KL term, IN ONE PROCESS per task, problem by
problem (rows interleaved): preset `fastest` with each amortizer file at variance temperature 1 and 2.
Each (problem, row) is saved as DIR/sSEED/TASK/ROW/pNNN.pt (the layout of ../final/run.py, read by
../final/table.py). Problem p: the prior draw, operator, noise and sample seeds of `lavps bench calibration`
with --seed SEED.

    python run.py DIR TASK FIRST LAST SEED PRIOR_STEPS NAME=AMORTIZER[,NAME=AMORTIZER..] T[,T..] [KEY=VALUE[/..]]

Rows NAME-T<T> (e.g. fkl-T1): `fastest` with settings {"temperature": T} and that amortizer file; with the
optional settings (e.g. linear_below=0: the network at every step) the row is NAME-T<T>+KEY=VALUE. One
amortizer's own settings: NAME=AMORTIZER|KEY=VALUE[/..] (rows with different settings in one process).
SEED 900 / 1000 prior steps here: a seed no report uses (reports: 0; tuning: 500).
"""

import importlib.util
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
_spec = importlib.util.spec_from_file_location("final_run", Path(__file__).resolve().parent.parent / "final" / "run.py")
final_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(final_run)

from lavps.api import degrade, load_prior, operator, restore  # noqa: E402
from lavps.evaluation.calibration_bench import PROBLEM_SEED_OFFSET, SAMPLE_STRIDE  # noqa: E402


def main() -> None:
    root, spec = Path(sys.argv[1]), sys.argv[2]
    first, last, seed, steps = (int(v) for v in sys.argv[3:7])
    files = dict(pair.split("=", 1) for pair in sys.argv[7].split(","))
    temps = [float(t) for t in sys.argv[8].split(",")]
    extra_text = sys.argv[9] if len(sys.argv) > 9 else ""
    prior = load_prior()
    x_true = final_run.truth(prior, last, steps, seed, root)
    for p in range(first, last):
        op_seed = seed + PROBLEM_SEED_OFFSET + 2 * p
        op = operator(spec, tuple(prior.shape), seed=op_seed)
        obs = degrade(x_true[p], op, 0.05, seed=op_seed)
        for name, entry in files.items():
            path, _, own = entry.partition("|")
            text = own or extra_text
            extra = {k: final_run._number(v) for k, v in (pair.split("=") for pair in text.split("/") if pair)}
            for temp in temps:
                row = f"{name}-T{temp:g}" + (f"+{text.replace('/', '+')}" if extra else "")
                folder = root / f"s{seed}" / spec / row
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / f"p{p:03d}.pt"
                if target.exists():
                    continue
                out = restore(obs.y, op, 0.05, prior=prior, samples=final_run.K, seed=SAMPLE_STRIDE * p + 1,
                              preset="fastest", settings={"temperature": temp, **extra}, amortizer=path)
                torch.save({"samples": out.samples.float(), "truth": x_true[p], "seconds": out.cost.seconds,
                            "load": __import__("os").getloadavg()[0], "amortizer": path}, target)
                print(spec, row, p, f"{out.cost.seconds:.2f}s", flush=True)


if __name__ == "__main__":
    main()
