import sys, torch, json
sys.path.insert(0, "/work/main/scripts")
from tune_lavps import run
from lavps import api
from lavps.data.mnist import mnist_split
from lavps.metrics import psnr
from lavps.operators import InverseProblem, parse_noise_spec
torch.set_num_threads(1)
first, n = int(sys.argv[1]), int(sys.argv[2])
variants = json.loads(sys.argv[3]) if len(sys.argv) > 3 else [["auto", "auto", {}]]
images, labels = mnist_split("test")
picks = [int((labels == c % 10).nonzero()[c // 10]) for c in range(first, first + n)]
truth = images[picks]
prior = api.load_prior("mnist")
noise = parse_noise_spec("gaussian:0.05")
op = api.operator("hdr:2", (1, 32, 32))
y = torch.cat([noise.observe(truth[i:i+1], op, torch.Generator().manual_seed(1000 + i)) for i in range(n)])
problem = InverseProblem(y, op, noise)
AM = "/work/main/src/lavps/assets/mnist32_nonlinear_amortizer.safetensors"
outs = {}
rows = [("mgdm-ref", "mgdm", "reference", {})] + [(l, "lavps", p, s) for l, p, s in variants]
for label, sampler, preset, settings in rows:
    im, sec, cost = run(prior, problem, op.family, sampler, preset, settings, AM if sampler == "lavps" else None, truth)
    outs[label] = im
    sat = (2 * truth).abs() >= 1
    err = (im - truth) ** 2
    # region MSE: saturated-truth pixels, mid pixels; wrong-side saturation count
    wrong = ((2 * im).clamp(-1, 1) - (2 * truth).clamp(-1, 1)).abs() > 0.5
    print(f"{label:12s} psnr {psnr(im, truth).mean():.2f} [{' '.join(f'{v:.1f}' for v in psnr(im, truth).tolist())}] "
          f"mse_sat {err[sat].mean():.4f} mse_mid {err[~sat].mean():.4f} n_mid {(~sat).sum().item()} "
          f"wrongA {wrong.sum().item()} resid {((op(im) - y) ** 2).mean():.5f} {sec:.0f}s", flush=True)
torch.save({"truth": truth, "y": y, **outs}, f"/work/scratch-hdr/out_{first}.pt")
