"""The one object through which the studio talks to the engine.

``EngineBridge`` is created on the GUI thread. It subscribes to the engine; each event (delivered on the
engine thread) is passed through a queued signal to the GUI thread and re-emitted there as a typed signal.
Commands (submit, pause, resume, cancel) go the other way. Panels never hold the engine or a model.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)


class JobFailedError(RuntimeError):
    """Raised by the bridge in tests (``raise_errors=True``) when a job fails."""


class EngineBridge(QObject):
    #: any event, after the typed signal below
    event_received = Signal(object)
    #: a job started (JobStarted)
    job_started = Signal(object)
    #: a job reported progress (Progress)
    progress_changed = Signal(object)
    #: a job reported metrics (Metrics)
    metrics_ready = Signal(object)
    #: a job produced an image (Frame)
    frame_ready = Signal(object)
    #: a video job said what it is about to stream (VideoStarted)
    video_started = Signal(object)
    #: a job wrote a log line (Log)
    log_ready = Signal(object)
    #: a job ended well (Finished)
    job_finished = Signal(object)
    #: a job failed (Failed): its message is meant for the user
    job_failed = Signal(object)
    #: a job was cancelled (Cancelled)
    job_cancelled = Signal(object)
    #: a job was paused or resumed (StateChanged)
    job_state_changed = Signal(object)
    #: a model was added, changed, renamed or removed (ModelChanged)
    model_changed = Signal(object)
    #: the set of running jobs changed; argument: number of jobs not yet ended
    busy_changed = Signal(int)

    _incoming = Signal(object)

    def __init__(self, engine: Any, parent: QObject | None = None, raise_errors: bool = False) -> None:
        super().__init__(parent)
        from engine import events as ev

        self._ev = ev
        self.engine = engine
        self.raise_errors = raise_errors
        self._handles: dict[int, Any] = {}
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self._typed = {
            ev.JobStarted: self.job_started, ev.Progress: self.progress_changed, ev.Metrics: self.metrics_ready,
            ev.Frame: self.frame_ready, ev.VideoStarted: self.video_started, ev.Log: self.log_ready,
            ev.Finished: self.job_finished, ev.Failed: self.job_failed, ev.Cancelled: self.job_cancelled,
            ev.StateChanged: self.job_state_changed, ev.ModelChanged: self.model_changed,
        }
        self._incoming.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = engine.subscribe(self._incoming.emit)

    # ----- commands -----
    def submit(self, fn: Callable, *args: Any, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None, job_name: str | None = None, **kwargs: Any) -> Any:
        """Run ``fn(ctx, ...)`` on the engine; ``on_done(result)`` / ``on_error(message)`` on the GUI thread."""
        handle = self.engine.submit(fn, *args, job_name=job_name, **kwargs)
        self._handles[handle.id] = handle
        if on_done or on_error:
            self._callbacks[handle.id] = (on_done, on_error)
        self.busy_changed.emit(self.active_jobs())
        return handle

    def pause(self, handle: Any) -> None:
        self.engine.pause(handle)

    def resume(self, handle: Any) -> None:
        self.engine.resume(handle)

    def step(self, handle: Any) -> None:
        self.engine.step(handle)

    def cancel(self, handle: Any) -> None:
        self.engine.cancel(handle)

    def cancel_all(self) -> None:
        for h in list(self._handles.values()):
            self.engine.cancel(h)

    def handle(self, job: int) -> Any:
        return self._handles.get(job)

    def active_jobs(self) -> int:
        return sum(1 for h in self._handles.values() if not h.done)

    def shutdown(self, timeout: float = 5.0) -> bool:
        self._unsubscribe()
        return self.engine.shutdown(timeout)

    # ----- events, on the GUI thread -----
    @Slot(object)
    def _dispatch(self, event: Any) -> None:
        ev = self._ev
        signal = self._typed.get(type(event))
        if signal is not None:
            signal.emit(event)
        self.event_received.emit(event)
        if isinstance(event, (ev.Finished, ev.Failed, ev.Cancelled)):
            self._handles.pop(event.job, None)
            on_done, on_error = self._callbacks.pop(event.job, (None, None))
            if isinstance(event, ev.Finished) and on_done is not None:
                on_done(event.result)
            elif isinstance(event, ev.Failed):
                if on_error is not None:
                    on_error(event.message)
                if self.raise_errors:
                    raise JobFailedError(f"{event.message}\n{event.traceback}")
            self.busy_changed.emit(self.active_jobs())
