"""`lavps train-amortizer --data DIR|GLOB`: the streamed training images, their held-out split and the
validation on it (and the refusal of validation settings that could not run)."""

from __future__ import annotations

__all__ = ["check_validation", "training_folder"]


def check_validation(o: dict) -> None:
    """Validation runs on held-out images of --data only: --val-every / --patience without them would be recorded
    in the card yet do nothing."""
    if o.get("patience") and not o.get("val_every"):
        raise ValueError("--patience counts validations: give --val-every N too")
    if o.get("val_every") and not o.get("data"):
        raise ValueError("--val-every validates on held-out images of --data DIR|GLOB; none given")


def training_folder(o: dict, config, preset, family):
    """The preset (its description names the data), the streamed training images of --data and the
    validation on the held-out ones (--val-count, at most a fifth of the images)."""
    import dataclasses

    import torch

    from ..data.folder import FolderData, ImageFolder, check_images, list_images, split_holdout
    from ..distributed import current_world
    from ..evaluation.amortizer_validation import amortizer_validation
    from ..imaging.fit import read_fitted

    shape = tuple(preset.prior.shape)
    images = list_images(o["data"], warn=current_world().is_main)
    check_images(images.files, shape)
    train, held = split_holdout(images, min(o["val_count"], len(images.files) // 5))
    description = {
        "source": str(o["data"]),
        "images": len(images.files),
        "train": len(train),
        "held_out": len(held),
        "fit": "center crop to the prior's aspect ratio, then Lanczos resize",
        "held_out_rule": "lowest sha256 of the relative names",
    }
    data = FolderData(
        ImageFolder(train, shape),
        config.seed,
        config.batch_size,
        config.micro_batches,
        config.steps,
        o["loader_workers"],
    )
    data.description = description
    data_text = f"{len(images.files)} images from {o['data']}"
    name = str(preset.description.get("name", preset.spec)).split(";")[0]  # the prior, not its own data
    preset = dataclasses.replace(
        preset, description=preset.description | {"data": data_text, "name": f"{name}; clean images: {data_text}"}
    )
    if config.val_every and not held:  # asked for, but nothing to validate on: say so rather than skip it
        raise ValueError(
            f"--val-every needs held-out images: --val-count {o['val_count']} of {len(images.files)} images holds out "
            "none (at most a fifth of them are held out; give --val-count >= 1 and at least 5 images)"
        )
    validation = None
    if held and config.val_every:
        val = torch.stack([read_fitted(p, shape) for p in held])
        validation = amortizer_validation(config, preset, family, val, o["psnr_images"], config.seed)
    return preset, data, validation
