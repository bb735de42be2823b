"""A folder of the user's own images (PNG, JPEG, BMP, GIF): grayscale, resized, one example each."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.data import Dataset, DataError, _split, binarize

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


def load_image_folder(spec: dict) -> Dataset:
    from PIL import Image, UnidentifiedImageError

    folder = Path(spec.get("path") or "")
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder or '(none given)'}. Choose a folder of PNG or "
                        "JPEG images.")
    h, w = (list(spec.get("size") or [28, 28]) * 2)[:2]
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    images, skipped = [], []
    for f in files:
        try:
            with Image.open(f) as im:
                g = im.convert("L").resize((int(w), int(h)), Image.Resampling.BILINEAR)
                images.append(np.asarray(g, dtype=np.float32).reshape(-1) / 255)
        except (OSError, UnidentifiedImageError):
            skipped.append(f.name)
    if not images:
        extra = f" ({len(skipped)} unreadable)" if skipped else ""
        raise DataError(f"no readable images in {folder}{extra}; use PNG or JPEG files.")
    x = binarize(np.stack(images), spec.get("binarize", "none"), int(spec.get("seed", 0)))
    if spec.get("invert"):
        x = 1 - x
    n_test = int(spec.get("test", max(1, len(x) // 10) if len(x) > 1 else 0))
    train, test = (x[:-n_test], x[-n_test:]) if n_test and n_test < len(x) else (x, x[:0])
    train, valid = _split(train, spec)
    out = Dataset("folder", train, test, valid, (int(h), int(w)), spec)
    out.spec["skipped"] = len(skipped)
    return out
