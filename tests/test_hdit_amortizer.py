"""`train-amortizer --arch hdit`: the paper's HDiT amortizer on palette inputs (zero-init, training, resume)."""

import json

import torch

from lavps.amortize.hdit import HDiTAmortizer
from lavps.amortize.network import build_network
from lavps.diffusion import Schedule
from lavps.imaging.io import write_png
from lavps.objective import bridge_prior
from lavps.operators import GaussianNoise, InverseProblem
from lavps.operators.spec import draw_operator
from lavps.priors.specs import load_prior
from lavps.samplers import MGDM, VISettings, WindowSchedule
from lavps.samplers.lavps import LAVPS


def test_untrained_hdit_amortizer_proposes_the_zero_shot_start_and_rebuilds_from_its_config():
    net = HDiTAmortizer((3, 32, 32), "tiny", "pinv")
    assert net.net.patch_in.proj.in_features == 9 * 4  # palette: x_t, x0, A^+ y (3 x RGB) per 2x2 patch
    g = torch.Generator().manual_seed(0)
    x_t, x0, y = (torch.randn(2, 3, 32, 32, generator=g) for _ in range(3))
    sched = Schedule.linear()
    bridge = bridge_prior(sched, x0, x_t, 100, 200)
    sig_t, sig_tau = sched.sigma(200).float().expand(2), sched.sigma(100).float().expand(2)
    mu, rho = net.candidate(bridge, x_t, x0, y, sig_t, sig_tau)
    assert torch.equal(mu, bridge.mean) and torch.equal(rho, bridge.log_std.expand_as(mu))
    rebuilt = build_network(json.loads(json.dumps(net.config)))
    assert isinstance(rebuilt, HDiTAmortizer) and rebuilt.config == net.config


def test_untrained_hdit_amortizer_in_lavps_reproduces_mgdm():
    prior = load_prior("hdit:random:tiny")
    op = draw_operator("sr:2", prior.shape)
    x = torch.rand(1, *prior.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    problem = InverseProblem(op.forward(x), op, GaussianNoise(0.05))
    vi = VISettings(steps=6, adam_steps=WindowSchedule(1, 1, 2), lr=WindowSchedule(0.03, 0.05, 2))
    ref = MGDM(prior, vi).sample(problem, 2, seed=3)
    out = LAVPS(prior, HDiTAmortizer(prior.shape, "tiny", "grad"), vi, guard=False, inner_steps=1)
    assert torch.equal(out.sample(problem, 2, seed=3).samples, ref.samples)


def test_train_amortizer_arch_hdit_on_colour_images_resumes(tmp_path, _cli):
    (tmp_path / "prior.json").write_text(
        json.dumps(
            {
                "image_size": 64,
                "patch_size": 4,
                "depths": [1, 1],
                "widths": [32, 64],
                "kernel_sizes": [7, 0],
                "d_head": 32,
                "mapping_width": 32,
            }
        )
    )
    (tmp_path / "imgs").mkdir()
    g = torch.Generator().manual_seed(2)
    for i in range(3):
        write_png(torch.rand(3, 64, 64, generator=g) * 2 - 1, tmp_path / "imgs" / f"{i}.png")
    train = ["train-amortizer", "--prior", f"hdit:random:{tmp_path / 'prior.json'}", "--arch", "hdit"]
    train += ["--operator", "sr:4", "--sigma", "0.05", "--window", "2", "--steps", "6", "--batch-size", "2"]
    train += ["--data", tmp_path / "imgs", "--out", tmp_path / "am", "--quiet", "--ckpt-every", "1"]
    r = _cli(*train, "--iterations", "2")
    assert r.returncode == 0, r.stderr
    r = _cli(*train, "--iterations", "3", "--resume")
    assert r.returncode == 0, r.stderr
    card = json.loads((tmp_path / "am" / "amortizer.json").read_text())
    assert card["steps"] == 3 and card["network"]["arch"] == "hdit", card.get("network")
