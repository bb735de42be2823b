"""Datasets: a spec (a small dict, saved with the model) in, numpy arrays out.

``{"name": "mnist", "binarize": "threshold"}`` or ``{"name": "folder", "path": "...", "size": [28, 28]}``;
common keys: ``root`` (data folder), ``limit`` (first N training examples), ``valid`` (hold out the last N
training examples for validation curves). Sequence data (``bouncing_balls``, ``occluded_moving_mnist``,
``moving_mnist``, ``mocap_mit``, ``bvh``) comes as (N, T, D) windows: see ``bouncing_balls.py``,
``moving_mnist.py`` and ``mocap.py``. Music (``jsb_chorales``, ``nottingham``,
``piano_midi_de``, ``musedata``, ``midi_folder``) comes as whole pieces of different lengths, a
:class:`~engine.data.sequences.Sequences` per split (or (N, T, D) windows with ``window``): see ``music.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from engine.data.sequences import Sequences
from engine.settings import ENV_DATA


class DataError(ValueError):
    """Data that is missing or unreadable; the message says which file and what to do."""


@dataclass
class Dataset:
    """Examples as float32 rows: (N, D) for images, (N, T, D) for sequences (video frames, motion, piano
    rolls; fixed-length windows), or :class:`~engine.data.sequences.Sequences` for sequences of different
    lengths (whole pieces of music: ``len()``, indexing on the first axis, ``ndim`` 3, ``shape[-1]`` D, and
    ``padded()`` / ``windows()`` / ``frames`` to batch them)."""

    name: str
    train: np.ndarray | Sequences  # (N, D) or (N, T, D) float32, or N sequences (T_i, D)
    test: np.ndarray | Sequences
    valid: np.ndarray | Sequences
    shape: tuple[int, ...]  # how one example (one frame of a sequence) is displayed, e.g. (28, 28)
    spec: dict[str, Any] = field(default_factory=dict)
    #: what a model or a view needs to map data back (e.g. mocap mean/std/kept channels/skeleton, fps)
    meta: dict[str, Any] = field(default_factory=dict)
    #: for endless data (the bouncing-balls simulator): ``regenerate(epoch)`` returns a fresh training
    #: array of the same shape, drawn from the epoch's seed; the trainer calls it at each new epoch
    regenerate: Callable[[int], np.ndarray] | None = None
    #: True when ``regenerate`` draws the same examples afresh, in the same order (new motion for the same
    #: digits), so ``meta["labels"]["train"]`` still labels them
    regenerate_keeps_labels: bool = False

    @property
    def dim(self) -> int:
        return int(self.train.shape[-1])

    @property
    def is_sequence(self) -> bool:
        return self.train.ndim == 3

    def describe(self) -> dict[str, Any]:
        return {"spec": dict(self.spec), "shape": list(self.shape), "n_train": len(self.train),
                "n_valid": len(self.valid), "n_test": len(self.test)}


def missing_file(path: Any, what: str) -> DataError:
    return DataError(f"{what} not found: {path}. Put the file there, or point the data root at the folder "
                     f"that holds it (--data-root, ${ENV_DATA}, or Preferences).")


def binarize(x: np.ndarray, how: str, seed: int = 0) -> np.ndarray:
    """``threshold``: pixel > 0.5; ``stochastic``: one fixed Bernoulli draw per pixel (seeded, as in
    Salakhutdinov & Murray 2008); ``none``: intensities in [0, 1]."""
    if how == "threshold":
        return (x > 0.5).astype(np.float32)
    if how == "stochastic":
        return (np.random.default_rng(seed).random(x.shape, dtype=np.float32) < x).astype(np.float32)
    if how == "none":
        return x.astype(np.float32)
    raise DataError(f"unknown binarisation {how!r}: use threshold, stochastic or none")


def _split(train: np.ndarray, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    n_valid = int(spec.get("valid", 0) or 0)
    if n_valid >= len(train):
        raise DataError(f"valid={n_valid} leaves no training examples (there are {len(train)})")
    if n_valid:
        train, valid = train[:-n_valid], train[-n_valid:]
    else:
        valid = train[:0]
    limit = int(spec.get("limit", 0) or 0)
    return (train[:limit] if limit else train), valid


def read_mnist(root: Any = None, keys: tuple[str, ...] = ("x_train", "x_test")) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of ``mnist.npz`` in the data root (``x_train`` (60000, 28, 28) and ``x_test``
    uint8, ``y_train`` and ``y_test`` the labels), or a DataError that names the file and the fix."""
    from engine.settings import data_root

    path = data_root(root) / "mnist.npz"
    if not path.is_file():
        raise missing_file(path, "MNIST (mnist.npz)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in keys}
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path} is not a readable MNIST npz (expected {' and '.join(keys)}): {exc}") from None


