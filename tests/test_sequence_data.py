"""Sequence datasets: the bouncing-balls simulator and renderer, the MIT walking data, BVH files, and forward
kinematics for the stick-figure display."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.data import LOADERS, DataError, load_dataset
from engine.data import bouncing_balls as bb
from engine.data import mocap as mc
from engine.settings import data_root

R, SIZE = bb.RADIUS, bb.SIZE


def pair_distances(x: np.ndarray) -> np.ndarray:
    """Distances between every two balls, (..., n_pairs), for positions (..., n_balls, 2)."""
    i, j = np.triu_indices(x.shape[-2], 1)
    return np.sqrt(((x[..., i, :] - x[..., j, :]) ** 2).sum(-1))


def reference_render(x: np.ndarray, res: int) -> np.ndarray:
    """Sutskever's ``matricize`` written out densely: the ground truth for the patch renderer."""
    centres = (np.arange(res) + 0.5) * SIZE / res
    cols, rows = np.meshgrid(centres, centres)
    d2 = (cols - x[..., 0, None, None]) ** 2 + (rows - x[..., 1, None, None]) ** 2  # (..., n_balls, res, res)
    return np.minimum(np.exp(-(d2 / R ** 2) ** 4).sum(-3), 1)


@pytest.fixture(scope="module")
def many_runs():
    """60 sequences of 300 frames with 3 balls, and 20 with 5 (more crowded: more collisions)."""
    runs = []
    for n_balls, n in ((3, 60), (5, 20)):
        starts = [bb.initial_state(np.random.default_rng([7, n_balls, k]), n_balls) for k in range(n)]
        x0, v0 = np.stack([s[0] for s in starts]), np.stack([s[1] for s in starts])
        runs.append(bb.simulate_batch(x0, v0, 300))
    return runs


# --- bouncing balls ---------------------------------------------------------------------------------------

def test_balls_stay_inside_the_box_and_never_overlap(many_runs):
    for xs, _ in many_runs:
        assert xs.min() >= R - 1e-9 and xs.max() <= SIZE - R + 1e-9
        assert pair_distances(xs).min() >= 2 * R * (1 - 1e-9)


def test_energy_is_conserved_through_wall_and_ball_collisions(many_runs):
    for xs, vs in many_runs:
        energy = (vs ** 2).sum((-1, -2))  # (n, T)
        assert np.allclose(energy, bb.SPEED ** 2, rtol=1e-9, atol=0)
        # walls flip a velocity component's sign; ball-ball bounces change single balls' speeds
        wall_bounces = (np.sign(vs[:, 1:]) != np.sign(vs[:, :-1])).sum()
        speeds = np.sqrt((vs ** 2).sum(-1))
        ball_bounces = (np.abs(np.diff(speeds, axis=1)) > 1e-6).any(-1).sum()
        assert wall_bounces > 100 and ball_bounces > 20


def test_single_sequence_simulation_matches_the_batch():
    x, v = bb.simulate(50, 3, np.random.default_rng(3), return_velocities=True)
    x0, v0 = bb.initial_state(np.random.default_rng(3), 3)
    xs, vs = bb.simulate_batch(x0[None], v0[None], 50)
    assert x.shape == (50, 3, 2) and np.array_equal(x, xs[0]) and np.array_equal(v, vs[0])
    assert np.array_equal(x[0], x0) and pair_distances(x0).min() >= 2 * R
    assert np.isclose(np.sqrt((v0 ** 2).sum()), bb.SPEED)


def test_same_seed_same_videos_other_seed_other_videos():
    a = bb.sequences(4, T=12, res=16, seed=5)
    assert a.shape == (4, 12, 256) and a.dtype == np.float32
    assert np.array_equal(a, bb.sequences(4, T=12, res=16, seed=5))
    assert np.array_equal(a[:2], bb.sequences(2, T=12, res=16, seed=5))  # a smaller draw is a prefix
    other = bb.sequences(4, T=12, res=16, seed=6)
    assert not np.allclose(a, other)
    assert not np.allclose(a[0], a[1])


