"""Boltzmann Studio's engine: models, data, training, sampling and evaluation. Never imports Qt."""
from __future__ import annotations

import os

__version__ = "0.1.0"

# torch's OpenMP threads spin while they wait for each other. When anything else wants a core (the GUI
# thread, a second job, another program) a long-spinning team slows to a crawl: measured here, a 500-hidden
# PCD-1 RBM on 2 cores beside one busy process trained at 470 examples/s with the default spin and 8,200
# passive. But a training step is ~30 parallel regions microseconds apart, and a team that always sleeps
# between them pays a wake-up each time: on a quiet 2-core machine 19,000 examples/s passive against
# 38,000 with a short spin (GOMP_SPINCOUNT=10000; beside a busy process 12,800 vs 23,000 passive; in the
# studio 36,000 vs 19,000 while training, GUI ticks late by 11.6 ms at the 99th percentile vs 6.6 ms).
# So: passive, after a short spin. Both must be chosen before torch loads; the user's settings win.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from engine.engine import Engine, JobContext, JobError, JobHandle  # noqa: E402

__all__ = ["Engine", "JobContext", "JobError", "JobHandle", "__version__"]
