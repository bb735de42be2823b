"""A tiny synthetic music dataset for the tests of the models of music: arpeggios on 8 pitches."""
from __future__ import annotations

import numpy as np

from engine.data import Dataset
from engine.data.sequences import Sequences


def arpeggios(n: int, seed: int, V: int = 8, lengths: tuple[int, int] = (6, 30)) -> Sequences:
    """``n`` pieces of ``lengths`` frames: a note climbing one step a frame with a fifth above it, from a
    random start."""
    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(n):
        T, s = int(rng.integers(lengths[0], lengths[1] + 1)), int(rng.integers(V))
        x = np.zeros((T, V), np.float32)
        for t in range(T):
            x[t, (s + t) % V] = x[t, (s + t + 4) % V] = 1
        pieces.append(x)
    return Sequences.from_list(pieces)


def music_data(sizes: tuple[int, int, int] = (60, 15, 10), lengths: tuple[int, int] = (6, 30)) -> Dataset:
    """Train, valid and test splits of arpeggios, frames shown as (1, 8)."""
    train, valid, test = (arpeggios(n, seed, lengths=lengths) for seed, n in enumerate(sizes))
    return Dataset("arpeggios", train, valid, test, (1, 8), {"name": "arpeggios"})
