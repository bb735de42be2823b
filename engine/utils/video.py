"""Videos as files: GIF and .npz, for image frames and for stick figures drawn from joint positions.

Shared by ``boltzmann sample`` on sequence models and the studio's video view. A video is an array
(n_seqs, T, *frame): frames (H, W) in [0, 1], or joint positions (J, 3) with the vertical axis 1.
Stick figures are drawn in two views, side (horizontal axis 0) and front (horizontal axis 2), by a camera
that follows the root joint sideways, with ground marks that slide by as the figure walks.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.utils.images import _atomic, save_gif, tile

#: columns between the generated and the real video in a GIF
GAP = 4
#: the horizontal axis of each view of a stick figure (a walk along x, as the MIT data's, is seen from the
#: side in the first)
VIEWS = {"side": 0, "front": 2}


@dataclass(frozen=True)
class StageBounds:
    """Where a stick figure is drawn: the bottom of the view, the ground line, the height shown, the half
    width shown around the root, and the spacing of the ground marks (all in the data's units)."""

    floor: float
    ground: float
    height: float
    half_width: float
    marks: float


def stage_bounds(positions: np.ndarray) -> StageBounds:
    """Bounds that fit every pose of ``positions`` (..., J, 3): the ground at the lowest joint, some room
    above and around."""
    p = np.asarray(positions, np.float64).reshape(-1, *np.shape(positions)[-2:])
    y = p[..., 1]
    floor, top = float(np.nanmin(y)), float(np.nanmax(y))
    height = max(top - floor, 1e-6)
    spread = float(np.nanmax(np.abs(p[..., [0, 2]] - p[:, :1, [0, 2]]))) if p.size else 0.0
    half = max(0.6 * height, 1.2 * spread)
    marks = _round_125(height / 4)
    return StageBounds(floor - 0.05 * height, floor, 1.2 * height, half, marks)


def _round_125(x: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``x``."""
    k = 10.0 ** math.floor(math.log10(x))
    return max(m * k for m in (1, 2, 5) if m * k <= x * (1 + 1e-9))


def render_skeleton(pose: np.ndarray, bones: Sequence[tuple[int, int]], bounds: StageBounds, axis: int,
                    size: int = 128, thickness: int = 2) -> np.ndarray:
    """One view of a figure as a (size, size) float32 image: bones white on black, the ground grey."""
    img = np.zeros((size, size), np.float32)
    scale = (size - 1) / max(2 * bounds.half_width, bounds.height)
    cx = float(pose[0, axis])

    def px(h: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ((h - cx) * scale + (size - 1) / 2, (size - 1) - (y - bounds.floor) * scale)

    ground = min(max(int(round(px(np.zeros(1), np.array([bounds.ground]))[1][0])), 0), size - 1)
    img[ground, :] = 0.35
    view = (size - 1) / 2 / scale
    first = math.ceil((cx - view) / bounds.marks)
    for k in range(first, math.floor((cx + view) / bounds.marks) + 1):
        col = int(round((k * bounds.marks - cx) * scale + (size - 1) / 2))
        if 0 <= col < size:
            img[ground:min(ground + 3, size), col] = 0.6
    for a, b in bones:
        (x0, x1), (y0, y1) = px(pose[[a, b], axis], pose[[a, b], 1])
        n = int(max(abs(x1 - x0), abs(y1 - y0)) * 2) + 2
        xs = np.linspace(x0, x1, n)
        ys = np.linspace(y0, y1, n)
        for dx in range(thickness):
            for dy in range(thickness):
                c = np.round(xs).astype(int) + dx - thickness // 2
                r = np.round(ys).astype(int) + dy - thickness // 2
                ok = (c >= 0) & (c < size) & (r >= 0) & (r < size)
                img[r[ok], c[ok]] = 1.0
    return img


def hstack(images: Sequence[np.ndarray], gap: int = 2, value: float = 0.5) -> np.ndarray:
    """Images side by side, top-aligned, ``gap`` columns of ``value`` between them (heights may differ)."""
    h = max(im.shape[0] for im in images)
    parts: list[np.ndarray] = []
    for i, im in enumerate(images):
        if i:
            parts.append(np.full((h, gap), value, np.float32))
        col = np.zeros((h, im.shape[1]), np.float32)
        col[:im.shape[0]] = im
        parts.append(col)
    return np.concatenate(parts, 1)


def picture(frame: np.ndarray, layout: str, bones: Sequence[tuple[int, int]] = (),
            bounds: StageBounds | None = None, size: int = 128) -> np.ndarray:
    """One frame of one or more videos, (N, *frame) or (*frame), as one image: a grid of images, or the
    side and front views of each figure."""
    if layout == "image":
        return tile(frame, pad_value=0.5) if frame.ndim == 3 else np.asarray(frame, np.float32)
    poses = frame if frame.ndim == 3 else frame[None]
    if bounds is None:
        bounds = stage_bounds(poses)
    return tile(np.stack([render_skeleton(p, bones, bounds, axis, size) for p in poses
                          for axis in VIEWS.values()]), cols=2 * min(len(poses), 2), pad=2, pad_value=0.5)


def pictures(video: np.ndarray, layout: str, real: np.ndarray | None = None,
             bones: Sequence[tuple[int, int]] = (), size: int = 128) -> list[np.ndarray]:
    """The frames of a video (N, T, *frame) as images, each with the real sequence's frame beside it when
    ``real`` (T', *frame) is given (blank once the real sequence has ended)."""
    bounds = None
    if layout == "skeleton":
        both = video if real is None else np.concatenate([video.reshape(-1, *video.shape[-2:]), real])
        bounds = stage_bounds(both)
    out = []
    blank = None
    for t in range(video.shape[1]):
        im = picture(video[:, t], layout, bones, bounds, size)
        if real is not None:
            if t < len(real):
                r = picture(real[t], layout, bones, bounds, size)
                blank = np.zeros_like(r)
            else:
                r = blank if blank is not None else np.zeros_like(picture(real[0], layout, bones, bounds, size))
            im = hstack([im, r], gap=GAP, value=0.85)
        out.append(im)
    return out


def save_video(path: str | os.PathLike, video: np.ndarray, layout: str = "image", real: np.ndarray | None = None,
               bones: Sequence[tuple[int, int]] = (), fps: float = 10, scale: int = 0, prime: int = 0,
               size: int = 128) -> Path:
    """Write ``video`` (N, T, *frame) as an animated GIF (``.gif``: the real sequence beside it if given;
    ``scale`` 0 enlarges small frames to about 120 pixels) or as arrays (``.npz``: ``video``, ``real``,
    ``prime``, ``layout``, ``bones``, ``fps``)."""
    path = Path(path)
    video = np.asarray(video, np.float32)
    if path.suffix.lower() == ".npz":
        arrays = {"video": video, "prime": np.int64(prime), "layout": np.str_(layout), "fps": np.float64(fps),
                  "bones": np.asarray(bones, np.int64).reshape(-1, 2)}
        if real is not None:
            arrays["real"] = np.asarray(real, np.float32)

        def write(p: Path) -> None:
            with open(p, "wb") as f:
                np.savez_compressed(f, **arrays)
        return _atomic(path, write)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"{path.name}: save a video as .gif or .npz")
    frames = pictures(video, layout, real, bones, size)
    fps = min(fps, 50)  # GIF delays are in 1/100 s, and viewers slow down anything under 2/100
    if not scale:
        scale = max(1, 120 // max(frames[0].shape[0], 1)) if layout == "image" else 1
    return save_gif(frames, path, fps=fps, scale=scale)
