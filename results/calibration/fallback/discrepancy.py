"""Discrepancy ||y - A x||^2 / (m sigma^2) of demo rows' samples on real digits (the demo's 20 tuning digits,
offset 30, its operators, noise and seeds), with PSNR(1): does the discrepancy flag samples the network got
badly wrong? K samples per digit.

    PYTHONPATH=src python discrepancy.py OUT.jsonl K "TASK:ROW;ROW..." [...]
"""
import json, os, sys, time, zlib
import torch
torch.set_num_threads(1)
from lavps.amortize.checkpoint import load_amortizer
from lavps.amortize.defaults import default_amortizer_path
from lavps.api import load_prior
from lavps.evaluation.demo import DEMO_SAMPLERS, DemoConfig, draw_row_samples, held_out_digits, row_options, sample_seeds, task_problem, trained_families
from lavps.metrics import psnr

def val(v):
    w = {"true": True, "false": False}
    if v in w: return w[v]
    try: return int(v)
    except ValueError:
        try: return float(v)
        except ValueError: return v

out, k = sys.argv[1], int(sys.argv[2])
config = DemoConfig(images=20, mean_images=0, digit_offset=int(os.environ.get("OFFSET", "30")))
prior = load_prior()
net = load_amortizer(default_amortizer_path(prior), prior=prior)
clean, labels, _ = held_out_digits(config.images, config.digit_offset)
shape = tuple(prior.shape)
for item in sys.argv[3:]:
    spec, _, names = item.rpartition(":")
    t_index = config.tasks.index(spec) if spec in config.tasks else 100 + zlib.crc32(spec.encode()) % 900
    family, problem = task_problem(config, t_index, spec, shape, clean)
    trained = family.spec in trained_families(net, shape)
    truth = problem.discrepancy(clean).tolist()
    for label in names.split(";"):
        row, *pairs = label.split("+")
        name, options = DEMO_SAMPLERS[row]
        opts, _ = row_options(config, name, options, net, family.spec, trained, False, True, family.multimodal)
        for p in pairs:
            kk, vv = p.split("=")
            opts = {**opts, kk: val(vv)}
        disc, ps, secs = [], [], 0.0
        for j in range(k):
            seeds = [s + 1_000_000 * j for s in sample_seeds(config, t_index)]
            x, res, s = draw_row_samples(prior, name, opts, problem, seeds)
            secs += s
            disc.append(problem.discrepancy(x).tolist()); ps.append(psnr(x, clean).tolist())
        entry = dict(task=spec, row=label, trained=trained, samples=k, truth=truth, discrepancy=disc, psnr=ps,
                     seconds_per_sample=secs / (k * config.images), load_average=os.getloadavg())
        with open(out, "a") as f:
            f.write(json.dumps(entry) + "\n")
        flat = sorted(sum(disc, []))
        print(spec, label, f"truth med {sorted(truth)[10]:.3f} max {max(truth):.3f} | samples med {flat[len(flat)//2]:.3f}"
              f" p90 {flat[int(0.9*len(flat))]:.3f} max {flat[-1]:.3f} | PSNR(1) {sum(ps[0])/20:.2f} s {secs/(k*20):.3f}", flush=True)