def test_rendering_matches_the_original_profile_and_scales_with_the_ball_count():
    xs = bb.simulate(40, 3, np.random.default_rng(1))
    frames = bb.render(xs, 30)
    assert frames.shape == (40, 30, 30) and frames.dtype == np.float32
    assert frames.min() >= 0 and frames.max() <= 1 and frames.max() > 0.99
    assert np.abs(frames - reference_render(xs, 30)).max() < 1e-5
    odd = np.array([[[-3.0, 5.0], [5.0, 12.0], [0.1, 0.1]]])  # partly or wholly outside the frame
    assert np.abs(bb.render(odd, 17) - reference_render(odd, 17)).max() < 1e-5
    mass = [bb.sequences(20, T=20, res=30, n_balls=n, seed=2).sum(-1).mean() for n in (1, 2, 3)]
    assert mass[0] > 10
    assert np.allclose(np.array(mass) / mass[0], [1, 2, 3], rtol=0.1)  # overlaps clip a little


def test_bouncing_balls_loader_shapes_fixed_test_set_and_fresh_epochs():
    assert {"bouncing_balls", "mocap_mit", "bvh"} <= set(LOADERS)
    spec = {"name": "bouncing_balls", "n_train": 6, "n_test": 3, "T": 10, "res": 12, "valid": 2}
    d = load_dataset(spec)
    assert d.train.shape == (4, 10, 144) and d.valid.shape == (2, 10, 144) and d.test.shape == (3, 10, 144)
    assert d.shape == (12, 12) and d.is_sequence and d.dim == 144 and d.meta["fps"] == 10
    assert d.train.dtype == d.test.dtype == np.float32
    other = load_dataset({**spec, "seed": 1})
    assert np.array_equal(d.test, other.test)  # the test set does not depend on the training seed
    assert not np.allclose(d.train, other.train)
    assert not any(np.allclose(t, tr) for t in d.test for tr in d.train)
    one, two = d.regenerate(1), d.regenerate(2)
    assert one.shape == two.shape == d.train.shape and one.dtype == np.float32
    assert not np.allclose(one, two) and not np.allclose(one, d.train)
    assert np.array_equal(one, d.regenerate(1)) and np.array_equal(d.regenerate(0), d.train)
    limited = load_dataset({**spec, "limit": 2})
    assert limited.train.shape == (2, 10, 144) and limited.regenerate(3).shape == (2, 10, 144)
    with pytest.raises(DataError):
        load_dataset({**spec, "n_balls": 0})


# --- motion capture ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mocap_root():
    """The shared data folder with mocap/ (CI has ../shared beside the clone)."""
    root = data_root()
    assert (root / mc.MIT_MOTION).is_file(), f"mocap data not found under {root}: set BOLTZMANN_DATA"
    return root


@pytest.fixture(scope="module")
def mit_raw(mocap_root):
    with np.load(mocap_root / mc.MIT_MOTION) as z:
        motions = [z[f"motion_{i}"] for i in range(len(z.files))]
    return motions, json.loads((mocap_root / mc.MIT_SKELETON).read_text())


