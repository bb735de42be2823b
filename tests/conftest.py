from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

from engine.settings import data_root  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))


def pytest_sessionstart(session):
    """Many tests read the shared data (MNIST, music, motion capture): without it, stop at once with one
    message that says where it was looked for, rather than with a hundred failures that say it each."""
    root = data_root()
    if not (root / "mnist.npz").is_file():
        pytest.exit(f"the test data is not at {root} (no mnist.npz there): put the shared data folder "
                    "beside the checkout as ../shared/data, or set BOLTZMANN_DATA=/path/to/shared/data",
                    returncode=4)


@pytest.fixture(scope="session")
def mnist_root():
    """The shared data folder; the MNIST tests need it (CI has ../shared beside the clone)."""
    root = data_root()
    assert (root / "mnist.npz").is_file(), f"MNIST not found under {root}: set BOLTZMANN_DATA"
    return root


@pytest.fixture
def engine():
    """An engine on the CPU, shut down (within 5 s) after the test."""
    from engine import Engine

    e = Engine(device="cpu")
    yield e
    assert e.shutdown(5)
