"""Moving MNIST videos: the occluded set of the Recurrent Ladder paper, and Srivastava's plain one.

``occluded_moving_mnist`` (Prémont-Schwarz et al., NIPS 2017): each MNIST digit, downscaled to 14x14 (the mean
of each 2x2 block), moves on a 32x32 canvas with one of the eight velocities (±1, ±2) / (±2, ±1) pixels per
frame for ``T`` (5) frames, bouncing off the edges; then a grid of white bars, 4 px wide with 8 px between them
(a period of 12 px, shifted by ``bar_phase``), is drawn at 1.0 over every frame, in the same place in all
frames. One sequence per digit, in MNIST order: training sequence ``i`` shows MNIST training digit ``i``
(``valid`` holds out the last digits and ``limit`` keeps the first ones, as for ``mnist``), test sequence
``i`` test digit ``i`` (all 10000, or the first ``n_test``). The motion of every digit is drawn once per split
from ``seed``, so a sequence does not depend on ``limit`` or ``valid``, and ``occlude: false`` gives the same
videos without the bars (the clean targets behind the occluded inputs). With ``fresh_motion`` the training
digits move anew at every epoch after the first (``regenerate``), each still labelled with its digit.

``moving_mnist`` (Srivastava, Mansimov & Salakhutdinov, ICML 2015): ``n_digits`` (2) random 28x28 digits on a
64x64 canvas for ``T`` (20) frames, each with a uniform random direction and a speed uniform in ``speed``
(2 to 5 px per frame; Srivastava's own is 3.6), bouncing, overlapping digits combined by max.

A bounce reflects the position about the wall and flips that velocity component. Positions are computed in
closed form (a triangle wave of the unbounded path) and digits are pasted into strided windows of the canvas,
so generation is vectorised over sequences and frames. ``meta["labels"][split]`` holds the digits' labels and
``meta["digits"][split]`` their indices in the MNIST split ((N,) for the occluded set, (N, n_digits) for
``moving_mnist``), aligned with the sequences.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.data import Dataset, DataError, _split, read_mnist

#: the eight velocities of the occluded set, as (rows, columns) per frame
VELOCITIES = np.array([(a * i, b * j) for i, j in ((1, 2), (2, 1)) for a in (1, -1) for b in (1, -1)])
BAR_WIDTH, BAR_GAP = 4, 8
_TRAIN_TAG, _TEST_TAG = 1, 2  # first word of the seed entropy, so train and test draws never meet
_CHUNK = 2000  # sequences rendered at once: bounds the temporaries, not the speed


def bounce(path: np.ndarray, limit: float) -> np.ndarray:
    """Positions in [0, ``limit``] of a point that follows the unbounded ``path`` and is reflected at the
    walls: the same as stepping and reflecting the position (and flipping the velocity) at each wall."""
    return limit - np.abs(limit - np.mod(path, 2 * limit))


def downscale(x: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 digits -> (N, 14, 14) float32 in [0, 1], each pixel the mean of a 2x2 block."""
    s = x.astype(np.uint16)  # sums of four bytes, exact (and much faster than a mean over strided axes)
    s = s[:, 0::2] + s[:, 1::2]
    return (s[:, :, 0::2] + s[:, :, 1::2]).astype(np.float32) / np.float32(4 * 255)


def bar_mask(size: int = 32, phase: int = 0) -> np.ndarray:
    """(size, size) bool: True on the occluding bars, rows and columns ``k`` with
    ``(k - phase) mod 12 < 4``."""
    on = (np.arange(size) - phase) % (BAR_WIDTH + BAR_GAP) < BAR_WIDTH
    return on[:, None] | on[None, :]