def test_mit_loader_keeps_49_channels_standardised_on_training_frames(mit_raw):
    motions, skeleton = mit_raw
    d = load_dataset({"name": "mocap_mit", "T": 50})
    allf = np.concatenate(motions)
    assert d.meta["keep"] == np.nonzero(allf.std(0) > 1e-9)[0].tolist() and len(d.meta["keep"]) == 49
    assert d.train.shape[1:] == (50, 49) and d.test.shape[1:] == (50, 49) and d.shape == (49,)
    assert d.meta["n_channels"] == 108 and d.meta["fps"] == 30 and d.meta["skeleton"] == skeleton
    cuts = [len(m) - int(len(m) * mc.TEST_FRACTION) for m in motions]
    assert len(d.train) == sum((c - 50) // 25 + 1 for c in cuts)  # stride T // 2
    assert len(d.test) == sum((len(m) - c) // 50 for m, c in zip(motions, cuts))  # non-overlapping
    flat = d.train.reshape(-1, 49)
    assert np.abs(flat.mean(0)).max() < 0.15 and np.allclose(flat.std(0), 1, atol=0.15)
    train_frames = np.concatenate([m[:c] for m, c in zip(motions, cuts)])[:, d.meta["keep"]]
    assert np.allclose(d.meta["mean"], train_frames.mean(0)) and np.allclose(d.meta["std"], train_frames.std(0))
    v = load_dataset({"name": "mocap_mit", "T": 30, "stride": 10, "valid": 5})
    assert v.valid.shape == (5, 30, 49) and v.train.shape[1] == 30


def test_mit_to_original_round_trips_the_frames(mit_raw):
    motions, _ = mit_raw
    d = load_dataset({"name": "mocap_mit"})
    cut = len(motions[0]) - int(len(motions[0]) * mc.TEST_FRACTION)
    back = d.meta["to_original"](d.train[:2])
    assert back.shape == (2, 50, 108)
    assert np.allclose(back[0], motions[0][:50], rtol=1e-5, atol=1e-4)
    assert np.allclose(back[1], motions[0][25:75], rtol=1e-5, atol=1e-4)
    assert np.allclose(d.meta["to_original"](d.test[0]), motions[0][cut:cut + 50], rtol=1e-5, atol=1e-4)


def stance_foot_speed(positions: np.ndarray, toes: list[int]) -> float:
    """Median horizontal speed of the lower toe: near zero when the legs are put together right."""
    feet = positions[:, toes]
    low = feet[np.arange(len(feet)), np.argmin(feet[..., 1], 1)]
    return float(np.median(np.linalg.norm(np.diff(low[:, [0, 2]], axis=0), axis=1)))


def test_mit_forward_kinematics_walks_without_skating(mit_raw):
    motions, skeleton = mit_raw
    parents = mc.mit_parents(skeleton)
    assert parents[:5] == [-1, 0, 1, 2, 3] and len(mc.bones(parents)) == 17
    pos = mc.mit_positions(motions[2][:200], skeleton)
    assert pos.shape == (200, 18, 3) and np.isfinite(pos).all()
    offs = np.array([t["offset_columns"] for t in skeleton["tree"]]) - 1
    for child, parent in ((c, p) for p, c in mc.bones(parents)):
        length = np.linalg.norm(pos[:, child] - pos[:, parent], axis=1)
        assert np.allclose(length, np.linalg.norm(motions[2][:200, offs[child]], axis=1))
    root_step = np.median(np.linalg.norm(np.diff(pos[:, 0, [0, 2]], axis=0), axis=1))
    assert root_step > 20 and np.linalg.norm(pos[-1, 0, [0, 2]] - pos[0, 0, [0, 2]]) > 2000  # mm
    assert stance_foot_speed(pos, [4, 8]) < 0.1 * root_step
    assert (pos[:, [4, 8], 1] < pos[:, [1, 5], 1]).all()  # toes below the hips: axis 1 is up


CMU = "mocap/cmu_bvh/131_01.bvh"


def test_bvh_reader_reads_the_cmu_walk(mocap_root, tmp_path):
    b = mc.read_bvh(mocap_root / CMU)
    assert b.n_joints == 31 and b.n_channels == 96 and b.frames.shape == (994, 96)
    assert b.frames.dtype == np.float32 and abs(b.frame_time - 1 / 120) < 1e-6
    assert b.names[0] == "Hips" and b.parents[0] == -1 and b.channels[0][:3] == ["Xposition", "Yposition",
                                                                                "Zposition"]
    assert all(0 <= p < j for j, p in enumerate(b.parents) if j) and b.offsets.shape == (31, 3)
    lf = tmp_path / "lf.bvh"  # the file mixes CRLF and LF line ends; plain LF reads the same
    lf.write_bytes((mocap_root / CMU).read_bytes().replace(b"\r\n", b"\n"))
    c = mc.read_bvh(lf)
    assert c.names == b.names and np.array_equal(c.frames, b.frames) and np.array_equal(c.offsets, b.offsets)


def test_bvh_forward_kinematics_moves_the_root_over_the_walk(mocap_root):
    b = mc.read_bvh(mocap_root / CMU)
    pos = mc.bvh_positions(b)
    assert pos.shape == (994, 31, 3) and np.isfinite(pos).all()
    assert np.linalg.norm(pos[-1, 0, [0, 2]] - pos[0, 0, [0, 2]]) > 20
    assert np.allclose(pos[:, 0], b.frames[:, :3], atol=1e-4)
    toes = [b.names.index("LeftToe"), b.names.index("RightToe")]
    walking = slice(300, 700)
    root_step = np.median(np.linalg.norm(np.diff(pos[walking, 0, [0, 2]], axis=0), axis=1))
    assert stance_foot_speed(pos[walking], toes) < 0.2 * root_step
    with_ends = mc.bvh_positions(b, b.frames[:5], end_sites=True)
    assert with_ends.shape == (5, 31 + len(b.end_sites), 3)
    assert len(mc.bones(mc.bvh_parents(b, end_sites=True))) == 30 + len(b.end_sites)


@pytest.mark.parametrize("damage", ["cut_hierarchy", "cut_motion", "garbage", "not_a_number", "short_row",
                                    "empty", "bad_channel"])
def test_malformed_bvh_gives_a_data_error(mocap_root, tmp_path, damage):
    text = (mocap_root / CMU).read_bytes()
    lines = text.splitlines(keepends=True)
    motion = next(i for i, line in enumerate(lines) if line.strip() == b"MOTION")
    broken = {
        "cut_hierarchy": b"".join(lines[:40]),
        "cut_motion": b"".join(lines[:-5]),
        "garbage": bytes(range(256)) * 20,
        "not_a_number": b"".join(lines[:motion + 3] + [lines[motion + 3].replace(b"0.0000", b"abc", 1)]
                                 + lines[motion + 4:]),
        "short_row": b"".join(lines[:motion + 3] + [b"1 2 3\n"] + lines[motion + 4:]),
        "empty": b"",
        "bad_channel": text.replace(b"Xrotation", b"Wrotation", 1),
    }[damage]
    path = tmp_path / "broken.bvh"
    path.write_bytes(broken)
    with pytest.raises(DataError, match="broken.bvh"):
        mc.read_bvh(path)
    with pytest.raises(DataError, match="not found"):
        mc.read_bvh(tmp_path / "missing.bvh")


def test_bvh_loader_on_a_folder(mocap_root, tmp_path):
    d = load_dataset({"name": "bvh", "path": "mocap/cmu_bvh", "T": 40})
    assert d.meta["step"] == 4 and abs(d.meta["fps"] - 30) < 0.01 and d.meta["n_channels"] == 96
    k = len(d.meta["keep"])
    assert 0 < k < 96 and d.train.shape[1:] == (40, k) and d.test.shape[1:] == (40, k) and len(d.test)
    flat = d.train.reshape(-1, k)
    assert np.abs(flat.mean(0)).max() < 0.3 and np.allclose(flat.std(0), 1, atol=0.3)
    b = mc.read_bvh(mocap_root / "mocap/cmu_bvh/131_01.bvh")
    back = d.meta["to_original"](d.train[0])
    assert np.allclose(back, b.frames[:160:4], atol=1e-3)
    assert d.meta["positions"](back).shape == (40, 31, 3) and d.meta["skeleton"]["names"] == b.names
    single = load_dataset({"name": "bvh", "path": str(mocap_root / CMU), "T": 20, "fps": 60})
    assert single.meta["step"] == 2 and single.train.shape[1] == 20
    with pytest.raises(DataError, match="not found"):
        load_dataset({"name": "bvh", "path": str(tmp_path / "nothing.bvh")})
    with pytest.raises(DataError, match="no .bvh files"):
        load_dataset({"name": "bvh", "path": str(tmp_path)})


def test_missing_mit_data_names_the_file(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset({"name": "mocap_mit", "root": str(tmp_path)})
    assert "mit_walk_motion.npz" in str(err.value) and str(tmp_path) in str(err.value)
