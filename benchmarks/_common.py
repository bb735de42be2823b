"""Shared by the benchmark scripts: the RESULT line and a queue-driven engine runner."""
from __future__ import annotations

import json
import math
import os
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine  # noqa: E402,F401 - before any torch import: it makes torch's threads wait passively


def machine() -> dict:
    import torch

    info = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}
    if hasattr(os, "getloadavg"):  # other work on the machine skews timings: say how busy it was
        info["load_avg_1min"] = round(os.getloadavg()[0], 2)
    return info


def matmul_peak(n: int = 1024, reps: int = 20) -> float:
    """This machine's float32 matmul speed in flop/s (best of five): the ceiling other figures are
    compared with. Call it on the thread that does the measured work (``engine.call``): a torch op on
    another thread starts a second OpenMP team, which slows every team's waits from then on."""
    import time

    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    times = []
    for _ in range(5):
        a @ b
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        times.append((time.perf_counter() - t) / reps)
    return 2 * n ** 3 / min(times)


def run_args(p: Any, out: str | None = None) -> None:
    """The options every training benchmark takes: torch threads, seed, data root, device and, with
    ``out``, the folder (or a help text for it) where the trained models go."""
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root")
    p.add_argument("--device", default="cpu")
    if out is not None:
        p.add_argument("--out", help=out)


def schedule_args(p: Any, schedule: str = "constant", final: float = 0.1) -> None:
    """The learning-rate schedule options (the trainer's ``lr_schedule`` and ``lr_final``)."""
    from engine.training.trainer import SCHEDULES

    p.add_argument("--lr-schedule", default=schedule, choices=SCHEDULES,
                   help=f"how the learning rate changes over the run (default {schedule})")
    p.add_argument("--lr-final", type=float, default=final,
                   help=f"final learning rate of a decaying schedule, as a fraction of --lr (default {final})")


def set_threads(n: int) -> None:
    """Use ``n`` torch threads (0: leave torch's default)."""
    if n:
        import torch

        torch.set_num_threads(n)


def result(figures: dict) -> None:
    """Print the one line that holds the benchmark's figures."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}
    print("RESULT " + json.dumps(clean), flush=True)
