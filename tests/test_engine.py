"""The engine thread: interleaving, pause/resume, cancel, failures, shutdown, and no Qt in engine."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from engine import Engine, JobError
from engine import events as ev


class Recorder:
    """Collects events (they arrive on the engine thread) and waits for a condition on them."""

    def __init__(self, engine: Engine) -> None:
        self.events: list[ev.Event] = []
        self.cond = threading.Condition()
        engine.subscribe(self.put)

    def put(self, e: ev.Event) -> None:
        with self.cond:
            self.events.append(e)
            self.cond.notify_all()

    def wait_for(self, pred, timeout: float = 10.0):
        with self.cond:
            assert self.cond.wait_for(lambda: any(pred(e) for e in self.events), timeout), "event not seen"
            return next(e for e in self.events if pred(e))

    def of(self, job, kind):
        with self.cond:
            return [e for e in self.events if e.job == job and isinstance(e, kind)]


def counter(ctx, name: str, n: int, log: list):
    for i in range(n):
        log.append((name, i))
        yield ev.Progress(job=ctx.job, step=i + 1, total=n)
        t = time.perf_counter()
        while time.perf_counter() - t < 0.002:  # a small slice of real work
            pass
    return f"{name} done"


@pytest.fixture
def engine():
    e = Engine(device="cpu", slice_s=0.01)
    yield e
    assert e.shutdown(5)


def test_a_short_job_runs_between_slices_of_a_long_one(engine):
    rec = Recorder(engine)
    log: list = []
    long = engine.submit(counter, "long", 2000, log)
    rec.wait_for(lambda e: isinstance(e, ev.Progress) and e.job == long.id)
    short = engine.submit(counter, "short", 5, log)
    assert short.result(10) == "short done"
    long_steps_at_short_end = sum(1 for name, _ in log if name == "long")
    assert long_steps_at_short_end < 2000  # the short job did not wait for the long one to finish
    names = [name for name, _ in log]
    first_short = names.index("short")
    assert "long" in names[:first_short] and "long" in names[first_short:]  # interleaved
    engine.cancel(long)


def test_pause_stops_progress_and_resume_continues(engine):
    rec = Recorder(engine)
    log: list = []
    h = engine.submit(counter, "job", 100_000, log)
    rec.wait_for(lambda e: isinstance(e, ev.Progress) and e.job == h.id)
    engine.pause(h)
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state == "paused")
    n = len(log)
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        assert len(log) == n  # nothing runs while paused
    engine.resume(h)
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state == "running")
    with rec.cond:
        rec.cond.wait_for(lambda: len(log) > n + 5, 5)
    assert len(log) > n
    engine.cancel(h)
    assert h.wait(5) and h.state == "cancelled"


def test_cancel_ends_a_job_with_a_cancelled_event_and_runs_its_cleanup(engine):
    rec = Recorder(engine)
    cleaned = []

    def job(ctx):
        try:
            while True:
                yield None
        finally:
            cleaned.append(True)

    h = engine.submit(job)
    rec.wait_for(lambda e: isinstance(e, ev.JobStarted) and e.job == h.id)
    engine.cancel(h)
    rec.wait_for(lambda e: isinstance(e, ev.Cancelled) and e.job == h.id)
    assert cleaned == [True]
    with pytest.raises(JobError):
        h.result(1)


def test_an_exception_becomes_failed_and_the_thread_lives_on(engine):
    rec = Recorder(engine)

    def broken(ctx):
        yield None
        raise ZeroDivisionError("boom")

    h = engine.submit(broken)
    failed = rec.wait_for(lambda e: isinstance(e, ev.Failed) and e.job == h.id)
    assert "boom" in failed.message and "ZeroDivisionError" in failed.traceback
    assert engine.call(lambda ctx: 41 + 1, timeout=5) == 42  # still serving jobs
    assert engine.alive


def test_plain_function_jobs_return_their_value(engine):
    assert engine.call(lambda ctx, a, b=0: a + b, 2, b=3, timeout=5) == 5


def test_a_broken_subscriber_does_not_stop_the_engine(engine):
    engine.subscribe(lambda e: 1 / 0)
    assert engine.call(lambda ctx: "ok", timeout=5) == "ok"


def test_unsubscribe_stops_delivery(engine):
    got = []
    unsubscribe = engine.subscribe(got.append)
    engine.call(lambda ctx: None, timeout=5)
    n = len(got)
    unsubscribe()
    engine.call(lambda ctx: None, timeout=5)
    assert len(got) == n > 0


def test_shutdown_cancels_running_jobs_within_its_timeout():
    e = Engine(device="cpu")

    def forever(ctx):
        while True:
            yield None

    h = e.submit(forever)
    t = time.perf_counter()
    assert e.shutdown(timeout=5)
    assert time.perf_counter() - t < 5
    assert h.state == "cancelled" and not e.alive
    with pytest.raises(RuntimeError):
        e.submit(forever)


def test_events_carry_no_tensors_and_frames_are_read_only(engine):
    import numpy as np

    from engine import jobs

    rec = Recorder(engine)
    name = engine.call(jobs.create_model, "rbm", {"n_visible": 16, "n_hidden": 4}, timeout=10)["name"]
    h = engine.submit(jobs.sample, name, n_chains=3, steps=4, shape=(4, 4))
    h.result(10)
    frames = rec.of(h.id, ev.Frame)
    assert len(frames) == 4
    assert all(isinstance(f.image, np.ndarray) and not f.image.flags.writeable for f in frames)
    assert frames[-1].image.shape == (3, 4, 4)


def test_importing_and_running_the_engine_loads_no_qt():
    code = ("import sys, engine, engine.cli, engine.jobs, engine.training.trainer, engine.evaluation\n"
            "e = engine.Engine(device='cpu'); e.call(engine.jobs.create_model, 'rbm', {'n_visible': 4,"
            " 'n_hidden': 2}); e.shutdown()\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_importing_the_engine_chooses_short_openmp_spins_unless_the_user_did():
    """Passive OpenMP waits after a short spin, set before torch loads; the user's own settings win."""
    import os

    code = "import os, engine; print(os.environ['OMP_WAIT_POLICY'], os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["PASSIVE", "10000"]
    env.update(OMP_WAIT_POLICY="ACTIVE", GOMP_SPINCOUNT="5")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["ACTIVE", "5"]
