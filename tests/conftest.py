from dataclasses import dataclass

import pytest
import torch

from lavps.cli.main import main
from lavps.priors.specs import resolve_prior
from lavps.training import resolve_family


@pytest.fixture(autouse=True)
def _single_thread():
    # Tests are small: one thread keeps them fast and deterministic on the 2-core CI machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def gmm4_preset():
    """A 4-dimensional Gaussian-mixture prior with fresh weights per batch (amortizer training tests)."""
    return resolve_prior("gmm:4:fresh")


@pytest.fixture(scope="session")
def gmm4_family():
    """One-row dense operators for gmm4_preset's signals."""
    return resolve_family("dense:1", (4,))


@pytest.fixture(scope="session")
def tiny_prior(tmp_path_factory):
    """A saved 1x8x8 image prior (random weights): fast restores of the CLI's image paths."""
    from helpers import tiny_image_prior
    from lavps.priors.image_unet import save_image_prior

    prior = tiny_image_prior(1, 8)
    return save_image_prior(prior, tmp_path_factory.mktemp("prior") / "tiny.safetensors", {"note": "test prior"})


@dataclass
class _Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def _cli(capsys):
    """Run the CLI in-process (one interpreter: fast) and capture its exit code and output."""

    def run(*args):
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out = capsys.readouterr()
        return _Run(code, out.out, out.err)

    return run
