"""Moving MNIST videos: the occluded set of the Recurrent Ladder paper (14x14 digits on 32x32, eight
velocities, bounces, a fixed grid of white bars) and Srivastava's plain Moving MNIST, checked against MNIST."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from engine.data import DataError, load_dataset
from engine.settings import ENV_DATA, data_root

EIGHT = [(1, 2), (1, -2), (-1, 2), (-1, -2), (2, 1), (2, -1), (-2, 1), (-2, -1)]  # (rows, columns)


@lru_cache(maxsize=None)
def _load(items: tuple):
    return load_dataset(dict(items))


def load(name: str = "occluded_moving_mnist", **spec):
    """The dataset, loaded once per spec (small ones: few test sequences unless asked)."""
    spec.setdefault("n_test", 0 if name == "moving_mnist" else 10)
    return _load(tuple(sorted({"name": name, **spec}.items())))


@lru_cache(maxsize=1)
def mnist():
    with np.load(data_root() / "mnist.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def half(x: np.ndarray) -> np.ndarray:
    """28x28 uint8 -> 14x14 in [0, 1], the mean of each 2x2 block, written out block by block."""
    x = x.astype(np.float64)
    return (x[::2, ::2] + x[1::2, ::2] + x[::2, 1::2] + x[1::2, 1::2]) / (4 * 255)


def locate(frame: np.ndarray, digit: np.ndarray) -> tuple[int, int]:
    """Top-left corner of the only ``digit`` in ``frame`` (from the centres of mass), checking that the frame
    is exactly that digit there on a black canvas (so the digit is whole, on the canvas, with its mass)."""
    def centre(img):
        r, c = np.indices(img.shape)
        return np.array([(r * img).sum(), (c * img).sum()]) / img.sum()

    r, c = np.rint(centre(frame) - centre(digit)).astype(int)
    assert 0 <= r <= frame.shape[0] - digit.shape[0] and 0 <= c <= frame.shape[1] - digit.shape[1]
    expected = np.zeros(frame.shape)
    expected[r:r + digit.shape[0], c:c + digit.shape[1]] = digit
    np.testing.assert_allclose(frame, expected, atol=1e-6)
    return int(r), int(c)


def walk(p0, v, T: int, limit: int) -> np.ndarray:
    """Step by step: move, and at a wall reflect the position and flip that velocity component."""
    p, v, out = np.array(p0), np.array(v), []
    for _ in range(T):
        out.append(p.copy())
        p = p + v
        for k in range(2):
            if p[k] < 0:
                p[k], v[k] = -p[k], -v[k]
            elif p[k] > limit:
                p[k], v[k] = 2 * limit - p[k], -v[k]
    return np.array(out)


def test_occluded_shapes_range_splits_and_labels(mnist_root):
    m = mnist()
    d = load_dataset({"name": "occluded_moving_mnist", "limit": 30, "valid": 20})
    assert d.shape == (32, 32) and d.is_sequence and d.train.dtype == np.float32
    assert d.train.shape == (30, 5, 1024) and d.valid.shape == (20, 5, 1024) and d.test.shape == (10000, 5, 1024)
    assert 0 <= d.train.min() and d.train.max() == 1.0 and 0 <= d.test.min() and d.test.max() == 1.0
    labels = d.meta["labels"]
    assert all(v.dtype == np.int64 for v in labels.values())
    assert np.array_equal(labels["train"], m["y_train"][:30])  # sequence i shows MNIST digit i
    assert np.array_equal(labels["valid"], m["y_train"][-20:]) and np.array_equal(labels["test"], m["y_test"])
    assert np.array_equal(d.meta["digits"]["valid"], np.arange(59980, 60000))
    assert load(T=7, limit=3, n_test=2).test.shape == (2, 7, 1024)


@pytest.mark.parametrize("phase, bars", [(0, [0, 1, 2, 3, 12, 13, 14, 15, 24, 25, 26, 27]),
                                         (5, [5, 6, 7, 8, 17, 18, 19, 20, 29, 30, 31])])
def test_occlusion_is_a_fixed_grid_of_white_bars(mnist_root, phase, bars):
    occluded = load(limit=50, bar_phase=phase)
    clean = load(limit=200, occlude=False)  # the bars' phase changes nothing else
    clean_train = clean.train[:50]
    frames = occluded.train.reshape(-1, 32, 32)
    # the rows and columns that are white in every frame: exactly the bars, 4 px wide, 8 px apart
    assert np.flatnonzero((frames == 1.0).all(axis=(0, 2))).tolist() == bars
    assert np.flatnonzero((frames == 1.0).all(axis=(0, 1))).tolist() == bars
    on = np.isin(np.arange(32), bars)
    mask = on[:, None] | on[None, :]
    assert np.array_equal(occluded.meta["bars"], mask.reshape(-1))
    assert (frames[:, ~mask] < 1).any() and (frames[:, ~mask] == 0).mean() > 0.5
    # the same videos behind the bars: the digits pass under them (the clean frames are not white there)
    flat = mask.reshape(-1)
    assert np.array_equal(occluded.train[..., ~flat], clean_train[..., ~flat])
    assert (clean_train[..., flat] == 0).mean() > 0.5 and (clean_train[..., flat] > 0).any()


def test_occluded_digits_move_with_the_eight_velocities_and_bounce(mnist_root):
    m = mnist()
    d = load(limit=200, occlude=False)
    frames = d.train.reshape(200, 5, 32, 32)
    used, bounced = set(), 0
    for i in range(200):
        digit = half(m["x_train"][i])  # sequence i shows training digit i (its label is y_train[i])
        p = np.array([locate(f, digit) for f in frames[i]])
        step = np.diff(p, axis=0)
        free = [tuple(s) for s in step if tuple(s) in EIGHT]
        vs = [v for v in EIGHT if np.array_equal(walk(p[0], v, 5, 18), p)]
        assert len(vs) >= 1, (i, p)
        used.add(vs[0])
        bounced += len(free) < len(step)
    assert used == set(EIGHT) and 0 < bounced < 200


def test_test_sequences_come_from_the_mnist_test_digits(mnist_root):
    m = mnist()
    d = load(limit=200, occlude=False)
    for i in range(5):
        for f in d.test[i].reshape(5, 32, 32):
            locate(f, half(m["x_test"][i]))
        with pytest.raises(AssertionError):
            locate(d.test[i, 0].reshape(32, 32), half(m["x_train"][i]))


def test_the_seed_fixes_the_data_and_limit_keeps_a_prefix(mnist_root):
    a = load(limit=50)
    b = load_dataset({"name": "occluded_moving_mnist", "limit": 20, "n_test": 5})  # fresh, and a prefix
    assert np.array_equal(a.train[:20], b.train) and np.array_equal(a.test[:5], b.test)
    c = load(limit=50, seed=1)
    assert not np.array_equal(a.train, c.train) and not np.array_equal(a.test, c.test)
    assert np.array_equal(a.meta["labels"]["train"], c.meta["labels"]["train"])


def test_fresh_motion_moves_the_same_training_digits_anew_each_epoch(mnist_root):
    m = mnist()
    fixed = load(limit=30)
    d = load(limit=30, fresh_motion=True)
    assert d.regenerate_keeps_labels and np.array_equal(d.train, fixed.train) and d.regenerate(0) is d.train
    one, two = d.regenerate(1), d.regenerate(2)
    assert np.array_equal(one, d.regenerate(1)) and not np.array_equal(one, two)
    assert np.array_equal(d.test, fixed.test)  # only training sequences move anew
    clean = load(limit=30, fresh_motion=True, occlude=False).regenerate(1).reshape(30, 5, 32, 32)
    moved = 0
    for i in range(30):  # sequence i still shows training digit i, labelled y_train[i], in one of the eight moves
        p = np.array([locate(f, half(m["x_train"][i])) for f in clean[i]])
        assert any(np.array_equal(walk(p[0], v, 5, 18), p) for v in EIGHT)
        moved += not np.array_equal(one[i], d.train[i])
    assert moved > 25 and np.array_equal(d.meta["labels"]["train"], m["y_train"][:30])
    assert load(limit=30).regenerate is None


@pytest.mark.parametrize("name", ["occluded_moving_mnist", "moving_mnist"])
def test_missing_mnist_names_the_file_and_the_fix(tmp_path, name):
    with pytest.raises(DataError) as err:
        load_dataset({"name": name, "root": str(tmp_path)})
    assert str(tmp_path / "mnist.npz") in str(err.value) and ENV_DATA in str(err.value)


def test_moving_mnist_one_digit_moves_and_bounces_inside_the_canvas(mnist_root):
    m = mnist()
    d = load("moving_mnist", n_train=30, n_test=5, n_digits=1, speed=(4, 5))
    assert d.shape == (64, 64) and d.train.shape == (30, 20, 4096) and d.test.shape == (5, 20, 4096)
    flips = 0
    for split, x, y in (("train", m["x_train"], m["y_train"]), ("test", m["x_test"], m["y_test"])):
        idx = d.meta["digits"][split][:, 0]
        assert np.array_equal(d.meta["labels"][split][:, 0], y[idx])
        for seq, k in zip(getattr(d, split), idx):
            p = np.array([locate(f, x[k] / 255.0) for f in seq.reshape(20, 64, 64)])  # on the canvas, whole
            step = np.diff(p, axis=0)
            assert np.abs(step).max() <= 6 and np.median(np.hypot(*step.T)) >= 3
            for t in range(18):
                for a in range(2):
                    if step[t, a] * step[t + 1, a] < 0:  # turned back: only at a wall it was moving to
                        flips += 1
                        assert (36 - p[t + 1, a] if step[t, a] > 0 else p[t + 1, a]) <= 5
    assert flips > 20


def test_moving_mnist_two_digits_combine_by_max(mnist_root):
    from numpy.lib.stride_tricks import sliding_window_view

    m = mnist()
    d = load("moving_mnist", n_train=4)
    assert d.train.shape == (4, 20, 4096) and d.meta["digits"]["train"].shape == (4, 2)
    assert 0 <= d.train.min() and d.train.max() <= 1
    overlapped = False
    for seq, ks in zip(d.train.reshape(4, 20, 64, 64), d.meta["digits"]["train"]):
        a, b = (m["x_train"][k] / 255.0 for k in ks)
        windows = sliding_window_view(seq, (28, 28), axis=(1, 2))  # (20, 37, 37, 28, 28)
        for t in range(20):
            cands = [np.argwhere((windows[t] >= g - 1e-6).all(axis=(2, 3))) for g in (a, b)]
            fits = []
            for (ra, ca) in cands[0]:
                for (rb, cb) in cands[1]:
                    canvas_a, canvas_b = np.zeros((64, 64)), np.zeros((64, 64))
                    canvas_a[ra:ra + 28, ca:ca + 28], canvas_b[rb:rb + 28, cb:cb + 28] = a, b
                    if np.allclose(seq[t], np.maximum(canvas_a, canvas_b), atol=1e-6):
                        fits.append(np.minimum(canvas_a, canvas_b).max() > 0)
            assert fits, t
            overlapped |= any(fits)
    assert overlapped  # some frames have the digits over each other, and the max still explains them


def test_moving_mnist_seed_and_regenerate(mnist_root):
    d = load("moving_mnist", n_train=6, n_test=3, T=8, valid=2)
    assert d.train.shape == (4, 8, 4096) and d.valid.shape == (2, 8, 4096) and d.test.shape == (3, 8, 4096)
    again = load_dataset({"name": "moving_mnist", "n_train": 6, "n_test": 3, "T": 8, "valid": 2})
    assert np.array_equal(d.train, again.train) and np.array_equal(d.test, again.test)
    other = load("moving_mnist", n_train=6, n_test=3, T=8, valid=2, seed=3)
    assert not np.array_equal(d.train, other.train)
    assert d.regenerate(0) is d.train
    fresh = d.regenerate(1)
    assert fresh.shape == d.train.shape and not np.array_equal(fresh, d.train)
    assert np.array_equal(fresh, again.regenerate(1))
