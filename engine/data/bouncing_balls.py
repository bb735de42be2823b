"""Bouncing balls: the video data of Sutskever, Hinton & Taylor (NIPS 2008, the RTRBM paper).

``n_balls`` balls of radius ``radius`` (1.2) move in a ``size`` x ``size`` box (10), bounce elastically off
the walls and off each other (equal masses: the velocity components along the line of centres are
exchanged), and are drawn as soft discs ``exp(-(d^2 / r^2)^4)`` on a ``res`` x ``res`` grid, clipped to
[0, 1], as in Sutskever's ``bouncing_balls.py`` (``bounce_n`` + ``matricize``). As there, the velocities of
all balls together have norm ``speed`` (0.5 box units per frame), so the kinetic energy sum |v|^2 is 0.25.

Where this differs from the original, on purpose: start positions are uniform in ``[r, size - r]`` (the
original draws ``2 + 8 * rand`` and rejects, which skews the start towards the far walls); collisions are
resolved exactly within each sub-step (a ball that crossed a wall is mirrored back, two balls that overlap
are moved back to the moment of contact, bounced, and moved on), so balls never leave the box or overlap
and never stick together; and only approaching pairs bounce.

Randomness is only in the start state: sequence ``k`` of a draw with seed ``s`` comes from
``numpy.random.SeedSequence([*s, k])``, so a draw of ``n`` sequences is a prefix of a draw of ``n + m``,
and the simulation itself is vectorised over all sequences.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.data import Dataset, DataError, _split

SIZE = 10.0  # side of the box, in the units of the positions
RADIUS = 1.2
SPEED = 0.5  # norm of all the balls' velocities together, in box units per frame
SUBSTEPS = 2  # simulation steps per frame (the original's eps = 0.5)
MAX_BALLS = 8  # more cannot be placed (or move) freely in the box
TEST_SEED = 12345  # the fixed test set does not depend on the training seed
_TRAIN_TAG, _TEST_TAG = 1, 2  # first word of the seed entropy, so train and test streams never meet
_CUTOFF = 1.5  # the disc profile is below 1e-11 beyond 1.5 radii, so a ball is drawn only on that patch


def initial_state(rng: np.random.Generator, n_balls: int = 3, radius: float = RADIUS, size: float = SIZE,
                  speed: float = SPEED) -> tuple[np.ndarray, np.ndarray]:
    """Start positions (n_balls, 2), uniform in the box and not overlapping, and velocities (n_balls, 2)
    with a random direction each and norm ``speed`` all together."""
    if not size > 2 * radius:
        raise ValueError(f"a ball of radius {radius} does not fit in a box of size {size}")
    v = rng.standard_normal((n_balls, 2))
    v *= speed / np.sqrt((v ** 2).sum())
    for _ in range(2000):  # as the original: all balls at once, until none overlap
        x = rng.uniform(radius, size - radius, (n_balls, 2))
        if _apart(x, radius):
            return x, v
    for _ in range(100):  # crowded boxes: one ball after the other
        x = np.empty((0, 2))
        for _ in range(10_000):
            x = np.concatenate([x, rng.uniform(radius, size - radius, (1, 2))])
            if not _apart(x, radius):
                x = x[:-1]
            elif len(x) == n_balls:
                return x, v
    raise ValueError(f"cannot place {n_balls} balls of radius {radius} in a box of size {size}")


def _apart(x: np.ndarray, radius: float) -> bool:
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1) + np.eye(len(x)) * (2 * radius) ** 2
    return bool((d2 >= (2 * radius) ** 2).all())


def _walls(x: np.ndarray, v: np.ndarray, radius: float, size: float) -> None:
    """Mirror every ball that crossed a wall back inside, and point its velocity inwards (in place)."""
    lo, hi = radius, size - radius
    low, high = x < lo, x > hi
    x[low] = 2 * lo - x[low]
    v[low] = np.abs(v[low])
    x[high] = 2 * hi - x[high]
    v[high] = -np.abs(v[high])
    np.clip(x, lo, hi, out=x)  # only a ball faster than the box is wide could still be outside


def _collide(x: np.ndarray, v: np.ndarray, radius: float, dt: float) -> None:
    """Bounce every overlapping pair of balls (in place): back to the moment of contact within the last
    ``dt``, exchange the velocity components along the line of centres, forward again."""
    n_balls = x.shape[1]
    r2 = (2 * radius) ** 2
    for i in range(n_balls):
        for j in range(i):
            d = x[:, i] - x[:, j]
            dist2 = (d ** 2).sum(-1)
            hit = dist2 < r2
            if not hit.any():
                continue
            rows = np.nonzero(hit)[0]
            d, dist2 = d[rows], dist2[rows]
            xi, xj, vi, vj = x[rows, i], x[rows, j], v[rows, i], v[rows, j]
            u = vi - vj
            du, uu = (d * u).sum(-1), (u ** 2).sum(-1)
            # time since contact: the positive root of |d - u s|^2 = (2r)^2 (u != 0 when approaching)
            approaching = du < 0
            s = np.zeros(len(rows))
            ok = approaching & (uu > 0)
            s[ok] = (du[ok] + np.sqrt(du[ok] ** 2 + uu[ok] * (r2 - dist2[ok]))) / uu[ok]
            s = np.clip(s, 0.0, dt)[:, None]
            xi, xj = xi - vi * s, xj - vj * s
            w = xi - xj
            norm = np.sqrt((w ** 2).sum(-1, keepdims=True))
            w = np.where(norm > 0, w / np.where(norm > 0, norm, 1), np.array([1.0, 0.0]))
            exchange = (((vj - vi) * w).sum(-1, keepdims=True) * w) * approaching[:, None]
            vi, vj = vi + exchange, vj - exchange
            xi, xj = xi + vi * s, xj + vj * s
            # a pair still overlapping (a three-ball pile-up, or a pair pushed together by a wall) is
            # separated along the line of centres; positions only, so the energy is untouched
            gap = 2 * radius - np.sqrt(((xi - xj) ** 2).sum(-1, keepdims=True))
            push = np.maximum(gap, 0.0) / 2 * w
            x[rows, i], x[rows, j] = xi + push, xj - push
            v[rows, i], v[rows, j] = vi, vj


def simulate_batch(x0: np.ndarray, v0: np.ndarray, T: int, radius: float = RADIUS, size: float = SIZE,
                   substeps: int = SUBSTEPS) -> tuple[np.ndarray, np.ndarray]:
    """Positions and velocities (n, T, n_balls, 2) of ``n`` sequences started at ``x0``, ``v0``
    (n, n_balls, 2); frame ``t`` is the state after ``t`` frames (``substeps`` steps each)."""
    x, v = np.array(x0, np.float64), np.array(v0, np.float64)
    n, n_balls = x.shape[:2]
    xs = np.empty((n, T, n_balls, 2))
    vs = np.empty((n, T, n_balls, 2))
    dt = 1.0 / substeps
    for t in range(T):
        xs[:, t], vs[:, t] = x, v
        for _ in range(substeps):
            x += v * dt
            for _ in range(3):  # a bounce can push a ball into a wall or into a third ball: settle it
                _walls(x, v, radius, size)
                _collide(x, v, radius, dt)
                if _settled(x, radius, size):
                    break
            _walls(x, v, radius, size)
    return xs, vs


def _settled(x: np.ndarray, radius: float, size: float) -> bool:
    if (x < radius).any() or (x > size - radius).any():
        return False
    d2 = ((x[:, :, None] - x[:, None]) ** 2).sum(-1)
    d2 += np.eye(x.shape[1]) * (4 * radius) ** 2
    return bool((d2 >= (2 * radius) ** 2 * (1 - 1e-12)).all())


def simulate(T: int, n_balls: int, rng: np.random.Generator, radius: float = RADIUS, size: float = SIZE,
             speed: float = SPEED, substeps: int = SUBSTEPS,
             return_velocities: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """One sequence: ball centres (T, n_balls, 2) as (x, y) in box units (and velocities, in box units per
    frame, at the same frames when ``return_velocities``)."""
    x0, v0 = initial_state(rng, n_balls, radius, size, speed)
    xs, vs = simulate_batch(x0[None], v0[None], T, radius, size, substeps)
    return (xs[0], vs[0]) if return_velocities else xs[0]


def render(positions: np.ndarray, res: int = 30, radius: float = RADIUS, size: float = SIZE,
           out: np.ndarray | None = None, chunk: int = 8192) -> np.ndarray:
    """Frames (..., res, res) float32 in [0, 1] for ball centres (..., n_balls, 2): x is the column, y the
    row (pixel centres at (k + 0.5) * size / res), each ball the soft disc exp(-(d^2 / r^2)^4), summed and
    clipped at 1. ``out`` (..., res * res) float32 may be given to render into (it is returned as it is)."""
    positions = np.asarray(positions, np.float64)
    lead, n_balls = positions.shape[:-2], positions.shape[-2]
    flat = positions.reshape(-1, n_balls, 2)
    m = len(flat)
    given = out is not None
    if out is None:
        out = np.empty((*lead, res * res), np.float32)
    dest = out.reshape(m, res * res)
    h = size / res
    cut = _CUTOFF * radius
    k = int(np.floor(2 * cut / h)) + 2  # patch width in pixels: covers [centre - cut, centre + cut]
    offsets = np.arange(k)
    inv_r2 = np.float32(1.0 / radius ** 2)
    wp = res + 2 * k  # a margin of k pixels on each side takes the parts of discs that leave the frame
    for start in range(0, m, chunk):
        p = flat[start:start + chunk]
        c = len(p)
        canvas = np.zeros((c, wp, wp), np.float32)
        windows = sliding_window_view(canvas, (k, k), axis=(1, 2), writeable=True)
        frames = np.arange(c)
        for b in range(n_balls):
            first = np.ceil((p[:, b] - cut) / h - 0.5).astype(np.int64)  # (c, 2): first column, first row
            first = np.clip(first, -k, res)
            idx = first[:, None, :] + offsets[None, :, None]  # (c, k, 2)
            d2 = ((idx + 0.5) * h - p[:, None, b]).astype(np.float32) ** 2 * inv_r2
            q = d2[:, :, 1, None] + d2[:, None, :, 0]  # (c, k rows, k cols)
            q *= q
            q *= q
            np.negative(q, out=q)
            np.exp(q, out=q)
            # one k x k patch per frame: the windows of distinct frames never share a pixel
            windows[frames, first[:, 1] + k, first[:, 0] + k] += q
        np.minimum(canvas[:, k:k + res, k:k + res], 1.0, out=dest[start:start + c].reshape(c, res, res))
    return out if given else out.reshape(*lead, res, res)


def _entropy(seed: int | Sequence[int]) -> list[int]:
    return [int(seed)] if np.isscalar(seed) else [int(s) for s in seed]


def sequences(n: int, T: int = 100, res: int = 30, n_balls: int = 3, seed: int | Sequence[int] = 0,
              radius: float = RADIUS, size: float = SIZE, speed: float = SPEED) -> np.ndarray:
    """``n`` videos (n, T, res * res) float32. Sequence ``k`` starts from ``SeedSequence([*seed, k])``, so
    the same seed gives the same videos and the first ``n`` of a larger draw are the same videos."""
    prefix = _entropy(seed)
    x0 = np.empty((n, n_balls, 2))
    v0 = np.empty((n, n_balls, 2))
    for k in range(n):
        x0[k], v0[k] = initial_state(np.random.default_rng(np.random.SeedSequence([*prefix, k])), n_balls,
                                     radius, size, speed)
    out = np.empty((n, T, res * res), np.float32)
    step = max(1, 200_000 // max(1, T * n_balls))  # bound the simulation's memory, not its speed
    for a in range(0, n, step):
        xs, _ = simulate_batch(x0[a:a + step], v0[a:a + step], T, radius, size)
        render(xs, res, radius, size, out=out[a:a + step])
    return out


def load_bouncing_balls(spec: dict) -> Dataset:
    """Spec keys: ``n_train`` (4000), ``n_test`` (200), ``T`` (100), ``res`` (30), ``n_balls`` (3), ``seed``
    (0), ``limit``, ``valid``. The test set comes from the fixed seed ``TEST_SEED``, whatever ``seed`` is
    (the literature's protocol: 4000 training and 200 test sequences of 100 frames). ``regenerate(epoch)``
    gives the training videos of that epoch (epoch 0 is the initial training set), for endless fresh data."""
    try:
        n_train, n_test = int(spec.get("n_train", 4000)), int(spec.get("n_test", 200))
        T, res, n_balls = int(spec.get("T", 100)), int(spec.get("res", 30)), int(spec.get("n_balls", 3))
        seed = int(spec.get("seed", 0))
    except (TypeError, ValueError) as exc:
        raise DataError(f"bouncing_balls: spec values must be integers ({exc})") from None
    if n_train < 1 or n_test < 0 or T < 1 or res < 2 or n_balls < 1:
        raise DataError("bouncing_balls needs n_train >= 1, n_test >= 0, T >= 1, res >= 2 and n_balls >= 1")
    if n_balls > MAX_BALLS:
        raise DataError(f"bouncing_balls: at most {MAX_BALLS} balls of radius {RADIUS} fit in the box")

    def draw(count: int, epoch: int) -> np.ndarray:
        return sequences(count, T, res, n_balls, (_TRAIN_TAG, seed, epoch))

    train, valid = _split(draw(n_train, 0), spec)
    test = sequences(n_test, T, res, n_balls, (_TEST_TAG, TEST_SEED))
    n_keep = len(train)
    out = Dataset("bouncing_balls", train, test, valid, (res, res), spec,
                  meta={"fps": 10, "T": T, "n_balls": n_balls, "radius": RADIUS, "box": SIZE,
                        "test_seed": TEST_SEED})
    out.regenerate = lambda epoch: train if int(epoch) == 0 else draw(n_keep, int(epoch))
    return out