def load_mnist(spec: dict) -> Dataset:
    z = read_mnist(spec.get("root"))
    x_train, x_test = z["x_train"], z["x_test"]
    how = spec.get("binarize", "stochastic")
    seed = int(spec.get("seed", 0))
    train = binarize(x_train.reshape(len(x_train), -1) / np.float32(255), how, seed)
    test = binarize(x_test.reshape(len(x_test), -1) / np.float32(255), how, seed + 1)
    train, valid = _split(train, spec)
    return Dataset("mnist", train, test, valid, (28, 28), spec)


def load_folder(spec: dict) -> Dataset:
    from engine.data.image_folder import load_image_folder

    return load_image_folder(spec)


def load_bouncing_balls(spec: dict) -> Dataset:
    from engine.data.bouncing_balls import load_bouncing_balls as load

    return load(spec)


def load_mocap_mit(spec: dict) -> Dataset:
    from engine.data.mocap import load_mit

    return load_mit(spec)


def load_bvh(spec: dict) -> Dataset:
    from engine.data.mocap import load_bvh_dataset

    return load_bvh_dataset(spec)


def load_occluded_moving_mnist(spec: dict) -> Dataset:
    from engine.data.moving_mnist import load_occluded_moving_mnist as load

    return load(spec)


def load_moving_mnist(spec: dict) -> Dataset:
    from engine.data.moving_mnist import load_moving_mnist as load

    return load(spec)


def load_polyphonic(spec: dict) -> Dataset:
    from engine.data.music import load_polyphonic as load

    return load(spec)


def load_midi_folder(spec: dict) -> Dataset:
    from engine.data.music import load_midi_folder as load

    return load(spec)


LOADERS: dict[str, Callable[[dict], Dataset]] = {"mnist": load_mnist, "folder": load_folder,
                                                 "bouncing_balls": load_bouncing_balls,
                                                 "occluded_moving_mnist": load_occluded_moving_mnist,
                                                 "moving_mnist": load_moving_mnist,
                                                 "mocap_mit": load_mocap_mit, "bvh": load_bvh,
                                                 "jsb_chorales": load_polyphonic, "nottingham": load_polyphonic,
                                                 "piano_midi_de": load_polyphonic, "musedata": load_polyphonic,
                                                 "midi_folder": load_midi_folder}
#: the datasets of music (piano rolls): a model trained on one of them composes in the piano roll
MUSIC_DATASETS = frozenset(k for k, f in LOADERS.items() if f in (load_polyphonic, load_midi_folder))


def normalize_spec(spec: dict | str) -> dict:
    return {"name": spec} if isinstance(spec, str) else dict(spec)


_CACHE: dict[str, Dataset] = {}
_CACHE_SIZE = 3


def cached_dataset(spec: dict | str) -> Dataset:
    """:func:`load_dataset`, keeping the last few datasets in memory (engine thread only): the studio asks
    for the same data again and again (samples from data, filter histograms, evaluation)."""
    import json

    key = json.dumps(normalize_spec(spec), sort_keys=True, default=str)
    if key not in _CACHE:
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = load_dataset(spec)
    return _CACHE[key]


def load_dataset(spec: dict | str) -> Dataset:
    spec = normalize_spec(spec)
    name = spec.get("name")
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(LOADERS)}")
    return LOADERS[name](spec)
