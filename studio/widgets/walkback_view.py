"""The walkback animation: a walkback model's cooling walk from noise beside its heating walk from a data point.

Each side shows the newest frame of its walk (all chains as a grid) under a caption with the step and its
temperature, and below it a :class:`TrajectoryStrip`: the first chain at every frame so far, each labelled
with its temperature, so the whole trajectory (noise -> digit while T falls to 1; digit -> noise while T
doubles) can be read at a glance. The panel that runs the jobs feeds :meth:`WalkbackView.add_frame` and
calls :meth:`WalkbackView.refresh` at its repaint rate.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.documents.canvas import to_gray8
from studio.widgets.image_view import ImageView

WALKS = ("cool", "heat")
TITLES = {"cool": "Cooling from noise", "heat": "Heating from a data point"}
COLORS = {"cool": (120, 190, 255), "heat": (255, 150, 80)}


def temperature_text(t: float | None) -> str:
    if t is None:
        return "T = ?"
    return f"T = {t:g}" if t >= 1 or t == 0 else f"T = {t:.3g}"


class TrajectoryStrip(QWidget):
    """One walk's first chain at each frame, left to right, with the step and temperature under each; when
    they do not all fit, the first ones and the newest are shown."""

    def __init__(self, color: tuple[int, int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = QColor(*color)
        self.frames: list[tuple[int, float | None, np.ndarray]] = []
        self.setMinimumHeight(92)

    def sizeHint(self) -> QSize:
        return QSize(400, 104)

    def set_frames(self, frames: list[tuple[int, float | None, np.ndarray]]) -> None:
        self.frames = frames
        self.update()

    def shown(self) -> list[int]:
        """Which frames are drawn (their indices)."""
        n = len(self.frames)
        cell = self._cell()
        fit = max(1, int((self.width() - 8) // (cell + 6)))
        if n <= fit:
            return list(range(n))
        return list(range(fit - 1)) + [n - 1]

    def _cell(self) -> int:
        return int(max(24, min(72, self.height() - 34)))

    def paintEvent(self, _: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 30, 30))
        cell = self._cell()
        idx = self.shown()
        x = 4.0
        for k, i in enumerate(idx):
            step, t, img = self.frames[i]
            if k and i != idx[k - 1] + 1:  # frames left out: an ellipsis
                p.setPen(QColor(170, 170, 170))
                p.drawText(QRectF(x - 6, 4, 6, cell), Qt.AlignmentFlag.AlignCenter, "…")
            g = np.ascontiguousarray(to_gray8(img))
            h, w = g.shape
            s = cell / max(h, w)
            target = QRectF(x, 4, w * s, h * s)
            p.drawImage(target, QImage(g.data, w, h, w, QImage.Format.Format_Grayscale8))
            if i == len(self.frames) - 1:
                p.setPen(self.color)
                p.drawRect(target.adjusted(-1, -1, 1, 1))
            p.setPen(QColor(210, 210, 210))
            p.drawText(QRectF(x - 3, 6 + cell, cell + 6, 14), Qt.AlignmentFlag.AlignCenter, f"step {step}")
            p.setPen(self.color)
            p.drawText(QRectF(x - 3, 20 + cell, cell + 6, 14), Qt.AlignmentFlag.AlignCenter, temperature_text(t))
            x += cell + 6
        if not idx:
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "the walk's steps appear here")
        p.end()


class WalkbackView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("walkback_view")
        self.latest: dict[str, Any] = {w: None for w in WALKS}  # the newest Frame of each walk
        self.trajectory: dict[str, list[tuple[int, float | None, np.ndarray]]] = {w: [] for w in WALKS}
        self.captions: dict[str, QLabel] = {}
        self.views: dict[str, ImageView] = {}
        self.strips: dict[str, TrajectoryStrip] = {}
        self.titles: dict[str, QLabel] = {}
        self._dirty = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in WALKS:
            title = QLabel(TITLES[w])
            title.setStyleSheet(f"color: rgb{COLORS[w]}; font-weight: bold;")
            caption = QLabel("")
            caption.setObjectName(f"walkback_{w}_caption")
            view = ImageView(placeholder="Press Sample: a cooling walk turns noise into digits, the temperature "
                                         "halving at each step down to T = 1." if w == "cool" else
                                         "The heating walk of training from a test example (Heat from) drifts "
                                         "away from it to noise, the temperature doubling at each step.")
            view.setMinimumSize(160, 160)
            strip = TrajectoryStrip(COLORS[w])
            strip.setObjectName(f"walkback_{w}_strip")
            col = QVBoxLayout()
            col.setSpacing(2)
            head = QHBoxLayout()
            head.addWidget(title)
            head.addStretch(1)
            head.addWidget(caption)
            col.addLayout(head)
            col.addWidget(view, 1)
            col.addWidget(strip)
            row.addLayout(col, 1)
            self.titles[w], self.captions[w], self.views[w], self.strips[w] = title, caption, view, strip

    def clear(self, walk: str, title: str | None = None) -> None:
        self.latest[walk] = None
        self.trajectory[walk] = []
        self.captions[walk].setText("")
        self.views[walk].clear()
        self.strips[walk].set_frames([])
        if title is not None:
            self.titles[walk].setText(title)

    def add_frame(self, walk: str, e: Any) -> None:
        """Keep a walk's Frame: the newest for the grid, the first chain of each step for the strip."""
        temperature = getattr(e, "temperature", None)
        traj = self.trajectory[walk]
        if traj and traj[-1][0] == e.step:
            traj.pop()
        traj.append((int(e.step), temperature, np.asarray(e.image)[0]))
        self.latest[walk] = e
        self._dirty = True

    def temperatures(self, walk: str) -> list[float | None]:
        return [t for _, t, _ in self.trajectory[walk]]

    def refresh(self) -> bool:
        """Draw what came since the last refresh; False when nothing did."""
        if not self._dirty:
            return False
        self._dirty = False
        from engine.utils.images import tile

        for w in WALKS:
            e = self.latest[w]
            if e is None:
                continue
            self.views[w].set_image(tile(e.image, pad_value=0.5) if len(e.image) > 1 else e.image[0])
            self.captions[w].setText(f"step {e.step} · {temperature_text(getattr(e, 'temperature', None))}")
            self.strips[w].set_frames(list(self.trajectory[w]))
        return True
