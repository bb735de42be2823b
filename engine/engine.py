"""The engine: one worker thread that owns every model and steps jobs round-robin.

A job is a function ``fn(ctx, *args, **kwargs)`` run on the engine thread. If it returns a generator, the
engine steps that generator in slices of at most ``slice_s`` seconds, taking turns with the other active
jobs, so an interactive request (sample, inpaint) is served between the slices of a long training run.
Whatever the generator yields that is an :class:`~engine.events.Event` is delivered to subscribers; its
return value becomes the job's result. A plain function's return value is the result at once.

Pause, resume and cancel are thread-safe flags checked between steps; an exception in a job becomes a
:class:`~engine.events.Failed` event and never kills the thread.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import traceback
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from engine import events as ev
from engine.registry import Registry

log = logging.getLogger(__name__)

QUEUED, RUNNING, PAUSED, FINISHED, FAILED, CANCELLED = (
    "queued", "running", "paused", "finished", "failed", "cancelled")
_DONE_STATES = (FINISHED, FAILED, CANCELLED)


class JobError(RuntimeError):
    """Raised by :meth:`JobHandle.result` for a job that failed or was cancelled."""


@dataclass(eq=False)
class JobHandle:
    """What :meth:`Engine.submit` returns: the job's id, state and (once done) result."""

    id: int
    name: str
    state: str = QUEUED
    _result: Any = None
    _error: str | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _pause: threading.Event = field(default_factory=threading.Event, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _step: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def paused(self) -> bool:
        """Pause was asked for (and not undone)."""
        return self._pause.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The job's return value; raises :class:`JobError` if it failed, was cancelled or timed out."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.name!r} still running after {timeout} s")
        if self.state != FINISHED:
            raise JobError(self._error or f"job {self.name!r} {self.state}")
        return self._result


@dataclass
class JobContext:
    """What a job sees of the engine: its id, the model registry, the device and a cancel flag."""

    job: int
    engine: Engine
    registry: Registry
    device: str
    _handle: JobHandle

    @property
    def cancelled(self) -> bool:
        return self._handle._cancel.is_set()

    def emit(self, event: ev.Event) -> None:
        """Deliver an event now (for jobs that report from inside a plain function)."""
        self.engine._emit(event)


@dataclass
class _Job:
    handle: JobHandle
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    gen: Iterator | None = None
    wake_at: float = 0.0  # set by a yielded ev.Wait


class Engine:
    """One background thread holding all models; see the module docstring."""

    def __init__(self, device: str = "auto", slice_s: float = 0.05, registry: Registry | None = None,
                 name: str = "engine") -> None:
        from engine.device import resolve_device

        self.device = resolve_device(device)
        self.slice_s = slice_s
        self.registry = registry if registry is not None else Registry()
        self.registry.on_change = self._registry_changed
        self._ids = itertools.count(1)
        self._inbox: queue.Queue[_Job] = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._subscribers: list[Callable[[ev.Event], None]] = []
        self._sub_lock = threading.Lock()
        self._jobs: list[_Job] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ----- public API, callable from any thread -----
    def submit(self, fn: Callable[..., Any], *args: Any, job_name: str | None = None, pause_at_frame: bool = False,
               **kwargs: Any) -> JobHandle:
        """Queue ``fn(ctx, *args, **kwargs)`` to run on the engine thread; returns its handle.

        ``pause_at_frame``: run only until the job's first Frame, then pause it (:meth:`step` from a
        standstill; asked for here, before the job can run, so no frame slips past).
        """
        if self._stop.is_set():
            raise RuntimeError("the engine has been shut down")
        handle = JobHandle(next(self._ids), job_name or getattr(fn, "__name__", "job"))
        if pause_at_frame:
            handle._step.set()
        self._inbox.put(_Job(handle, fn, args, kwargs))
        self._wake.set()
        return handle

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``fn(ctx, ...)`` on the engine thread and wait for its result."""
        return self.submit(fn, *args, **kwargs).result(timeout)

    def pause(self, handle: JobHandle) -> None:
        handle._pause.set()
        self._wake.set()

    def resume(self, handle: JobHandle) -> None:
        handle._pause.clear()
        self._wake.set()

    def step(self, handle: JobHandle) -> None:
        """Run a (paused) job until its next Frame, then pause it again: "step once" in a player."""
        handle._step.set()
        handle._pause.clear()
        self._wake.set()

    def cancel(self, handle: JobHandle) -> None:
        handle._cancel.set()
        self._wake.set()

    def subscribe(self, callback: Callable[[ev.Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on the engine thread for every event; returns an unsubscribe function.

        Callbacks must be quick and thread-safe: put the event on a queue or re-emit it as a queued Qt
        signal, never touch a widget.
        """
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def jobs(self) -> list[JobHandle]:
        return [j.handle for j in list(self._jobs)]

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel every job and stop the thread; True if it ended within ``timeout`` seconds."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ----- engine thread -----
    def _emit(self, event: ev.Event) -> None:
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for cb in subscribers:
            try:
                cb(event)
            except Exception:  # a broken subscriber must not stop the engine
                log.exception("event subscriber %r failed", cb)

    def _registry_changed(self, name: str, info: dict | None) -> None:
        self._emit(ev.ModelChanged(job=ev.NO_JOB, model=name, info=info))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._take_new_jobs()
            now = time.perf_counter()
            ready = [j for j in self._jobs if not self._check_flags(j)]
            runnable = [j for j in ready if j.wake_at <= now]
            if not runnable:
                timeout = min([j.wake_at - now for j in ready] + [0.1 if self._jobs else 1.0])
                self._wake.wait(max(timeout, 0.0))
                self._wake.clear()
                continue
            for job in runnable:
                if self._stop.is_set():
                    break
                self._step_slice(job)
        for job in list(self._jobs):
            self._end(job, CANCELLED)
        while True:  # jobs submitted during shutdown are cancelled too
            try:
                job = self._inbox.get_nowait()
            except queue.Empty:
                break
            self._end(job, CANCELLED)

    def _take_new_jobs(self) -> None:
        while True:
            try:
                job = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._jobs.append(job)

    def _check_flags(self, job: _Job) -> bool:
        """Apply cancel/pause requests; True if the job must not run now."""
        h = job.handle
        if h._cancel.is_set():
            self._end(job, CANCELLED)
            return True
        if h._pause.is_set():
            if h.state == RUNNING:
                h.state = PAUSED
                self._emit(ev.StateChanged(job=h.id, state=PAUSED))
            return True
        if h.state == PAUSED:
            h.state = RUNNING
            self._emit(ev.StateChanged(job=h.id, state=RUNNING))
        return False

    def _step_slice(self, job: _Job) -> None:
        h = job.handle
        try:
            if job.gen is None:
                h.state = RUNNING
                self._emit(ev.JobStarted(job=h.id, name=h.name))
                ctx = JobContext(h.id, self, self.registry, self.device, h)
                out = job.fn(ctx, *job.args, **job.kwargs)
                if not isinstance(out, types.GeneratorType):
                    self._end(job, FINISHED, result=out)
                    return
                job.gen = out
            deadline = time.perf_counter() + self.slice_s
            while True:
                item = next(job.gen)
                if isinstance(item, ev.Event):
                    if isinstance(item, ev.Frame) and h._step.is_set():
                        h._step.clear()
                        h._pause.set()  # before the event leaves, so a listener sees the job pausing
                    self._emit(item)
                elif isinstance(item, ev.Wait):
                    job.wake_at = time.perf_counter() + item.seconds
                    return
                if time.perf_counter() >= deadline or h._cancel.is_set() or h._pause.is_set():
                    return
        except StopIteration as stop:
            self._end(job, FINISHED, result=stop.value)
        except Exception as exc:
            self._end(job, FAILED, error=exc, tb=traceback.format_exc())

    def _end(self, job: _Job, state: str, result: Any = None, error: BaseException | None = None,
             tb: str = "") -> None:
        h = job.handle
        if job.gen is not None and state == CANCELLED:
            try:
                job.gen.close()  # runs the job's finally blocks
            except Exception:
                log.exception("job %s failed while closing", h.name)
        h.state = state
        if job in self._jobs:
            self._jobs.remove(job)
        if state == FINISHED:
            h._result = result
            self._emit(ev.Finished(job=h.id, result=result))
        elif state == FAILED:
            h._error = str(error) or type(error).__name__
            self._emit(ev.Failed(job=h.id, message=h._error, traceback=tb))
        else:
            h._error = f"job {h.name!r} was cancelled"
            self._emit(ev.Cancelled(job=h.id))
        h._done.set()
