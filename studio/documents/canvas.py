"""The inpainting canvas's document: a grey-scale image and the mask of what to replace, with one undo stack.

A :class:`CanvasDocument` holds ``image`` (H, W) float32 in [0, 1] and ``mask`` (H, W) uint8, the mask's
opacity at each pixel (0: keep, 255: replace; values between come only from Feather, the soft edge over
which a result is blended into the image). Every pixel with a non-zero mask is replaced by Inpaint
(:meth:`CanvasDocument.selection`). It emits ``changed(x, y, w, h)`` with the rectangle that changed and
``reset`` when a new image (perhaps of another size) is opened.

Every edit is a ``QUndoCommand`` on the one :attr:`CanvasDocument.undo_stack`. The edits of pixels are
:class:`EditRegion` commands: they keep only the changed rectangle of the image and/or mask, before and after,
both taken in ``__init__``, so a brush stroke across a corner of a large photo costs that corner, not the
photo. Each method of the document that edits (``stroke``, ``mask_rect``, ``invert_mask``, ``clear_mask``,
``feather``, ``apply_result``, ``open_image``) pushes one command, or none when it would change nothing, and
returns it. Only numpy and Qt here: images are read with ``QImageReader``, so a file Qt cannot read raises
:class:`ImageFileError` with a one-line message and changes nothing.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QImageReader, QUndoCommand, QUndoStack

#: (x, y, w, h) in image pixels
Rect = tuple[int, int, int, int]
FULL = 255
#: a photo is scaled down to at most this many pixels on its longer side when it is opened
MAX_SIDE = 2048


class ImageFileError(ValueError):
    """An image file that cannot be opened; the message says which file and why."""


def to_gray8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, np.float32) * 255.0), 0, 255).astype(np.uint8)


def qimage_gray(a: np.ndarray) -> QImage:
    """A Grayscale8 QImage that owns a copy of ``a`` (H, W) uint8."""
    a = np.ascontiguousarray(a, np.uint8)
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def read_image(path: str | Path) -> np.ndarray:
    """An image file as grey levels (H, W) float32 in [0, 1]; transparent pixels count as black (the
    background of MNIST digits). Raises :class:`ImageFileError`."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"Cannot open {path.name}: no such file")
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    img = reader.read()
    if img.isNull():
        raise ImageFileError(f"Cannot open {path.name}: {reader.errorString() or 'not an image Qt can read'}")
    if max(img.width(), img.height()) > MAX_SIDE:
        from PySide6.QtCore import Qt

        img = img.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    img = img.convertToFormat(QImage.Format.Format_RGBA8888_Premultiplied)
    h, w = img.height(), img.width()
    raw = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h)
    rgba = raw.reshape(h, img.bytesPerLine())[:, :w * 4].reshape(h, w, 4).astype(np.float32)
    grey = rgba[..., 0] * 0.299 + rgba[..., 1] * 0.587 + rgba[..., 2] * 0.114
    return np.clip(grey / 255.0, 0.0, 1.0).astype(np.float32)


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` (h, w) float resized to ``shape`` (H, W): bilinear up, area-averaged down."""
    image = np.asarray(image, np.float32)
    if image.shape == tuple(shape):
        return image
    from PIL import Image

    up = shape[0] >= image.shape[0] and shape[1] >= image.shape[1]
    how = Image.Resampling.BILINEAR if up else Image.Resampling.BOX
    out = Image.fromarray(image, mode="F").resize((shape[1], shape[0]), how)
    return np.clip(np.asarray(out, np.float32), 0.0, 1.0)


def bbox(nonzero: np.ndarray) -> Rect | None:
    """The smallest rectangle holding every True of ``nonzero`` (H, W), or None."""
    rows, cols = np.flatnonzero(nonzero.any(1)), np.flatnonzero(nonzero.any(0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def stroke_mask(points: Sequence[tuple[float, float]], diameter: float, shape: tuple[int, int]
                ) -> tuple[Rect, np.ndarray] | None:
    """The pixels a round brush of ``diameter`` pixels covers along ``points`` (x, y in image pixels, pixel
    (i, j) spans [j, j+1) x [i, i+1)): its rectangle in the image and the (h, w) bools inside it."""
    if not len(points):
        return None
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    r = max(diameter / 2.0, 0.5)
    H, W = shape
    x0, y0 = max(0, math.floor(pts[:, 0].min() - r)), max(0, math.floor(pts[:, 1].min() - r))
    x1, y1 = min(W, math.ceil(pts[:, 0].max() + r) + 1), min(H, math.ceil(pts[:, 1].max() + r) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    cy, cx = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
    hit = np.zeros(cx.shape, bool)
    a = pts[0]
    segments = [(a, a)] if len(pts) == 1 else zip(pts[:-1], pts[1:])
    for a, b in segments:  # distance from each pixel centre to the segment a-b
        d = b - a
        length2 = float(d @ d)
        t = 0.0 if length2 == 0 else np.clip(((cx - a[0]) * d[0] + (cy - a[1]) * d[1]) / length2, 0.0, 1.0)
        hit |= (cx - a[0] - t * d[0]) ** 2 + (cy - a[1] - t * d[1]) ** 2 <= r * r
    for x, y in pts:  # a tiny brush still paints the pixel under each point
        i, j = int(math.floor(y)) - y0, int(math.floor(x)) - x0
        if 0 <= i < hit.shape[0] and 0 <= j < hit.shape[1]:
            hit[i, j] = True
    if not hit.any():
        return None
    return (x0, y0, x1 - x0, y1 - y0), hit


def gaussian_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian blur (edges padded with the nearest value), numpy only."""
    radius = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    out = np.asarray(a, np.float32)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius, radius)
        p = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        n = out.shape[axis]
        for i, w in enumerate(k):
            acc += w * (p[i:i + n] if axis == 0 else p[:, i:i + n])
        out = acc
    return out


class CanvasDocument(QObject):
    """A grey-scale image and the mask of the pixels to replace, at the image's own resolution."""

    #: pixels changed: the rectangle (x, y, w, h) in image pixels
    changed = Signal(int, int, int, int)
    #: a new image was opened (its size may differ)
    reset = Signal()

    def __init__(self, shape: tuple[int, int] = (28, 28), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.image = np.zeros(shape, np.float32)
        self.mask = np.zeros(shape, np.uint8)
        self.source = ""  # what the image came from (a file, "test digit 7")
        self.undo_stack = QUndoStack(self)

    # ----- reading -----
    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape  # type: ignore[return-value]

    def selection(self) -> np.ndarray:
        """The pixels Inpaint replaces (H, W) bools: every pixel with a non-zero mask."""
        return self.mask > 0

    def alpha(self) -> np.ndarray:
        """The mask as the opacity (H, W) in [0, 1] with which a result covers the image."""
        return self.mask.astype(np.float32) / FULL

    def composite(self, result: np.ndarray, rect: Rect | None = None) -> tuple[Rect, np.ndarray] | None:
        """``result`` (any size; resized to the image's) blended over the image where the mask is: the
        rectangle of the masked pixels and the new pixels inside it; None when nothing is masked."""
        rect = rect or bbox(self.mask > 0)
        if rect is None:
            return None
        x, y, w, h = rect
        full = resize(result, self.shape)
        a = self.mask[y:y + h, x:x + w].astype(np.float32) / FULL
        old = self.image[y:y + h, x:x + w]
        return rect, (old * (1 - a) + full[y:y + h, x:x + w] * a).astype(np.float32)

    # ----- changing: the commands call these -----
    def _write(self, rect: Rect, image: np.ndarray | None, mask: np.ndarray | None) -> None:
        x, y, w, h = rect
        if image is not None:
            self.image[y:y + h, x:x + w] = image
        if mask is not None:
            self.mask[y:y + h, x:x + w] = mask
        self.changed.emit(x, y, w, h)

    def _set_state(self, image: np.ndarray, mask: np.ndarray, source: str) -> None:
        self.image, self.mask, self.source = image.copy(), mask.copy(), source
        self.reset.emit()

    def push(self, command: QUndoCommand | None) -> QUndoCommand | None:
        if command is not None:
            self.undo_stack.push(command)
        return command

    # ----- edits (one undo step each; None when nothing would change) -----
    def stroke(self, points: Iterable[tuple[float, float]], diameter: float, erase: bool = False
               ) -> QUndoCommand | None:
        """One brush (or, ``erase``, eraser) stroke through ``points`` (x, y in image pixels)."""
        hit = stroke_mask(list(points), diameter, self.shape)
        if hit is None:
            return None
        (x, y, w, h), inside = hit
        new = self.mask[y:y + h, x:x + w].copy()
        new[inside] = 0 if erase else FULL
        return self._edit_mask((x, y, w, h), new, "erase stroke" if erase else "brush stroke")

    def mask_rect(self, x0: int, y0: int, x1: int, y1: int, erase: bool = False) -> QUndoCommand | None:
        """Mask (or unmask) the pixels x0 <= x < x1, y0 <= y < y1 (clipped to the image)."""
        H, W = self.shape
        x0, x1 = max(0, min(x0, x1)), min(W, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(H, max(y0, y1))
        if x0 >= x1 or y0 >= y1:
            return None
        new = np.full((y1 - y0, x1 - x0), 0 if erase else FULL, np.uint8)
        return self._edit_mask((x0, y0, x1 - x0, y1 - y0), new, "unmask rectangle" if erase else "mask rectangle")

    def invert_mask(self) -> QUndoCommand:
        H, W = self.shape
        return self.push(EditRegion(self, (0, 0, W, H), mask=FULL - self.mask, text="invert mask"))

    def clear_mask(self) -> QUndoCommand | None:
        rect = bbox(self.mask > 0)
        if rect is None:
            return None
        return self.push(EditRegion(self, rect, mask=np.zeros((rect[3], rect[2]), np.uint8), text="clear mask"))

    def feather(self, radius: float) -> QUndoCommand | None:
        """Soften the mask's edge outwards over about ``radius`` pixels: a result then fades into the image
        there instead of ending at a hard edge. The pixels already masked stay masked."""
        if radius <= 0:
            return None
        sel = self.mask > 0
        rect = bbox(sel)
        if rect is None or sel.all():
            return None
        sigma = radius / 2.0
        grow = int(math.ceil(3 * sigma))
        H, W = self.shape
        x, y, w, h = rect
        x0, y0, x1, y1 = max(0, x - grow), max(0, y - grow), min(W, x + w + grow), min(H, y + h + grow)
        old = self.mask[y0:y1, x0:x1].astype(np.float32)
        # twice the blurred mask is 1 on the old edge and falls smoothly to 0 about 2 sigma outside it
        soft = np.clip(2.0 * gaussian_blur(old, sigma), 0.0, FULL)
        new = np.maximum(old, np.rint(soft)).astype(np.uint8)
        return self._edit_mask((x0, y0, x1 - x0, y1 - y0), new, f"feather {radius:g} px")

    def apply_result(self, result: np.ndarray, text: str = "apply inpainting") -> QUndoCommand | None:
        """Blend a model's result (any size) into the image where the mask is; only masked pixels change."""
        out = self.composite(result)
        if out is None:
            return None
        rect, pixels = out
        return self.push(EditRegion(self, rect, image=pixels, text=text))

    def open_image(self, image: np.ndarray, source: str = "") -> QUndoCommand:
        """A new image (H, W) in [0, 1] with an empty mask; the one edit that replaces everything."""
        image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
        if image.ndim != 2 or not image.size:
            raise ImageFileError(f"an image must be (H, W) grey levels, not {image.shape}")
        return self.push(SetImage(self, image, np.zeros(image.shape, np.uint8), source,
                                  f"open {Path(source).name if source else 'image'}"))

    def load_file(self, path: str | Path) -> QUndoCommand:
        """Open an image file (PNG, JPEG, ... in grey levels); a bad file raises ImageFileError, changing
        nothing."""
        return self.open_image(read_image(path), str(path))

    def save_png(self, path: str | Path) -> Path:
        """The image (not the mask) as an 8-bit grey PNG; raises OSError when it cannot be written."""
        path = Path(path)
        if not qimage_gray(to_gray8(self.image)).save(str(path), "PNG"):
            raise OSError(f"Cannot write {path}")
        return path

    def _edit_mask(self, rect: Rect, new: np.ndarray, text: str) -> QUndoCommand | None:
        x, y, w, h = rect
        if np.array_equal(self.mask[y:y + h, x:x + w], new):
            return None
        return self.push(EditRegion(self, rect, mask=new, text=text))


# ----- commands -----

class EditRegion(QUndoCommand):
    """New pixels of the image and/or the mask inside one rectangle; the old ones are kept for undo."""

    def __init__(self, doc: CanvasDocument, rect: Rect, image: np.ndarray | None = None,
                 mask: np.ndarray | None = None, text: str = "edit") -> None:
        super().__init__(text)
        self.doc = doc
        self.rect = tuple(int(v) for v in rect)
        x, y, w, h = self.rect
        self.new_image = None if image is None else np.array(image, np.float32).reshape(h, w)
        self.new_mask = None if mask is None else np.array(mask, np.uint8).reshape(h, w)
        self.old_image = None if image is None else doc.image[y:y + h, x:x + w].copy()
        self.old_mask = None if mask is None else doc.mask[y:y + h, x:x + w].copy()

    @property
    def nbytes(self) -> int:
        """What this step keeps in memory (the two rectangles)."""
        return sum(a.nbytes for a in (self.new_image, self.new_mask, self.old_image, self.old_mask)
                   if a is not None)

    def redo(self) -> None:
        self.doc._write(self.rect, self.new_image, self.new_mask)

    def undo(self) -> None:
        self.doc._write(self.rect, self.old_image, self.old_mask)


class SetImage(QUndoCommand):
    """Replace the image and the mask (open an image, pick a test digit)."""

    def __init__(self, doc: CanvasDocument, image: np.ndarray, mask: np.ndarray, source: str, text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.old = (doc.image.copy(), doc.mask.copy(), doc.source)
        self.new = (image, mask, source)

    def redo(self) -> None:
        self.doc._set_state(*self.new)

    def undo(self) -> None:
        self.doc._set_state(*self.old)
