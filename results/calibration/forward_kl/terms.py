"""Both training terms of each amortizer on the same held-out training draws (seeded generators no run used):
the negative ELBO (reverse KL + const), the forward-KL term `bridge_sample_nll` and the loss ratio, mean and
95% interval over batches, one process (paired: the same batches for every file).

    python terms.py BATCHES NAME=AMORTIZER[,NAME=AMORTIZER..]
"""

import sys

import torch

torch.set_num_threads(1)
from lavps.amortize.checkpoint import AMORTIZER_KIND, load_network  # noqa: E402
from lavps.cli.train_amortizer import TRAINING_DEFAULTS  # noqa: E402
from lavps.evaluation.stats import mean_ci95  # noqa: E402
from lavps.priors.specs import resolve_prior  # noqa: E402
from lavps.training.amortizer import amortized_loss  # noqa: E402
from lavps.training.networks import TrainConfig  # noqa: E402
from lavps.training.problems import prior_family  # noqa: E402


def main() -> None:
    batches = int(sys.argv[1])
    files = dict(pair.split("=", 1) for pair in sys.argv[2].split(","))
    image = TRAINING_DEFAULTS["image"]
    preset = resolve_prior("mnist", 0)
    family = prior_family(image["family"], preset.prior)
    config = TrainConfig(steps=1, batch_size=16, grid_steps=image["grid_steps"], window=image["window"],
                         sigma=image["sigma"])
    print("| amortizer | negative ELBO | forward-KL term | ratio |")
    print("|---|---|---|---|")
    for name, path in files.items():
        net = load_network(path, AMORTIZER_KIND)
        rows = {"elbo": [], "fkl": [], "ratio": []}
        with torch.no_grad():
            for b in range(batches):
                _, m = amortized_loss(net, torch.Generator().manual_seed(77_000 + b), config, preset, family)
                for k in rows:
                    rows[k].append(m[k])
        cells = [f"{mean_ci95(rows[k])[0]:.1f} ± {mean_ci95(rows[k])[1]:.1f}" for k in ("elbo", "fkl")]
        r = mean_ci95(rows["ratio"])
        print(f"| {name} | {cells[0]} | {cells[1]} | {r[0]:.3f} ± {r[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
