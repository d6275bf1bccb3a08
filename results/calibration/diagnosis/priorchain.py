"""Is the coarse prior chain itself under-dispersed? SBC with posterior = prior: truths from 250-step DDIM eta=1,
samples from DDIM eta=1 on N steps (no likelihood)."""
import torch, math
torch.set_num_threads(1)
from lavps.api import load_prior
from lavps.evaluation.calibration_bench import prior_draws
from lavps.evaluation.calibration import calibration_report
prior = load_prior()
P, K = 24, 15
truth = prior_draws(prior, P, 250, 0)
for n in (20, 50, 250):
    x = torch.stack([prior_draws(prior, K, n, 100000 + 1000 * p) for p in range(P)])
    rep = calibration_report(x, truth)
    m = x.mean(1)
    # spread: mean distance of a point to the others' mean, truth vs samples
    d_samp = ((x - m[:, None]) ** 2).flatten(2).sum(2).mean()
    d_truth = ((truth - m) ** 2).flatten(1).sum(1).mean()
    st = rep["statistics"]
    print(n, {k: [round(c["coverage"], 2) for c in v["coverage"][1:3]] for k, v in st.items()},
          "ratio", round(math.sqrt(float(d_truth / (d_samp * (K + 1) / (K - 1)))), 2),
          "mean |x|", round(float(x.abs().mean()), 3), round(float(truth.abs().mean()), 3), flush=True)
