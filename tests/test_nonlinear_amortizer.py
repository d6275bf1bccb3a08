"""The shipped amortizer fine-tuned on non-linear families (its own card beside the default one)."""

import json

from lavps import api
from lavps.amortize.checkpoint import load_amortizer
from lavps.amortize.defaults import default_amortizer_path, nonlinear_amortizer_path
from lavps.amortize.network import trained_families
from lavps.priors.specs import prior_fingerprint


def test_nonlinear_amortizer_loads_for_the_mnist_prior_and_names_its_families():
    prior = api.load_prior("mnist")
    net = load_amortizer(nonlinear_amortizer_path(), prior=prior)  # checked against the prior's fingerprint
    assert net.info["prior"]["fingerprint"] == prior_fingerprint(prior)
    families = trained_families(net, (1, 32, 32))
    assert {"jpeg:10", "phase:2", "sr:2", "sr:4"} <= families and "hdr:2" not in families
    default = load_amortizer(default_amortizer_path(), prior=prior)
    assert net.config == default.config  # the same network, fine-tuned: the default's settings apply
    card = json.loads(nonlinear_amortizer_path().with_suffix(".json").read_text())
    ratios = card["held_out_loss_ratio"]
    for family in ("motion_blur:9:0.5", "sr:2", "sr:4", "box:0.3:0.5", "pixels:0.2"):  # the stated margin
        assert ratios["fine_tuned"][family][0] <= ratios["default"][family][0] + 0.02
