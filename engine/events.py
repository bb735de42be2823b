"""Events that leave the engine thread.

Every event is a frozen dataclass holding only plain values and numpy arrays, never tensors, so a
subscriber on another thread (the studio's bridge, the CLI) can keep it without locking anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

#: ``job`` of events that belong to no job (for example a change in the model registry).
NO_JOB = -1


@dataclass(frozen=True, kw_only=True)
class Event:
    job: int


@dataclass(frozen=True, kw_only=True)
class JobStarted(Event):
    name: str


@dataclass(frozen=True, kw_only=True)
class StateChanged(Event):
    """A job was paused or resumed."""

    state: str  # "running" | "paused"


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    step: int
    total: int
    rate: float = 0.0  # items (examples, frames, AIS steps) a second
    unit: str = "it"
    eta_s: float | None = None
    epoch: float | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class Metrics(Event):
    """Scalar monitors at one training step; ``split`` is "train" or "valid"."""

    step: int
    epoch: float
    values: Mapping[str, float]
    split: str = "train"


@dataclass(frozen=True, kw_only=True)
class Frame(Event):
    """An image (H, W) or a stack of images (N, H, W), floats in [0, 1]; or, in a video whose
    :class:`VideoStarted` says ``layout="skeleton"``, joint positions (N, J, 3) of N figures.
    ``temperature``: the temperature of the step that drew the image (a walkback walk), else None."""

    step: int
    image: np.ndarray
    label: str = ""
    index: int = -1  # a video's frame number (0 is the first generated frame); -1 outside videos
    temperature: float | None = None


@dataclass(frozen=True, kw_only=True)
class VideoStarted(Event):
    """Sent by a video job before its first Frame: how to draw its frames and what to compare them with.

    ``layout`` is "image" (frames (N, *shape)) or "skeleton" (joint positions (N, J, 3), vertical axis 1,
    drawn as ``bones``, (parent, child) joint pairs). ``real`` is a real sequence (T, *frame) in the same
    layout, or None when the model knows no data; its first ``prime`` frames started the generated videos,
    whose frame 0 follows them. ``fps`` is the data's own frame rate (0 if unknown).
    """

    model: str
    layout: str
    shape: tuple[int, ...]
    n_frames: int
    n_seqs: int = 1
    gibbs_steps: int = 1
    prime: int = 0
    real: np.ndarray | None = None
    bones: tuple[tuple[int, int], ...] = ()
    fps: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Log(Event):
    message: str
    level: str = "info"


@dataclass(frozen=True, kw_only=True)
class Finished(Event):
    result: Any = None


@dataclass(frozen=True, kw_only=True)
class Failed(Event):
    message: str
    traceback: str = ""


@dataclass(frozen=True, kw_only=True)
class Cancelled(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class ModelChanged(Event):
    """A model in the registry was added, changed, renamed or removed (``info`` is None when removed)."""

    model: str
    info: Mapping[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class Wait:
    """Not an event: a job yields ``Wait(seconds)`` to give the engine thread away until then (a job
    that paces itself, like sampling at a chosen frame rate, then costs no CPU while it waits)."""

    seconds: float


def frozen_array(a: np.ndarray) -> np.ndarray:
    """A read-only copy, so an event's payload cannot change under a subscriber."""
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a
