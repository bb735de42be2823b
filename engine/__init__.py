"""Boltzmann Studio's engine: models, data, training, sampling and evaluation. Never imports Qt."""
from __future__ import annotations

__version__ = "0.1.0"

from engine.engine import Engine, JobContext, JobError, JobHandle  # noqa: E402

__all__ = ["Engine", "JobContext", "JobError", "JobHandle", "__version__"]