def paste(canvas: np.ndarray, sprites: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """Put ``sprites`` (..., h, w) (broadcast against ``rows``) with their top-left corners at ``rows``,
    ``cols`` (...) into ``canvas`` (..., H, W), in place, keeping the max where they overlap what is there."""
    windows = sliding_window_view(canvas, sprites.shape[-2:], axis=(-2, -1), writeable=True)
    key = (*np.indices(rows.shape, sparse=True), rows, cols)
    windows[key] = np.maximum(windows[key], sprites)  # one window per frame: no two share a pixel


def occluded_sequences(digits: np.ndarray, positions: np.ndarray, size: int = 32, occlude: bool = True,
                       phase: int = 0) -> np.ndarray:
    """Videos (N, T, size * size) float32 of ``digits`` (N, h, w) in [0, 1] at the top-left ``positions``
    (N, T, 2) (rows, columns), with the bars drawn over them when ``occlude``."""
    n, T = positions.shape[:2]
    out = np.zeros((n, T, size, size), np.float32)
    bars = bar_mask(size, phase).astype(np.float32)
    for a in range(0, n, _CHUNK):
        chunk, p = out[a:a + _CHUNK], positions[a:a + _CHUNK]
        paste(chunk, digits[a:a + _CHUNK, None], p[..., 0], p[..., 1])
        if occlude:  # pixels are at most 1, so the max puts 1.0 on the bars and nothing else
            np.maximum(chunk, bars, out=chunk)
    return out.reshape(n, T, size * size)


def occluded_motion(n: int, T: int, rng: np.random.Generator, limit: int = 32 - 14) -> np.ndarray:
    """Top-left positions (n, T, 2) (rows, columns): uniform integer starts in [0, limit], one of
    :data:`VELOCITIES` each, bouncing."""
    start = rng.integers(0, limit + 1, (n, 2))
    velocity = VELOCITIES[rng.integers(0, len(VELOCITIES), n)]
    return bounce(start[:, None] + velocity[:, None] * np.arange(T)[:, None], limit)


def _ints(spec: dict, name: str, **defaults: int) -> list[int]:
    try:
        return [int(spec.get(k, v)) for k, v in defaults.items()]
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: {', '.join(defaults)} must be integers ({exc})") from None


def _flag(value: Any) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)


def load_occluded_moving_mnist(spec: dict) -> Dataset:
    """Spec keys: ``root``, ``limit``, ``valid``, ``n_test`` (first N test digits, 0 = all), ``T`` (5),
    ``seed`` (0), ``occlude`` (true), ``bar_phase`` (0), ``fresh_motion`` (false: true draws new motion for the
    same training digits at every epoch after the first, keeping their labels). Frames (N, T, 1024);
    ``meta["bars"]`` is the (1024,) bool mask of the occluded pixels."""
    T, seed, phase, n_test = _ints(spec, "occluded_moving_mnist", T=5, seed=0, bar_phase=0, n_test=0)
    if T < 1 or n_test < 0:
        raise DataError("occluded_moving_mnist needs T >= 1 and n_test >= 0")
    occlude = _flag(spec.get("occlude", True))
    z = read_mnist(spec.get("root"), ("x_train", "y_train", "x_test", "y_test"))
    n_source = {"train": len(z["x_train"]), "test": len(z["x_test"])}

    def motion(split: str, *entropy: int) -> np.ndarray:
        tag = _TRAIN_TAG if split == "train" else _TEST_TAG
        return occluded_motion(n_source[split], T, np.random.default_rng([tag, seed, *entropy]))

    train, valid = _split(np.arange(len(z["x_train"])), spec)
    index = {"train": train, "valid": valid, "test": np.arange(len(z["x_test"]))[:n_test or None]}
    source = {"train": "train", "valid": "train", "test": "test"}
    moves = {"train": motion("train"), "test": motion("test")}
    digits = {k: downscale(z[f"x_{source[k]}"][i]) for k, i in index.items()}
    frames = {k: occluded_sequences(digits[k], moves[source[k]][i], 32, occlude, phase) for k, i in index.items()}
    meta = {"labels": {k: z[f"y_{source[k]}"][i].astype(np.int64) for k, i in index.items()},
            "digits": index, "bars": bar_mask(32, phase).reshape(-1), "occluded": occlude, "T": T}
    out = Dataset("occluded_moving_mnist", frames["train"], frames["test"], frames["valid"], (32, 32), spec, meta)
    if _flag(spec.get("fresh_motion", False)):
        out.regenerate = lambda epoch: frames["train"] if int(epoch) == 0 else occluded_sequences(
            digits["train"], motion("train", int(epoch))[index["train"]], 32, occlude, phase)
        out.regenerate_keeps_labels = True
    return out


