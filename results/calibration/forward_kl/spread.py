"""How wide each amortizer's Gaussian is against the exact bridge draws of the true x, on held-out training
draws (the batches of terms.py): per sample, the variance ratio
    T* = mean over coordinates of ((m* - mu)^2 + s^2) / exp(2 rho)
(the variance temperature that minimises the forward-KL term for that sample; 1 = mass-covering as fitted)
and the mean log-std rho, split at tau = 200 (below it `fastest` uses the linearised solution, not the network).

    python spread.py BATCHES NAME=AMORTIZER[,NAME=AMORTIZER..]
"""

import sys

import torch

torch.set_num_threads(1)
import lavps.training.amortizer as A  # noqa: E402
from lavps.amortize.checkpoint import AMORTIZER_KIND, load_network  # noqa: E402
from lavps.cli.train_amortizer import TRAINING_DEFAULTS  # noqa: E402
from lavps.priors.specs import resolve_prior  # noqa: E402
from lavps.training.networks import TrainConfig  # noqa: E402
from lavps.training.problems import prior_family  # noqa: E402

SEEN = []


def spy(mu, rho, clean_bridge):
    SEEN.append((mu.detach(), rho.detach(), clean_bridge))
    return A_nll(mu, rho, clean_bridge)


A_nll = A.bridge_sample_nll
A.bridge_sample_nll = spy
_draw = A.draw_noised_problem


def draw(*args, **kw):
    d = _draw(*args, **kw)
    SEEN.append(d.grid[d.k])
    return d


A.draw_noised_problem = draw


def main() -> None:
    batches = int(sys.argv[1])
    files = dict(pair.split("=", 1) for pair in sys.argv[2].split(","))
    image = TRAINING_DEFAULTS["image"]
    preset = resolve_prior("mnist", 0)
    family = prior_family(image["family"], preset.prior)
    config = TrainConfig(steps=1, batch_size=16, grid_steps=image["grid_steps"], window=image["window"],
                         sigma=image["sigma"])
    print("| amortizer | median T* (tau >= 200) | median T* (tau < 200) | mean rho - log s (tau >= 200) |")
    print("|---|---|---|---|")
    for name, path in files.items():
        net = load_network(path, AMORTIZER_KIND)
        hi, lo, shift = [], [], []
        for b in range(batches):
            SEEN.clear()
            with torch.no_grad():
                A.amortized_loss(net, torch.Generator().manual_seed(77_000 + b), config, preset, family)
            tau, (mu, rho, cb) = SEEN[0], SEEN[1]
            t_star = (((cb.mean - mu).square() + (2 * cb.log_std).exp()) / (2 * rho).exp()).flatten(1).mean(1)
            for i in range(len(tau)):
                (hi if int(tau[i]) >= 200 else lo).append(float(t_star[i]))
                if int(tau[i]) >= 200:
                    shift.append(float((rho[i] - cb.log_std[i]).mean()))
        med = lambda v: float(torch.tensor(v).median()) if v else float("nan")  # noqa: E731
        print(f"| {name} | {med(hi):.2f} (n={len(hi)}) | {med(lo):.2f} (n={len(lo)}) | "
              f"{sum(shift) / max(len(shift), 1):+.3f} |", flush=True)


if __name__ == "__main__":
    main()
