"""Under torchrun a rank's own error reaches the user as its `error: [rank R] ...` line, and a collective that
fails because that rank stopped is at most one short line on rank 0 (never gloo's message or a traceback)."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.distributed as dist

from lavps.distributed import PeerLost, World, barrier, is_peer_loss
from lavps.imaging.io import write_png

FAST = ["--sigma", "0.1", "--sampler", "mgdm", "--steps", "4", "--adam-out", "1", "--adam-in", "1", "--quiet"]

#: what gloo raises (a plain RuntimeError) in a rank whose peer exited
GLOO_LOST = (
    "[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:553] Connection closed by peer "
    "[127.0.0.1]:17607. This is typically caused by a remote worker crashing. Check the logs of the remote worker "
    "before reporting an error."
)

#: rank 0's line when a collective fails because another rank stopped
PEER_LINE = "error: [rank 0] stopped: another rank stopped first (its error line, if it printed one, is above)"

#: `lavps` with one image failing in the middle of the work, on the rank that restores it (rank 1 of 2 gets
#: images 1, 3, ... of the sorted list: `b` and `d`)
FAILING_LAVPS = textwrap.dedent(
    """
    import sys
    import time

    import lavps.workflows.folder as folder

    real = folder._restore_batch


    def failing(job, prior, sampler, images, names, refs, batch, out):
        if "b" in [names[i] for i in batch]:
            time.sleep(1)  # rank 0 is done by then, waiting for rank 1 in a collective
            raise ValueError("image b cannot be restored (a test's failure)")
        return real(job, prior, sampler, images, names, refs, batch, out)


    folder._restore_batch = failing
    from lavps.cli.main import main

    main(sys.argv[1:])
    """
)


def test_a_lost_peer_is_told_apart_from_a_ranks_own_error(monkeypatch):
    assert is_peer_loss(RuntimeError(GLOO_LOST)) and is_peer_loss(PeerLost("gone"))
    assert not is_peer_loss(RuntimeError("image b is 3x3 pixels")) and not is_peer_loss(ValueError(GLOO_LOST))

    def broken_barrier():
        raise RuntimeError(GLOO_LOST)

    monkeypatch.setattr(dist, "barrier", broken_barrier)
    with pytest.raises(PeerLost, match="another rank stopped during broken_barrier"):
        barrier(World(rank=0, size=2))


@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo")
def test_an_error_of_one_ranks_image_is_printed_by_that_rank(tmp_path, tiny_prior):
    for i, name in enumerate("abcd"):
        pixels = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(i)) * 2 - 1
        write_png(pixels, tmp_path / "in" / f"{name}.png")
    script = tmp_path / "failing_lavps.py"
    script.write_text(FAILING_LAVPS)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script)]
    cmd += ["restore", str(tmp_path / "in"), "--simulate", "denoise", "--prior", str(tiny_prior), *FAST]
    cmd += ["--batch-size", "1", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert "error: [rank 1] image b cannot be restored (a test's failure)" in errors, done.stderr[-3000:]
    others = [line for line in errors if not line.startswith("error: [rank 1]")]
    assert others in ([], [PEER_LINE])  # rank 0: stopped by torchrun (silent), or its collective failed
    assert "Connection closed by peer" not in done.stderr  # gloo's message never drowns the cause
    assert not (out / "b").exists() and not list(out.glob(".tmp-*"))  # nothing half-written
    assert (out / "run.json").is_file()  # a re-run resumes


def test_rank_0_says_the_cause_of_a_backend_error_that_is_not_a_lost_connection(monkeypatch):
    import lavps.distributed as distributed
    from lavps.cli.main import _said_here

    monkeypatch.setattr(distributed, "current_world", lambda: World(rank=0, size=2))
    lost = PeerLost(f"another rank stopped during barrier ({GLOO_LOST})")
    assert "error: " + _said_here(str(lost), lost) == PEER_LINE  # the peer's own line says why
    nccl = RuntimeError("ProcessGroupNCCL: NCCL error: unhandled system error (every rank, a set-up fault)")
    said = _said_here(str(nccl), nccl)
    assert said.startswith(PEER_LINE[len("error: ") :]) and said.endswith(
        "unhandled system error (every rank, a set-up fault)"
    )
    monkeypatch.setattr(distributed, "current_world", lambda: World(rank=1, size=2))
    assert _said_here(str(nccl), nccl) is None  # rank 0 says it once
    own = ValueError("image d is 3x3 pixels")
    assert _said_here(str(own), own) == "[rank 1] image d is 3x3 pixels"
