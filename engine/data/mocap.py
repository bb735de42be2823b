"""Motion capture: the MIT walking data of Taylor's CRBM demo, BVH files, and forward kinematics for display.

Both loaders give windows (N, T, D) float32 of the channels that vary (std > 1e-9 over all frames),
standardised with the mean and std of the training frames. The last ``TEST_FRACTION`` (20%) of the frames
of every motion is the test set, cut into non-overlapping windows; the first 80% gives the training
windows, overlapping by ``T - stride`` frames. ``valid`` holds out the last training windows (they share
frames with their neighbours, as overlapping windows do). ``meta`` has ``mean``, ``std``, ``keep`` (column
indices into the full frame), ``n_channels``, ``skeleton``, ``fps``, ``to_original`` (standardised kept
channels -> full frames, constant columns refilled), ``positions`` (full frames -> joint positions
(F, J, 3), vertical axis 1) and ``bones`` (parent, child) pairs to draw a stick figure.

The MIT file (``mocap/mit_walk_motion.npz``) holds Taylor's ``motion.mat``, which is already *after* his
``preprocess1`` and at 30 fps (a gait cycle takes ~34 frames, 1.1 s: the 120 fps capture was kept every 4th
frame). The root's six channels are therefore body-centred: columns 1-2 are the angles that the forward and
the left-hip axes make with the downward vertical, column 3 the change of heading since the last frame,
columns 4-5 the ground-plane displacement since the last frame in body coordinates (forward, lateral),
column 6 the absolute height (mm). :func:`mit_positions` undoes this as Taylor's ``postprocess2`` does
(starting at the origin, heading 0) and then follows his ``exp2xyz``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.data import Dataset, DataError, _split, missing_file

MIT_MOTION = "mocap/mit_walk_motion.npz"
MIT_SKELETON = "mocap/mit_walk_skel.json"
MIT_FPS = 30.0
TEST_FRACTION = 0.2
CONSTANT_STD = 1e-9  # a channel with a smaller std over all frames is constant and left out
_AXES = {"x": 0, "y": 1, "z": 2}
_CHANNEL_NAMES = {f"{a}{kind}": f"{a.upper()}{kind}" for a in "xyz" for kind in ("position", "rotation")}


# --- rotations -------------------------------------------------------------------------------------------

def expmap_to_matrix(r: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) for axis-angle vectors (..., 3) (Rodrigues' formula, column vectors:
    the matrix rotates by |r| radians about r / |r|)."""
    r = np.asarray(r, np.float64)
    theta = np.sqrt((r ** 2).sum(-1))
    axis = r / np.where(theta > 0, theta, 1.0)[..., None]
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    s, c = np.sin(theta)[..., None, None], np.cos(theta)[..., None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def _axis_matrix(axis: int, degrees: np.ndarray) -> np.ndarray:
    a = np.deg2rad(np.asarray(degrees, np.float64))
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(a.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]  # the plane the rotation turns: yz for x, zx for y, xy for z
    m[..., axis, axis] = 1
    m[..., i, i], m[..., i, j], m[..., j, i], m[..., j, j] = c, -s, s, c
    return m


def bones(parents: list[int]) -> list[tuple[int, int]]:
    """(parent, child) index pairs, one line each of a stick figure."""
    return [(int(p), c) for c, p in enumerate(parents) if p >= 0]


# --- BVH -------------------------------------------------------------------------------------------------

@dataclass
class Bvh:
    """A BVH file: the joint hierarchy (joints in file order, parents before children) and the motion."""

    names: list[str]
    parents: list[int]  # -1 for the root
    offsets: np.ndarray  # (J, 3) from the parent joint, in the parent's frame
    channels: list[list[str]]  # per joint, in file order, e.g. ["Zrotation", "Yrotation", "Xrotation"]
    frames: np.ndarray  # (F, C) float32, C = total number of channels
    frame_time: float  # seconds
    end_sites: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (joint, offset) of each End Site
    path: str = ""

    @property
    def n_joints(self) -> int:
        return len(self.names)

    @property
    def n_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def channel_starts(self) -> list[int]:
        """Column of each joint's first channel in :attr:`frames`."""
        return [int(s) for s in np.cumsum([0] + [len(c) for c in self.channels])[:-1]]

    def skeleton(self) -> dict[str, Any]:
        """The hierarchy as plain values (JSON-able), for ``Dataset.meta``."""
        return {"names": list(self.names), "parents": list(self.parents), "offsets": self.offsets.tolist(),
                "channels": [list(c) for c in self.channels],
                "end_sites": [[j, o.tolist()] for j, o in self.end_sites]}


class _Malformed(Exception):
    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason if line is None else f"{reason} (line {line})")