def moving_sequences(digits: np.ndarray, n: int, T: int, n_digits: int, rng: np.random.Generator,
                     speed: tuple[float, float] = (2.0, 5.0), size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``n`` videos (n, T, size * size) float32 of ``n_digits`` random ``digits`` (uint8 (M, h, w)) each,
    and the digits' indices (n, n_digits)."""
    h = digits.shape[-1]
    index = rng.integers(0, len(digits), (n, n_digits))
    start = rng.uniform(0, size - h, (n, n_digits, 2))
    angle = rng.uniform(0, 2 * np.pi, (n, n_digits))
    velocity = rng.uniform(*speed, (n, n_digits))[..., None] * np.stack([np.sin(angle), np.cos(angle)], -1)
    path = start[:, None] + velocity[:, None] * np.arange(T)[:, None, None]  # (n, T, n_digits, 2)
    positions = np.rint(bounce(path, size - h)).astype(np.int64)
    out = np.zeros((n, T, size, size), np.float32)
    for a in range(0, n, _CHUNK):
        for d in range(n_digits):
            sprites = digits[index[a:a + _CHUNK, d], None] / np.float32(255)
            p = positions[a:a + _CHUNK, :, d]
            paste(out[a:a + _CHUNK], sprites, p[..., 0], p[..., 1])
    return out.reshape(n, T, size * size), index


def load_moving_mnist(spec: dict) -> Dataset:
    """Spec keys: ``n_train`` (10000), ``n_test`` (1000), ``T`` (20), ``n_digits`` (2), ``seed`` (0),
    ``speed`` ([2, 5] px per frame, or one number), ``root``, ``limit``, ``valid``. Training videos use
    MNIST training digits, test videos test digits. ``regenerate(epoch)`` draws fresh training videos
    (fresh digits and motion; Srivastava generated them on the fly), whose labels are not kept."""
    n_train, n_test, T, n_digits, seed = _ints(spec, "moving_mnist", n_train=10000, n_test=1000, T=20,
                                               n_digits=2, seed=0)
    try:
        lo, hi = np.broadcast_to(np.asarray(spec.get("speed", (2.0, 5.0)), np.float64), (2,))
    except (TypeError, ValueError) as exc:
        raise DataError(f"moving_mnist: speed must be a number or [low, high] ({exc})") from None
    if n_train < 1 or n_test < 0 or T < 1 or n_digits < 1 or not 0 <= lo <= hi:
        raise DataError("moving_mnist needs n_train >= 1, n_test >= 0, T >= 1, n_digits >= 1 and "
                        "0 <= speed low <= speed high")
    z = read_mnist(spec.get("root"), ("x_train", "y_train", "x_test", "y_test"))

    def draw(split: str, n: int, *entropy: int) -> tuple[np.ndarray, np.ndarray]:
        return moving_sequences(z[f"x_{split}"], n, T, n_digits, np.random.default_rng(entropy), (lo, hi))

    frames, index = draw("train", n_train, _TRAIN_TAG, seed, 0)
    train, valid = _split(frames, spec)
    train_index, valid_index = _split(index, spec)
    test, test_index = draw("test", n_test, _TEST_TAG, seed)
    digits = {"train": train_index, "valid": valid_index, "test": test_index}
    labels = {k: z["y_test" if k == "test" else "y_train"][i].astype(np.int64) for k, i in digits.items()}
    n_keep = len(train)
    out = Dataset("moving_mnist", train, test, valid, (64, 64), spec,
                  meta={"labels": labels, "digits": digits, "T": T, "n_digits": n_digits})
    out.regenerate = lambda epoch: train if int(epoch) == 0 else draw("train", n_keep, _TRAIN_TAG, seed,
                                                                      int(epoch))[0]
    return out
