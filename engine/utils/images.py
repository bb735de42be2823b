"""Image grids and files (PNG, GIF) from numpy arrays in [0, 1]."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np


def tile(images: np.ndarray, cols: int | None = None, pad: int = 1, pad_value: float = 0.0) -> np.ndarray:
    """(N, H, W) -> one (rows*(H+pad)-pad, cols*(W+pad)-pad) image, row by row."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        return images
    n, h, w = images.shape
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), pad_value, np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = images[i]
    return out


def to_uint8(image: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    return (np.clip((np.asarray(image, np.float32) - lo) / (hi - lo), 0, 1) * 255 + 0.5).astype(np.uint8)


def _atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def save_png(image: np.ndarray, path: str | os.PathLike, scale: int = 1) -> Path:
    from PIL import Image

    im = Image.fromarray(to_uint8(image), mode="L")
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    return _atomic(Path(path), lambda p: im.save(p, format="PNG"))


def save_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 10, scale: int = 1) -> Path:
    from PIL import Image

    ims = [Image.fromarray(to_uint8(f), mode="L") for f in frames]
    if scale > 1:
        ims = [im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST) for im in ims]
    return _atomic(Path(path), lambda p: ims[0].save(p, format="GIF", save_all=True, append_images=ims[1:],
                                                      duration=int(1000 / fps), loop=0))
