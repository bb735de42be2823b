"""The inpainting canvas: a custom-painted view of a :class:`~studio.documents.canvas.CanvasDocument`.

It paints the image, the mask over it as a translucent red, and, while a model works on the image, a
preview of the masked region (:meth:`CanvasView.set_preview`) in place of the image there. Coordinates:
:meth:`CanvasView.image_at` (widget point -> image pixels, x and y as floats; pixel (i, j) spans
[j, j+1) x [i, i+1)) and :meth:`CanvasView.point_at` (image pixels -> widget point), so tests and tools drive
the canvas in image coordinates.

Tools: ``brush`` paints the mask with a round brush of :attr:`CanvasView.brush_size` image pixels ([ and ]
change it), ``eraser`` takes it away, ``rect`` masks a rectangle; the right button does the opposite of the
tool (erases with the brush, paints with the eraser, unmasks a rectangle). While a gesture lasts only an
overlay is drawn; the one command is pushed on release, so each stroke is one undo step. Ctrl+wheel zooms
about the cursor (and the panel's buttons zoom and fit), the wheel scrolls, a middle-drag or a drag with
Space held pans. Keys: B brush, E eraser, R rectangle, F fit, [ and ] brush size.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen,
                           QResizeEvent, QWheelEvent)
from PySide6.QtWidgets import QWidget

from studio.documents.canvas import CanvasDocument, to_gray8

TOOLS = ("brush", "eraser", "rect")
MIN_ZOOM, MAX_ZOOM = 0.05, 64.0
BRUSH_MIN, BRUSH_MAX = 1, 256
BRUSH_DEFAULT = 3
MARGIN = 12  # pixels around a fitted image

C_BG = QColor(38, 38, 42)
C_FRAME = QColor(110, 110, 120)
MASK_RGB = (235, 64, 52)
MASK_OPACITY = 0.5  # of a fully masked pixel
C_STROKE = QColor(*MASK_RGB, 130)
C_ERASE = QColor(120, 200, 255, 110)
C_CURSOR_DARK, C_CURSOR_LIGHT = QColor(0, 0, 0, 200), QColor(255, 255, 255, 220)


class CanvasView(QWidget):
    #: the brush's diameter changed (image pixels)
    brush_size_changed = Signal(int)
    #: the tool changed ("brush", "eraser" or "rect")
    tool_changed = Signal(str)
    #: zoom or pan changed (the zoom: screen pixels per image pixel)
    view_changed = Signal(float)
    #: the pointer moved over the image (x, y image pixel, or -1, -1 off the image)
    hovered = Signal(int, int)

    def __init__(self, doc: CanvasDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas_view")
        self.doc = doc
        self.zoom = 1.0
        self.origin = QPointF(0, 0)  # widget position of the image's top-left corner
        self.fitted = True  # follow the widget's size until the user zooms or pans
        self.tool = "brush"
        self.brush_size = BRUSH_DEFAULT
        self.show_mask = True
        self._image = QImage()
        self._overlay = QImage()
        self._gray = np.zeros((1, 1), np.uint8)
        self._rgba = np.zeros((1, 1, 4), np.uint8)
        self._preview: np.ndarray | None = None  # grey levels (H, W) uint8 shown instead of the image
        self._edges: QPainterPath | None = None  # the mask's outline in image pixels, drawn over a preview
        self._drag: dict[str, Any] | None = None
        self._space = False
        self._hover: QPointF | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(240, 240)
        doc.changed.connect(self._on_changed)
        doc.reset.connect(self._on_reset)
        self._on_reset()

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    # ----- coordinates -----
    def image_at(self, pos: QPointF) -> tuple[float, float]:
        """Image coordinates (x, y) in pixels of the widget point ``pos``."""
        p = QPointF(pos)
        return (p.x() - self.origin.x()) / self.zoom, (p.y() - self.origin.y()) / self.zoom

    def point_at(self, x: float, y: float) -> QPointF:
        """The widget point of image coordinates (x, y); (j + 0.5, i + 0.5) is the centre of pixel (i, j)."""
        return QPointF(self.origin.x() + x * self.zoom, self.origin.y() + y * self.zoom)

    def image_rect(self) -> QRectF:
        h, w = self.doc.shape
        return QRectF(self.origin.x(), self.origin.y(), w * self.zoom, h * self.zoom)

    # ----- view -----
    def fit(self) -> None:
        """Zoom so that the whole image fills the widget, centred."""
        h, w = self.doc.shape
        avail_w, avail_h = max(1, self.width() - 2 * MARGIN), max(1, self.height() - 2 * MARGIN)
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, avail_w / w, avail_h / h))
        self.origin = QPointF((self.width() - w * self.zoom) / 2, (self.height() - h * self.zoom) / 2)
        self.fitted = True
        self.update()
        self.view_changed.emit(self.zoom)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``anchor`` (default: the widget's centre) still."""
        anchor = QPointF(self.width() / 2, self.height() / 2) if anchor is None else QPointF(anchor)
        x, y = self.image_at(anchor)
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
        self.origin = QPointF(anchor.x() - x * self.zoom, anchor.y() - y * self.zoom)
        self.fitted = False
        self.update()
        self.view_changed.emit(self.zoom)

    def pan_by(self, dx: float, dy: float) -> None:
        self.origin = QPointF(self.origin.x() + dx, self.origin.y() + dy)
        self.fitted = False
        self.update()
        self.view_changed.emit(self.zoom)

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}: use one of {', '.join(TOOLS)}")
        if tool != self.tool:
            self.tool = tool
            self.update()
            self.tool_changed.emit(tool)

    def set_brush_size(self, size: int) -> None:
        size = int(max(BRUSH_MIN, min(BRUSH_MAX, size)))
        if size != self.brush_size:
            self.brush_size = size
            self.update()
            self.brush_size_changed.emit(size)

    def set_show_mask(self, on: bool) -> None:
        self.show_mask = bool(on)
        self.update()

    def set_preview(self, pixels: np.ndarray | None, rect: tuple[int, int, int, int] | None = None) -> None:
        """Show ``pixels`` (h, w in [0, 1]) over the image inside ``rect`` (x, y, w, h) instead of the image
        there (a model's result being made or chosen); None goes back to the document."""
        if pixels is None:
            self._preview = None
        else:
            if self._preview is None:
                self._preview = self._gray.copy()
            x, y, w, h = rect if rect is not None else (0, 0, *self.doc.shape[::-1])
            self._preview[y:y + h, x:x + w] = to_gray8(pixels)
        self.update()

    @property
    def previewing(self) -> bool:
        return self._preview is not None

    # ----- the document's pixels as images to paint -----
    def _on_reset(self) -> None:
        self._gray = to_gray8(self.doc.image)
        h, w = self._gray.shape
        self._rgba = np.zeros((h, w, 4), np.uint8)
        self._preview = None
        self._edges = None
        self._drag = None
        self._update_rgba(0, 0, w, h)
        self._rebuild()
        self.fit()

    def _on_changed(self, x: int, y: int, w: int, h: int) -> None:
        self._preview = None  # it was drawn over the pixels before: whoever set it sets it again
        self._edges = None
        self._gray[y:y + h, x:x + w] = to_gray8(self.doc.image[y:y + h, x:x + w])
        self._update_rgba(x, y, w, h)
        self._rebuild()
        self.update()

    def _update_rgba(self, x: int, y: int, w: int, h: int) -> None:
        a = self.doc.mask[y:y + h, x:x + w].astype(np.float32) / 255.0 * MASK_OPACITY
        # premultiplied: each colour channel times the opacity
        for c, v in enumerate(MASK_RGB):
            self._rgba[y:y + h, x:x + w, c] = np.rint(v * a).astype(np.uint8)
        self._rgba[y:y + h, x:x + w, 3] = np.rint(255 * a).astype(np.uint8)

    def _rebuild(self) -> None:
        h, w = self._gray.shape
        self._image = QImage(self._gray.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self._overlay = QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888_Premultiplied).copy()

    def _mask_outline(self) -> QPainterPath:
        """The edges between masked and unmasked pixels (image coordinates), made once per change."""
        if self._edges is None:
            path = QPainterPath()
            sel = np.pad(self.doc.mask > 0, 1)
            rows = sel[1:, 1:-1] != sel[:-1, 1:-1]  # (H + 1, W): an edge along y = i over column j
            for i, j in zip(*np.nonzero(rows)):
                path.moveTo(float(j), float(i))
                path.lineTo(float(j + 1), float(i))
            cols = sel[1:-1, 1:] != sel[1:-1, :-1]  # (H, W + 1): an edge along x = j beside row i
            for i, j in zip(*np.nonzero(cols)):
                path.moveTo(float(j), float(i))
                path.lineTo(float(j), float(i + 1))
            self._edges = path
        return self._edges

    # ----- mouse and keys -----
    def _erasing(self, button: Qt.MouseButton) -> bool:
        right = button == Qt.MouseButton.RightButton
        return (self.tool == "eraser") != right

    def mousePressEvent(self, e: QMouseEvent) -> None:
        pos = e.position()
        b = e.button()
        if b == Qt.MouseButton.MiddleButton or (b == Qt.MouseButton.LeftButton and self._space):
            self._drag = {"kind": "pan", "last": pos}
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif b in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            erase = self._erasing(b)
            if self.tool == "rect":
                self._drag = {"kind": "rect", "a": self.image_at(pos), "b": self.image_at(pos),
                              "erase": b == Qt.MouseButton.RightButton}
            else:
                self._drag = {"kind": "stroke", "points": [self.image_at(pos)], "erase": erase}
            self.update()
        e.accept()

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        pos = e.position()
        self._hover = pos
        d = self._drag
        if d is not None and d["kind"] == "pan":
            delta = pos - d["last"]
            d["last"] = pos
            self.pan_by(delta.x(), delta.y())
        elif d is not None and d["kind"] == "stroke":
            d["points"].append(self.image_at(pos))
        elif d is not None and d["kind"] == "rect":
            d["b"] = self.image_at(pos)
        x, y = self.image_at(pos)
        h, w = self.doc.shape
        inside = 0 <= x < w and 0 <= y < h
        self.hovered.emit(int(x) if inside else -1, int(y) if inside else -1)
        self.update()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        d, self._drag = self._drag, None
        if d is None:
            return
        if d["kind"] == "pan":
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor)
        elif d["kind"] == "stroke":
            d["points"].append(self.image_at(e.position()))
            self.doc.stroke(d["points"], self.brush_size, erase=d["erase"])
        elif d["kind"] == "rect":
            (ax, ay), (bx, by) = d["a"], self.image_at(e.position())
            self.doc.mask_rect(math.floor(min(ax, bx)), math.floor(min(ay, by)), math.floor(max(ax, bx)) + 1,
                               math.floor(max(ay, by)) + 1, erase=d["erase"])
        self.update()
        e.accept()

    def leaveEvent(self, _: Any) -> None:
        self._hover = None
        self.hovered.emit(-1, -1)
        self.update()

    def wheelEvent(self, e: QWheelEvent) -> None:
        steps = e.angleDelta().y() / 120.0
        if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 ** steps, e.position())
        elif e.modifiers() & Qt.KeyboardModifier.ShiftModifier or e.angleDelta().x():
            self.pan_by((e.angleDelta().x() or e.angleDelta().y()) / 120.0 * 40, 0)
        else:
            self.pan_by(0, steps * 40)
        e.accept()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        k = e.key()
        if k == Qt.Key.Key_Space:
            if not e.isAutoRepeat():
                self._space = True
                self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif k == Qt.Key.Key_BracketRight:
            self.set_brush_size(max(self.brush_size + 1, round(self.brush_size * 1.2)))
        elif k == Qt.Key.Key_BracketLeft:
            self.set_brush_size(min(self.brush_size - 1, round(self.brush_size / 1.2)))
        elif k in (Qt.Key.Key_B, Qt.Key.Key_E, Qt.Key.Key_R) and not e.modifiers():
            self.set_tool({Qt.Key.Key_B: "brush", Qt.Key.Key_E: "eraser", Qt.Key.Key_R: "rect"}[k])
        elif k == Qt.Key.Key_F and not e.modifiers():
            self.fit()
        elif k == Qt.Key.Key_Escape and self._drag is not None:
            self._drag = None  # abandon the gesture: nothing is pushed
            self.update()
        else:
            super().keyPressEvent(e)
            return
        e.accept()

    def keyReleaseEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Space and not e.isAutoRepeat():
            self._space = False
            self.setCursor(Qt.CursorShape.ArrowCursor)
            e.accept()
        else:
            super().keyReleaseEvent(e)

    def resizeEvent(self, e: QResizeEvent) -> None:
        if self.fitted:
            self.fit()
        super().resizeEvent(e)

    # ----- painting -----
    def paintEvent(self, _: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), C_BG)
        target = self.image_rect()
        # pixels stay square and sharp when magnified (28 x 28 digits); a photo shrunk to fit is smoothed
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1.0)
        if self._preview is not None:
            h, w = self._preview.shape
            shown = QImage(self._preview.data, w, h, w, QImage.Format.Format_Grayscale8)
            p.drawImage(target, shown)
        else:
            p.drawImage(target, self._image)
        if self.show_mask and self._preview is None:
            p.drawImage(target, self._overlay)
        elif self.show_mask:  # a model's pixels: not tinted, the mask only outlined
            p.save()
            p.translate(self.origin)
            p.scale(self.zoom, self.zoom)
            for color, style in ((QColor(0, 0, 0, 200), Qt.PenStyle.SolidLine),
                                 (QColor(*MASK_RGB), Qt.PenStyle.DashLine)):
                pen = QPen(color, 1.5, style)
                pen.setCosmetic(True)
                p.setPen(pen)
                p.drawPath(self._mask_outline())
            p.restore()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(C_FRAME, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(target.adjusted(-0.5, -0.5, 0.5, 0.5))
        self._paint_gesture(p)
        self._paint_cursor(p)
        p.end()

    def _paint_gesture(self, p: QPainter) -> None:
        d = self._drag
        if d is None:
            return
        if d["kind"] == "stroke":
            color = C_ERASE if d["erase"] else C_STROKE
            pen = QPen(color, max(1.0, self.brush_size * self.zoom), Qt.PenStyle.SolidLine,
                       Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
            path = QPainterPath(self.point_at(*d["points"][0]))
            for x, y in d["points"][1:]:
                path.lineTo(self.point_at(x, y))
            if len(d["points"]) == 1:
                path.lineTo(self.point_at(*d["points"][0]) + QPointF(0.01, 0))
            p.setPen(pen)
            p.drawPath(path)
        elif d["kind"] == "rect":
            (ax, ay), (bx, by) = d["a"], d["b"]
            x0, y0 = math.floor(min(ax, bx)), math.floor(min(ay, by))
            x1, y1 = math.floor(max(ax, bx)) + 1, math.floor(max(ay, by)) + 1
            r = QRectF(self.point_at(x0, y0), self.point_at(x1, y1)).intersected(self.image_rect())
            color = C_ERASE if d["erase"] else C_STROKE
            p.fillRect(r, color)
            p.setPen(QPen(color.darker(130), 1, Qt.PenStyle.DashLine))
            p.drawRect(r)

    def _paint_cursor(self, p: QPainter) -> None:
        if self._hover is None or self.tool == "rect" or self._space or (self._drag or {}).get("kind") == "pan":
            return
        r = max(1.0, self.brush_size * self.zoom / 2)
        for color, width in ((C_CURSOR_DARK, 3.0), (C_CURSOR_LIGHT, 1.2)):
            p.setPen(QPen(color, width))
            p.drawEllipse(self._hover, r, r)
