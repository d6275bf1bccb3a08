"""The shipped digit classifier and the prior-quality numbers built on it."""

import pytest
import torch

from lavps.data.mnist import mnist_split
from lavps.diffusion import Schedule
from lavps.evaluation.classifier import DigitClassifier, label_agreement, load_classifier, save_classifier
from lavps.evaluation.prior_quality import denoising_loss, sample_confidence
from lavps.priors.gmm import grid_mixture


def test_shipped_classifier_labels_held_out_digits():
    images, labels = mnist_split("test")  # never seen in training
    net = load_classifier()
    assert float(label_agreement(net, images, labels).mean()) > 0.9
    # a confidence threshold can only lower the agreement
    assert float(label_agreement(net, images, labels, 0.99).mean()) <= float(
        label_agreement(net, images, labels).mean()
    )
    # pure noise is not a digit: few confident labels
    noise = torch.rand(200, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    probs = net(noise).softmax(1).max(1).values
    assert float((probs >= 0.9).float().mean()) < 0.5


def test_classifier_round_trip_and_errors(tmp_path):
    torch.manual_seed(0)
    net = DigitClassifier()
    path = save_classifier(net, tmp_path / "c.safetensors", {"what": "test"})
    x = torch.randn(3, 1, 32, 32)
    assert torch.equal(load_classifier(path)(x), net.eval()(x))
    with pytest.raises(ValueError, match="32, 32"):
        net(torch.randn(2, 1, 28, 28))
    with pytest.raises(FileNotFoundError):
        load_classifier(tmp_path / "missing.safetensors")


def test_denoising_loss_is_lower_for_the_exact_denoiser_than_for_a_bad_one():
    prior = grid_mixture(4, generator=torch.Generator().manual_seed(0))
    x = prior.sample(400, torch.Generator().manual_seed(1))

    class Zero:  # D = 0: eps_hat = x_t / sqrt(1 - abar)
        schedule, shape = prior.schedule, prior.shape

        def denoise(self, x_t, t):
            return torch.zeros_like(x_t)

    good = denoising_loss(prior, x, [100, 600])
    bad = denoising_loss(Zero(), x, [100, 600])
    assert all(good[t][0] < bad[t][0] for t in (100, 600))
    assert good == denoising_loss(prior, x, [100, 600])  # seeded: reproducible


def test_sample_confidence_counts_every_sample():
    class Always:  # a classifier that is always sure of label 3
        def __call__(self, x):
            logits = torch.full((x.shape[0], 10), -20.0)
            logits[:, 3] = 20.0
            return logits

    class Tiny:
        schedule = Schedule.linear()
        shape = (1, 32, 32)

        def denoise(self, x_t, t):
            return torch.zeros_like(x_t)

    out = sample_confidence(Tiny(), Always(), n=5, steps=3, batch_size=2)
    assert out["confident_share"] == 1.0 and out["label_counts"][3] == 5 and sum(out["label_counts"]) == 5
