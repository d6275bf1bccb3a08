import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    # Tests are small: one thread keeps them fast and deterministic on the 2-core CI machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
