"""Shared by the benchmark scripts: the RESULT line and a queue-driven engine runner."""
from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def machine() -> dict:
    import torch

    return {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}


def result(figures: dict) -> None:
    """Print the one line that holds the benchmark's figures."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}
    print("RESULT " + json.dumps(clean), flush=True)
