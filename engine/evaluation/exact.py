"""Exact log partition function of a small RBM, by enumerating its smaller layer in chunks."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.models.rbm import StandardParams

MAX_UNITS = 25
CHUNK_BITS = 14  # 16384 states at a time keeps memory small at 784 visibles


def log_partition_exact(p: StandardParams, max_units: int = MAX_UNITS) -> float:
    """log Z, summing over the hidden layer (or the visible layer when it is smaller and binary)."""
    V, H = p.W.shape
    W, b, c = p.W.double(), p.b.double(), p.c.double()
    if p.sigma is None and V < H:
        _check(V, max_units, f"{V}x{H}")
        return _logsumexp_states(V, lambda v: v @ b + F.softplus(torch.addmm(c, v, W)).sum(1), W.device)
    _check(H, max_units, f"{V}x{H}")
    if p.sigma is None:
        return _logsumexp_states(H, lambda h: h @ c + F.softplus(torch.addmm(b, h, W.T)).sum(1), W.device)
    s = p.sigma.double()

    def gaussian_terms(h: Tensor) -> Tensor:
        Wh = h @ W.T
        return h @ c + Wh @ (b / s) + (Wh ** 2).sum(1) / 2
    return (_logsumexp_states(H, gaussian_terms, W.device)
            + (torch.log(s) + 0.5 * math.log(2 * math.pi)).sum().item())


def _check(n: int, max_units: int, shape: str) -> None:
    if n > max_units:
        raise ValueError(f"exact log Z enumerates a layer of at most {max_units} units; this RBM is {shape}. "
                         "Use AIS.")


def _logsumexp_states(n: int, terms, device) -> float:
    parts = []
    step = 1 << min(n, CHUNK_BITS)
    for start in range(0, 1 << n, step):
        parts.append(torch.logsumexp(terms(states(n, start, start + step, device)), 0))
    return torch.logsumexp(torch.stack(parts), 0).item()


def states(n: int, start: int, stop: int, device=None) -> Tensor:
    """Binary vectors ``start..stop-1`` of length n (bit i of the index is unit i), as float64 rows."""
    idx = torch.arange(start, stop, device=device)
    return ((idx[:, None] >> torch.arange(n, device=device)) & 1).double()


def all_states(n: int, device=None) -> Tensor:
    return states(n, 0, 1 << n, device)
