"""The MNIST data split, the UNet image prior, its checkpoints and its training loop (tiny, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

from lavps.data.mnist import _raw, _split_indices, mnist_split
from lavps.priors.base import Prior
from lavps.priors.checkpoint import load_tensors
from lavps.priors.image_unet import (
    ImagePrior,
    build_unet,
    default_prior_path,
    load_image_prior,
    save_image_prior,
)
from lavps.priors.specs import prior_fingerprint
from lavps.training import PriorTrainConfig, sample_unconditional, train_prior

TINY = dict(channels=(8, 16, 16), batch_size=4, warmup=2, sample_steps=3, num_samples=2)


def tiny_prior(seed: int = 0) -> ImagePrior:
    torch.manual_seed(seed)
    return ImagePrior(build_unet(PriorTrainConfig(**TINY).unet_config())).eval()


@pytest.fixture(scope="module")
def splits():
    return mnist_split("train"), mnist_split("test")


def test_split_sizes_range_and_disjointness(splits):
    (xtr, ytr), (xte, yte) = splits
    assert xtr.shape == (4500, 1, 32, 32) and xte.shape == (500, 1, 32, 32)
    assert xtr.dtype == torch.float32 and ytr.dtype == torch.int64
    assert torch.bincount(ytr).tolist() == [450] * 10 and torch.bincount(yte).tolist() == [50] * 10
    assert xtr.min() == -1.0 and xtr.max() == 1.0 and xte.min() >= -1.0 and xte.max() <= 1.0
    assert (xtr[..., :2, :] == -1).all() and (xtr[..., :, -2:] == -1).all()  # the 2-pixel padding
    labels = _raw()[1]
    train_idx, test_idx = _split_indices(labels, "train"), _split_indices(labels, "test")
    assert not set(train_idx) & set(test_idx) and len(set(train_idx) | set(test_idx)) == 5000
    # for each class the test images are the last 50 in dataset order
    assert all(test_idx[labels[test_idx] == c].min() > train_idx[labels[train_idx] == c].max() for c in range(10))


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown MNIST split 'val'"):
        mnist_split("val")


def test_prior_contract_and_denoise_at_zero_is_identity():
    prior = tiny_prior()
    assert isinstance(prior, Prior) and prior.shape == (1, 32, 32) and prior.schedule.num_steps == 1000
    x = torch.randn(3, 1, 32, 32)
    assert torch.equal(prior.denoise(x, 0), x)
    torch.testing.assert_close(prior.denoise(x, torch.zeros(3, dtype=torch.long)), x)
    mixed = prior.denoise(x, torch.tensor([0, 10, 999]))
    torch.testing.assert_close(mixed[0], x[0])
    assert torch.isfinite(mixed).all()
    with pytest.raises(ValueError, match="expected x_t of shape"):
        prior.denoise(torch.randn(2, 3, 32, 32), 5)


def test_save_load_round_trip(tmp_path):
    prior = tiny_prior()
    path = save_image_prior(prior, tmp_path / "p.safetensors", {"note": "tiny"})
    loaded = load_image_prior(path)
    assert loaded.card == {"note": "tiny"} and json.loads((tmp_path / "p.json").read_text()) == {"note": "tiny"}
    x, t = torch.randn(2, 1, 32, 32), torch.tensor([3, 700])
    assert torch.equal(loaded.denoise(x, t), prior.denoise(x, t))
    assert not any(p.requires_grad for p in loaded.parameters())


def test_checkpoint_errors_name_file_and_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_image_prior(tmp_path / "nope.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x80\x04 definitely not safetensors" * 10)
    with pytest.raises(ValueError, match="garbage.safetensors is not a readable safetensors"):
        load_image_prior(garbage)
    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(2)}, str(bare))
    with pytest.raises(ValueError, match="no lavps metadata"):
        load_image_prior(bare)
    # right metadata, wrong weights: drop one tensor and change the shape of another
    good = save_image_prior(tiny_prior(), tmp_path / "good.safetensors", {})
    tensors, header = load_tensors(good)
    tensors.pop(next(iter(tensors)))
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={"lavps": json.dumps(header)})
    with pytest.raises(ValueError, match="bad.safetensors: weights do not match"):
        load_image_prior(tmp_path / "bad.safetensors")


def test_unconditional_samples_do_not_depend_on_batch():
    prior = tiny_prior()
    one, two = sample_unconditional(prior, 1, steps=4, seed=5), sample_unconditional(prior, 2, steps=4, seed=5)
    assert one.shape == (1, 1, 32, 32)
    torch.testing.assert_close(one[0], two[0], atol=2e-3, rtol=0)  # same noise; conv round-off only


def test_tiny_training_run_writes_prior_card_and_samples(tmp_path):
    result = train_prior(PriorTrainConfig(steps=3, ckpt_every=2, out_dir=str(tmp_path), **TINY), progress=False)
    card = result.card
    assert np.isfinite(card["final_loss"]) and card["steps"] == 3 and card["data"]["split"] == "train"
    for key in ("settings", "wall_time_s", "seconds_per_step", "threads", "date"):
        assert key in card
    assert result.samples_path.exists() and (tmp_path / "checkpoint.safetensors").exists()
    assert load_image_prior(result.prior_path).card["steps"] == 3
    with pytest.raises(ValueError, match="resume it"):
        train_prior(PriorTrainConfig(steps=3, out_dir=str(tmp_path), **TINY), progress=False)
    with pytest.raises(ValueError, match="settings differ.*lr"):
        train_prior(PriorTrainConfig(steps=4, lr=1e-4, out_dir=str(tmp_path), **TINY), progress=False, resume=True)


def test_fine_tuning_starts_from_the_parent_and_records_it(tmp_path):
    parent = train_prior(PriorTrainConfig(steps=2, out_dir=str(tmp_path / "parent"), **TINY), progress=False)
    # zero learning rate: the fine-tuned weights (and their EMA) must be exactly the parent's
    still = PriorTrainConfig(
        steps=2, lr=1e-30, out_dir=str(tmp_path / "child"), init_from=str(parent.prior_path), **TINY
    )
    child = train_prior(still, progress=False)
    a, b = load_image_prior(parent.prior_path), load_image_prior(child.prior_path)
    assert all(torch.allclose(a.net.state_dict()[k], v, atol=1e-6) for k, v in b.net.state_dict().items())
    lineage = child.card["fine_tuned_from"]
    assert lineage["fingerprint"] == prior_fingerprint(a) and lineage["steps"] == 2 and child.card["total_steps"] == 4
    wider = dict(TINY, channels=(16, 16, 16))
    bad = PriorTrainConfig(steps=1, out_dir=str(tmp_path / "bad"), init_from=str(parent.prior_path), **wider)
    with pytest.raises(ValueError, match="init-from.*does not match"):
        train_prior(bad, progress=False)


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    def cfg(steps, out):
        return PriorTrainConfig(steps=steps, ckpt_every=2, out_dir=str(tmp_path / out), **TINY)

    train_prior(cfg(4, "straight"), progress=False)
    train_prior(cfg(2, "resumed"), progress=False)  # "interrupted" after the checkpoint at step 2
    train_prior(cfg(4, "resumed"), progress=False, resume=True)
    a, ha = load_tensors(tmp_path / "straight" / "checkpoint.safetensors")
    b, hb = load_tensors(tmp_path / "resumed" / "checkpoint.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert ha["step"] == hb["step"] == 4 and ha["loss_avg"] == hb["loss_avg"]


def test_cli_registers_and_reports_bad_options():
    from lavps.cli import train_prior as _  # noqa: F401
    from lavps.cli.main import cli

    runner = CliRunner()
    assert "--ckpt-every" in runner.invoke(cli, ["train-prior", "--help"]).output
    result = runner.invoke(cli, ["train-prior", "--size", "28", "--out", "unused"])
    assert isinstance(result.exception, ValueError) and "image_size 28" in str(result.exception)


def test_shipped_prior_loads():
    if not default_prior_path().exists():
        pytest.skip("shipped MNIST prior not trained yet")
    prior = load_image_prior()
    assert prior.shape == (1, 32, 32) and prior.card.get("data", {}).get("split") == "train"
    x = torch.randn(2, 1, 32, 32)
    assert torch.isfinite(prior.denoise(x, torch.tensor([10, 900]))).all()


def test_the_prediction_type_is_part_of_the_fingerprint_and_defaults_keep_it():
    import copy

    from lavps.api import load_prior
    from lavps.priors.specs import prior_fingerprint

    prior = load_prior()
    assert prior_fingerprint(prior) == "4ec7c60c8456dbff"  # the shipped prior's, as its amortizer cards record
    other = copy.deepcopy(prior)
    other.prediction = "v_prediction"  # the same weights read as v: another denoiser
    assert prior_fingerprint(other) != prior_fingerprint(prior)
