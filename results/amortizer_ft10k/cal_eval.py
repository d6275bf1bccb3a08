"""Default LAVPS (optionally another amortizer / settings) on calibration prior-draw problems:
per-problem mean PSNR over K=15 samples + coverage report. Same problems as lavps bench calibration --seed SEED.
    python cal_eval.py OUT.json TASKS SEED STEPS N AMORTIZER|shipped [SETTINGS_JSON]"""
import json, sys, time, os
import torch
torch.set_num_threads(1)
from lavps.api import degrade, load_prior, operator, restore
from lavps.evaluation.calibration_bench import PROBLEM_SEED_OFFSET, SAMPLE_STRIDE, prior_draws
from lavps.evaluation.calibration import calibration_report
from lavps.metrics import psnr
out_path, tasks, seed, steps, n, am = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
settings = json.loads(sys.argv[7]) if len(sys.argv) > 7 else {}
am = None if am == "shipped" else am
prior = load_prior()
cache = f"/work/scratch-ft/truth_s{seed}_{steps}_{n}.pt"
if os.path.exists(cache):
    xs = torch.load(cache)
else:
    xs = prior_draws(prior, n, steps, seed); torch.save(xs, cache)
record = {}
for spec in tasks:
    S, T, P, secs = [], [], [], 0.0
    for p in range(n):
        op_seed = seed + PROBLEM_SEED_OFFSET + 2 * p
        op = operator(spec, tuple(prior.shape), seed=op_seed)
        obs = degrade(xs[p], op, 0.05, seed=op_seed)
        t0 = time.time()
        out = restore(obs.y, op, 0.05, prior=prior, sampler="lavps", samples=15, seed=SAMPLE_STRIDE * p + 1,
                      settings=dict(settings), amortizer=am)
        secs += time.time() - t0
        s = out.samples.float()
        S.append(s); T.append(xs[p])
        P.append(psnr(s, xs[p].expand_as(s)).mean().item())
    rep = calibration_report(torch.stack(S), torch.stack(T))
    cov = {k: [round(c["coverage"], 3) for c in v["coverage"]] for k, v in rep["statistics"].items()}
    record[spec] = {"psnr_each": P, "psnr": sum(P) / n, "coverage": cov, "s_per_sample": secs / (15 * n)}
    print(spec, f"psnr {sum(P)/n:.2f}", cov, f"{secs/(15*n):.3f} s/sample", flush=True)
    json.dump(record, open(out_path, "w"), indent=1)
