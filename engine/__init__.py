"""Boltzmann Studio's engine: models, data, training, sampling and evaluation. Never imports Qt."""
from __future__ import annotations

import os

__version__ = "0.1.0"

# torch's OpenMP threads spin while they wait for each other. When anything else wants a core (the GUI
# thread, a second job, another program) a spinning team slows to a crawl: measured here, a 500-hidden
# PCD-1 RBM on 2 cores beside one busy process trained at 470 examples/s spinning and 8,200 passive
# (11,400 on one thread). Passive waiting must be chosen before torch loads; the user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from engine.engine import Engine, JobContext, JobError, JobHandle  # noqa: E402

__all__ = ["Engine", "JobContext", "JobError", "JobHandle", "__version__"]
