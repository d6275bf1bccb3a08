"""Export the EMA prior of a `train-prior` checkpoint: weights + card + PNG grid of samples.

    python -m lavps.training.export_prior runs/prior --dest src/lavps/assets

RUN is a run folder (its checkpoint.safetensors is used) or a checkpoint file. Works on the latest
checkpoint of a run still in progress too (to look at samples along the way).
"""

from __future__ import annotations

from pathlib import Path

import click
import torch

from .prior import CHECKPOINT_NAME, export_prior

__all__ = ["main"]


@click.command()
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("--dest", type=click.Path(path_type=Path), default=None, help="Output folder (default: RUN's folder).")
@click.option("--sample-steps", type=int, default=None, help="DDIM grid points for the PNG (default: the run's).")
@click.option("--threads", type=int, default=1, show_default=True, help="torch CPU threads.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def main(run: Path, dest: Path | None, sample_steps: int | None, threads: int, quiet: bool) -> None:
    """Write <name>.safetensors, <name>.json and <name>_samples.png from the checkpoint in RUN."""
    ckpt = run / CHECKPOINT_NAME if run.is_dir() else run
    torch.set_num_threads(threads)
    result = export_prior(ckpt, dest or ckpt.parent, progress=not quiet, sample_steps=sample_steps)
    card = result.card
    click.echo(f"{result.prior_path} (step {card['steps']}, loss {card['final_loss']}); {result.samples_path}")


if __name__ == "__main__":
    main()
