"""Energy score and one-sample PSNR of demo rows on real digits: the demo's 20 digits at digit offset OFFSET
(environment; default 30, the tuning digits no report uses; 0 = the reported ones), the demo's per-digit
operators, noise and seeds (sample j of digit i: seed + 1,000,000 j), K samples per digit.

    PYTHONPATH=src python digits.py OUT.jsonl K "TASK:ROW;ROW..." [...]

TASK is any operator spec (a demo task keeps the demo's operators and noise). ROW is a `lavps demo` row (lavps, lavps-ref, lavps-fastest, ddrm-20, mgdm, ...) with optional settings over
its own: lavps-ref+draw=linearised, lavps-fastest+draw=linearised+temperature=1.5. Appends one JSON line per
(task, row): per digit the energy score (RMS units), the PSNR of every sample and of the K-sample mean, the
spread ratio, seconds per sample and the load average (seconds compare only within one process).
"""
import json, os, sys, zlib
import torch
torch.set_num_threads(1)
from lavps.amortize.checkpoint import load_amortizer
from lavps.amortize.defaults import default_amortizer_path
from lavps.amortize.network import trained_family_for
from lavps.api import load_prior
from lavps.evaluation.calibration import energy_score, spread_ratio
from lavps.evaluation.demo import DEMO_SAMPLERS, DemoConfig, draw_row_samples, held_out_digits, row_options, sample_seeds, task_problem
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
    # a demo task keeps the demo's operators and noise; any other spec a seed index of its own, from its name
    t_index = config.tasks.index(spec) if spec in config.tasks else 100 + zlib.crc32(spec.encode()) % 900
    family, problem = task_problem(config, t_index, spec, shape, clean)
    # in distribution as the demo decides it: a training family or one it covers (center:0.35 in box:0.3:0.5)
    trained = trained_family_for(net, family.spec, shape) is not None
    for label in names.split(";"):
        row, *pairs = label.split("+")
        name, options = DEMO_SAMPLERS[row]
        opts, _ = row_options(config, name, options, net, family.spec, trained, False, True, family.multimodal)
        for p in pairs:
            kk, vv = p.split("=")
            opts = {**opts, kk: val(vv)}
        draws, seconds, fw = [], 0.0, 0
        for j in range(k):
            seeds = [s + 1_000_000 * j for s in sample_seeds(config, t_index)]
            x, res, secs = draw_row_samples(prior, name, opts, problem, seeds)
            draws.append(x); seconds += secs
            fw = res.cost.denoiser_forwards if hasattr(res.cost, "denoiser_forwards") else None
        samples = torch.stack(draws, 1)
        entry = dict(task=spec, row=label, samples=k, digits=config.images, offset=config.digit_offset,
            energy_score=energy_score(samples, clean).tolist(), spread_ratio=spread_ratio(samples, clean),
            psnr=[psnr(samples[:, j], clean).tolist() for j in range(k)],
            psnr_mean=psnr(samples.mean(1), clean).tolist(), seconds_per_sample=seconds / (k * config.images),
            load_average=os.getloadavg())
        with open(out, "a") as f:
            f.write(json.dumps(entry) + "\n")
        print(spec, label, f"ES {sum(entry['energy_score'])/20:.4f}", f"spread {entry['spread_ratio']:.2f}",
              f"PSNR(1) {sum(entry['psnr'][0])/20:.2f}", f"s/sample {entry['seconds_per_sample']:.3f}", flush=True)
