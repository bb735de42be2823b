"""Choosing the torch device: ``auto`` takes CUDA when there is one, else the CPU."""
from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> str:
    name = (name or "auto").lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but this torch build sees no CUDA GPU; "
                         "use --device cpu or auto")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}: use auto, cpu or cuda")
    return name