def read_bvh(path: str | Path) -> Bvh:
    """Read a BVH file (any line ends). A malformed or truncated file raises :class:`DataError` naming the
    file, the problem and the line."""
    path = Path(path)
    if not path.is_file():
        raise missing_file(path, "BVH file")
    try:
        text = path.read_bytes().decode("latin-1")  # BVH is ASCII; latin-1 never fails on stray bytes
    except OSError as exc:
        raise DataError(f"cannot read BVH file {path}: {exc}") from None
    try:
        return _parse_bvh(text.splitlines(), str(path))
    except _Malformed as exc:
        raise DataError(f"{path} is not a readable BVH file: {exc}") from None


def _floats(tokens: list[str], n: int, what: str, line: int) -> np.ndarray:
    if len(tokens) != n:
        raise _Malformed(f"{what} needs {n} numbers, found {len(tokens)}", line)
    try:
        return np.array([float(t) for t in tokens])
    except ValueError:
        raise _Malformed(f"{what} has a value that is not a number: {' '.join(tokens)!r}", line) from None


def _parse_bvh(lines: list[str], path: str) -> Bvh:
    numbered = [(i + 1, line.split()) for i, line in enumerate(lines)]
    numbered = [(n, toks) for n, toks in numbered if toks]
    if not numbered or numbered[0][1][0].upper() != "HIERARCHY":
        raise _Malformed("it does not start with HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[np.ndarray | None] = []
    channels: list[list[str]] = []
    ends: list[tuple[int, np.ndarray | None]] = []
    stack: list[tuple[str, int]] = []  # open blocks: ("joint", joint index) or ("end", end-site index)
    declared: tuple[str, int] | None = None  # a node whose "{" has not come yet
    k = 1
    motion_at = None
    while k < len(numbered):
        line, toks = numbered[k]
        k += 1
        key = toks[0].upper()
        if key == "MOTION":
            motion_at = k
            break
        if key in ("ROOT", "JOINT"):
            if declared is not None:
                raise _Malformed(f"{key} before the '{{' of the previous joint", line)
            if key == "ROOT" and (names or stack):
                raise _Malformed("a second ROOT (only one skeleton per file is supported)", line)
            if key == "JOINT" and (not stack or stack[-1][0] != "joint"):
                raise _Malformed("JOINT outside a joint's block", line)
            name = " ".join(t for t in toks[1:] if t not in "{}") or f"joint{len(names)}"
            names.append(name)
            parents.append(stack[-1][1] if stack else -1)
            offsets.append(None)
            channels.append([])
            declared = ("joint", len(names) - 1)
        elif key == "END":
            if declared is not None or not stack or stack[-1][0] != "joint":
                raise _Malformed("End Site outside a joint's block", line)
            ends.append((stack[-1][1], None))
            declared = ("end", len(ends) - 1)
        elif key == "OFFSET":
            if not stack or declared is not None:
                raise _Malformed("OFFSET outside a block", line)
            kind, i = stack[-1]
            off = _floats(toks[1:], 3, "OFFSET", line)
            if kind == "joint":
                offsets[i] = off
            else:
                ends[i] = (ends[i][0], off)
        elif key == "CHANNELS":
            if not stack or declared is not None or stack[-1][0] != "joint":
                raise _Malformed("CHANNELS outside a joint's block", line)
            try:
                n = int(toks[1])
            except (IndexError, ValueError):
                raise _Malformed("CHANNELS needs a count", line) from None
            got = toks[2:]
            if len(got) != n:
                raise _Malformed(f"CHANNELS announces {n} channels and names {len(got)}", line)
            try:
                channels[stack[-1][1]] = [_CHANNEL_NAMES[c.lower()] for c in got]
            except KeyError as exc:
                raise _Malformed(f"unknown channel {exc.args[0]!r}", line) from None
        elif key not in ("{", "}"):
            raise _Malformed(f"unexpected {toks[0]!r} in the hierarchy", line)
        for t in toks:  # braces may share a line with a keyword
            if t == "{":
                if declared is None:
                    raise _Malformed("'{' without a ROOT, JOINT or End Site", line)
                stack.append(declared)
                declared = None
            elif t == "}":
                if not stack or declared is not None:
                    raise _Malformed("unbalanced '}'", line)
                stack.pop()
    if motion_at is None:
        raise _Malformed("no MOTION section (is the file truncated?)")
    if stack or declared is not None:
        raise _Malformed("the hierarchy is not closed before MOTION")
    if not names:
        raise _Malformed("no ROOT joint")
    for i, off in enumerate(offsets):
        if off is None:
            raise _Malformed(f"joint {names[i]!r} has no OFFSET")
    if any(off is None for _, off in ends):
        raise _Malformed("an End Site has no OFFSET")

    rest = numbered[motion_at:]
    if len(rest) < 2:
        raise _Malformed("the MOTION section lacks 'Frames:' and 'Frame Time:' (is the file truncated?)")
    (l1, t1), (l2, t2) = rest[0], rest[1]
    m1 = re.fullmatch(r"frames\s*:\s*(\d+)", " ".join(t1), re.IGNORECASE)
    m2 = re.fullmatch(r"frame\s+time\s*:\s*(\S+)", " ".join(t2), re.IGNORECASE)
    if not m1:
        raise _Malformed("expected 'Frames: <count>'", l1)
    if not m2:
        raise _Malformed("expected 'Frame Time: <seconds>'", l2)
    n_frames = int(m1.group(1))
    try:
        frame_time = float(m2.group(1))
    except ValueError:
        raise _Malformed("the frame time is not a number", l2) from None
    if not frame_time > 0:
        raise _Malformed("the frame time must be positive", l2)
    n_channels = sum(len(c) for c in channels)
    rows = rest[2:]
    if len(rows) != n_frames:
        raise _Malformed(f"it declares {n_frames} frames but has {len(rows)} (is the file truncated?)")
    for line, toks in rows:
        if len(toks) != n_channels:
            raise _Malformed(f"a frame has {len(toks)} values, the hierarchy has {n_channels} channels", line)
    try:
        frames = np.array([toks for _, toks in rows], dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError:
        bad = next(line for line, toks in rows if not _all_numbers(toks))
        raise _Malformed("a frame has a value that is not a number", bad) from None
    if not np.isfinite(frames).all():
        raise _Malformed("the frames hold inf or nan values")
    return Bvh(names, parents, np.array(offsets, np.float64), channels, frames.astype(np.float32),
               frame_time, [(j, off) for j, off in ends], path)


def _all_numbers(tokens: list[str]) -> bool:
    try:
        [float(t) for t in tokens]
    except ValueError:
        return False
    return True


def bvh_parents(bvh: Bvh, end_sites: bool = False) -> list[int]:
    """Parent of each joint (-1 for the root), followed by the parents of the End Sites if asked."""
    return list(bvh.parents) + ([j for j, _ in bvh.end_sites] if end_sites else [])


def bvh_positions(bvh: Bvh, frames: np.ndarray | None = None, end_sites: bool = False) -> np.ndarray:
    """World positions (F, J, 3) of the joints (then of the End Sites, if asked) for frames (F, C) in the
    file's layout (default: the file's own frames). Each joint's channels apply in the listed order,
    ``Zrotation Yrotation Xrotation`` meaning R = Rz Ry Rx, in degrees; position channels add to the
    offset. BVH is y-up, in the file's units."""
    f = np.asarray(bvh.frames if frames is None else frames, np.float64)
    if f.ndim == 1:
        f = f[None]
    if f.shape[-1] != bvh.n_channels:
        raise ValueError(f"frames have {f.shape[-1]} channels, the skeleton has {bvh.n_channels}")
    n = len(f)
    rot = np.empty((bvh.n_joints, n, 3, 3))
    pos = np.empty((bvh.n_joints, n, 3))
    for j, (parent, names, start) in enumerate(zip(bvh.parents, bvh.channels, bvh.channel_starts)):
        local_t = np.broadcast_to(bvh.offsets[j], (n, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        for c, name in enumerate(names):
            axis = _AXES[name[0].lower()]
            if name.endswith("position"):
                local_t[:, axis] += f[:, start + c]
            else:
                local_r = local_r @ _axis_matrix(axis, f[:, start + c])
        if parent < 0:
            pos[j], rot[j] = local_t, local_r
        else:
            pos[j] = pos[parent] + np.einsum("fij,fj->fi", rot[parent], local_t)
            rot[j] = rot[parent] @ local_r
    out = [pos[j] for j in range(bvh.n_joints)]
    if end_sites:
        out += [pos[j] + np.einsum("fij,j->fi", rot[j], off) for j, off in bvh.end_sites]
    return np.stack(out, 1)


# --- MIT skeleton ----------------------------------------------------------------------------------------

def mit_parents(skeleton: dict) -> list[int]:
    """0-based parent of each joint of the MIT skeleton json (-1 for the root)."""
    tree = skeleton["tree"]
    base = int(skeleton.get("index_base", 1))
    order = [int(t["joint"]) - base for t in tree]
    if order != list(range(len(tree))):
        raise DataError("the MIT skeleton's joints must be listed in order 1..J")
    return [int(t["parent"]) - base if int(t["parent"]) else -1 for t in tree]


def mit_positions(frames: np.ndarray, skeleton: dict) -> np.ndarray:
    """Joint positions (F, 18, 3) in mm for MIT frames (F, 108) in Taylor's body-centred representation
    (module docstring), vertical axis 1. The root's path is integrated from the start of ``frames``
    (origin, heading 0), as in Taylor's ``postprocess2``; then, as in his ``exp2xyz`` (row vectors), joint
    j gets ``rot_j = expmap2rotmat(or_j)' * rot_parent`` and ``xyz_j = xyz_parent + offset_j * rot_parent``
    (``expmap2rotmat`` = Rodrigues' matrix; the root's ``rot`` has the body's forward, left and up axes as
    rows). With this convention the stance foot stays put while the root walks on (checked in the tests).
    Finally the axes are reordered (x, z, y) as his ``exp2xyz`` does, so that height is coordinate 1."""
    f = np.asarray(frames, np.float64)
    if f.ndim == 1:
        f = f[None]
    tree = skeleton["tree"]
    base = int(skeleton.get("index_base", 1))
    parents = mit_parents(skeleton)
    ors = np.array([t["or_columns"] for t in tree]) - base
    offs = np.array([t["offset_columns"] for t in tree]) - base
    n = len(f)
    # root: heading and ground position from the per-frame deltas, orientation from the two tilt angles
    phi, theta, d_heading = f[:, ors[0, 0]], f[:, ors[0, 1]], f[:, ors[0, 2]]
    fwd, side, height = f[:, offs[0, 0]], f[:, offs[0, 1]], f[:, offs[0, 2]]
    heading = np.concatenate([[0.0], np.cumsum(d_heading[:-1])])
    step = np.hypot(fwd, side)[:-1]
    direction = heading[:-1] - np.arctan2(side, fwd)[:-1]
    x = np.concatenate([[0.0], np.cumsum(step * np.cos(direction))])
    y = np.concatenate([[0.0], np.cumsum(step * np.sin(direction))])
    ahead = np.stack([np.cos(heading), np.sin(heading), np.zeros(n)], -1)
    left = np.stack([-np.sin(heading), np.cos(heading), np.zeros(n)], -1)
    up = np.array([0.0, 0.0, 1.0])
    u_up = -np.cos(phi)  # forward axis: makes angle phi with the downward vertical
    u_flat = np.sqrt(np.clip(1 - u_up ** 2, 0, None))
    u = u_flat[:, None] * ahead + u_up[:, None] * up
    v_up = -np.cos(theta)  # left-hip axis: angle theta with the downward vertical, orthogonal to u
    v_ahead = np.where(u_flat > 1e-9, -u_up * v_up / np.where(u_flat > 1e-9, u_flat, 1), 0.0)
    v_left = np.sqrt(np.clip(1 - v_ahead ** 2 - v_up ** 2, 0, None))
    v = v_ahead[:, None] * ahead + v_left[:, None] * left + v_up[:, None] * up
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    w = np.cross(u, v)
    rot: list[np.ndarray] = [np.stack([u, v, w], 1)] + [np.empty(0)] * (len(tree) - 1)  # rows: body axes
    pos: list[np.ndarray] = [np.stack([x, y, height], -1)] + [np.empty(0)] * (len(tree) - 1)
    for j in range(1, len(tree)):  # parents come first (checked by mit_parents' ordering)
        p = parents[j]
        if p >= j:
            raise DataError("the MIT skeleton lists a joint before its parent")
        pos[j] = pos[p] + np.einsum("fi,fij->fj", f[:, offs[j]], rot[p])
        rot[j] = np.swapaxes(expmap_to_matrix(f[:, ors[j]]), -1, -2) @ rot[p]
    return np.stack(pos, 1)[..., [0, 2, 1]]


# --- windows and standardisation -------------------------------------------------------------------------

def _windows(x: np.ndarray, T: int, stride: int) -> np.ndarray:
    if len(x) < T:
        return np.empty((0, T, x.shape[1]), x.dtype)
    starts = np.arange(0, len(x) - T + 1, stride)
    return np.stack([x[s:s + T] for s in starts])


def _motion_dataset(name: str, motions: list[np.ndarray], spec: dict, meta: dict[str, Any],
                    positions: Callable[[np.ndarray], np.ndarray], parents: list[int]) -> Dataset:
    """Windows of standardised varying channels from whole motions (F_i, C), with the split in the module
    docstring."""
    try:
        T = int(spec.get("T", 50))
        stride = int(spec.get("stride") or max(1, T // 2))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: T and stride must be integers ({exc})") from None
    if T < 1 or stride < 1:
        raise DataError(f"{name}: T and stride must be at least 1")
    allf = np.concatenate(motions)
    n_channels = allf.shape[1]
    keep = np.nonzero(allf.std(0) > CONSTANT_STD)[0]
    if not len(keep):
        raise DataError(f"{name}: every channel is constant; there is no motion to learn")
    constant = allf.mean(0)
    cuts = [len(m) - int(len(m) * TEST_FRACTION) for m in motions]
    train_frames = np.concatenate([m[:c, keep] for m, c in zip(motions, cuts)])
    mean = train_frames.mean(0)
    std = np.maximum(train_frames.std(0), CONSTANT_STD)

    def standard(x: np.ndarray) -> np.ndarray:
        return ((x[:, keep] - mean) / std).astype(np.float32)

    train = [_windows(standard(m[:c]), T, stride) for m, c in zip(motions, cuts)]
    test = [_windows(standard(m[c:]), T, T) for m, c in zip(motions, cuts)]
    train_w, test_w = np.concatenate(train), np.concatenate(test)
    if not len(train_w):
        longest = max(cuts)
        raise DataError(f"{name}: T={T} is longer than every training part (the longest has {longest} "
                        f"frames); use a smaller T")
    train_w, valid_w = _split(train_w, spec)

    def to_original(x_std: np.ndarray) -> np.ndarray:
        """Full frames (..., C) from standardised kept channels (..., len(keep))."""
        x_std = np.asarray(x_std, np.float64)
        out = np.broadcast_to(constant, x_std.shape[:-1] + (n_channels,)).copy()
        out[..., keep] = x_std * std + mean
        return out

    meta = {**meta, "mean": mean.tolist(), "std": std.tolist(), "keep": keep.tolist(),
            "n_channels": n_channels, "T": T, "stride": stride, "test_fraction": TEST_FRACTION,
            "parents": list(parents), "bones": bones(parents), "to_original": to_original,
            "positions": positions}
    return Dataset(name, train_w, test_w, valid_w, (len(keep),), spec, meta)


# --- loaders ---------------------------------------------------------------------------------------------

def load_mit(spec: dict) -> Dataset:
    """The MIT walking data of Taylor, Hinton & Roweis (2006): 3 motions, 3826 frames at 30 fps, 108
    channels of which 49 vary. Spec keys: ``T`` (50), ``stride`` (T // 2), ``limit``, ``valid``, ``root``."""
    from engine.settings import data_root

    root = data_root(spec.get("root"))
    motion_path, skel_path = root / MIT_MOTION, root / MIT_SKELETON
    if not motion_path.is_file():
        raise missing_file(motion_path, "MIT walking data (mit_walk_motion.npz)")
    if not skel_path.is_file():
        raise missing_file(skel_path, "MIT skeleton (mit_walk_skel.json)")
    try:
        with np.load(motion_path, allow_pickle=False) as z:
            keys = sorted((k for k in z.files if k.startswith("motion_")), key=lambda k: int(k.split("_")[1]))
            motions = [np.asarray(z[k], np.float64) for k in keys]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{motion_path} is not a readable motion npz (expected motion_0, motion_1, ...): "
                        f"{exc}") from None
    try:
        skeleton = json.loads(skel_path.read_text())
        parents = mit_parents(skeleton)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{skel_path} is not a readable MIT skeleton json: {exc}") from None
    if not motions or any(m.ndim != 2 or m.shape[1] != 108 for m in motions):
        raise DataError(f"{motion_path}: expected motions of 108 channels, got "
                        f"{[m.shape for m in motions]}")
    meta = {"fps": MIT_FPS, "skeleton": skeleton, "units": "mm and radians", "format": "mit",
            "n_motions": len(motions), "motion_lengths": [len(m) for m in motions]}
    return _motion_dataset("mocap_mit", motions, spec, meta, lambda x: mit_positions(x, skeleton), parents)


def load_bvh_dataset(spec: dict) -> Dataset:
    """One BVH file, or every ``*.bvh`` in a folder (one skeleton for all). Spec keys: ``path`` (absolute,
    or relative to the data root), ``T`` (50), ``stride`` (T // 2), ``fps`` (30: keep every
    round(file fps / fps)-th frame, as Taylor did for 120 fps captures), ``limit``, ``valid``, ``root``.
    Channels are the file's own (absolute root position, Euler angles in degrees), not body-centred."""
    from engine.settings import data_root

    given = spec.get("path")
    if not given:
        raise DataError("bvh: give 'path', a .bvh file or a folder of them")
    path = Path(given).expanduser()
    if not path.is_absolute() and not path.exists():
        path = data_root(spec.get("root")) / path
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".bvh" and p.is_file())
        if not files:
            raise DataError(f"no .bvh files in {path}; choose a BVH file or a folder that holds some")
    elif path.is_file():
        files = [path]
    else:
        raise missing_file(path, "BVH file or folder")
    clips = [read_bvh(p) for p in files]
    first = clips[0]
    for c in clips[1:]:
        if c.names != first.names or c.channels != first.channels:
            raise DataError(f"{c.path} has another skeleton than {first.path}; put only BVH files of one "
                            "skeleton in the folder")
    try:
        target_fps = float(spec.get("fps", 30))
    except (TypeError, ValueError):
        raise DataError("bvh: fps must be a number") from None
    step = max(1, int(round(first.fps / target_fps))) if target_fps > 0 else 1
    motions = [c.frames[::step].astype(np.float64) for c in clips]
    parents = bvh_parents(first)
    meta = {"fps": first.fps / step, "frame_time": first.frame_time * step, "step": step,
            "skeleton": first.skeleton(), "format": "bvh", "units": "the file's length unit and degrees",
            "files": [str(p) for p in files], "motion_lengths": [len(m) for m in motions]}
    return _motion_dataset("bvh", motions, spec, meta, lambda x: bvh_positions(first, x), parents)
