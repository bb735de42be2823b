"""A stick figure from joint positions (J, 3), vertical axis 1: a side and a front view, side by side.

The camera follows the root joint sideways at a fixed scale (:class:`engine.utils.video.StageBounds`), and
marks on the ground slide by as the figure walks; the exported GIFs draw the same views.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

#: the horizontal axis of each view, as in engine.utils.video.VIEWS (not imported: it would load torch)
VIEWS = (("side", 0), ("front", 2))


class SkeletonView(QWidget):
    def __init__(self, color: tuple[int, int, int] = (140, 200, 255), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.setBackground((30, 30, 30))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.bones: np.ndarray = np.zeros((0, 2), int)
        self.bounds: Any = None
        self.pose: np.ndarray | None = None
        self.plots: list[tuple[pg.PlotItem, int, pg.PlotDataItem, pg.PlotDataItem]] = []
        pen = pg.mkPen(color, width=3)
        for title, axis in VIEWS:
            plot = self.widget.addPlot(title=title)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            plot.setAspectLocked(True)
            ground = plot.plot(pen=pg.mkPen((110, 110, 110), width=1), connect="pairs")
            figure = plot.plot(pen=pen, connect="pairs", symbol="o", symbolSize=4, symbolBrush=color,
                               symbolPen=None)
            self.plots.append((plot, axis, figure, ground))

    def set_skeleton(self, bones: Sequence[tuple[int, int]], bounds: Any = None) -> None:
        """The (parent, child) joint pairs to draw, and the stage (None: fit the first pose shown)."""
        self.bones = np.asarray(bones, int).reshape(-1, 2)
        self.bounds = bounds
        self.pose = None

    def clear(self) -> None:
        self.pose = None
        for _, _, figure, ground in self.plots:
            figure.setData([], [])
            ground.setData([], [])

    def set_pose(self, pose: np.ndarray) -> None:
        if self.bounds is None:
            from engine.utils.video import stage_bounds

            self.bounds = stage_bounds(pose)
        self.pose = pose
        b = self.bounds
        idx = self.bones.reshape(-1)
        for plot, axis, figure, ground in self.plots:
            cx = float(pose[0, axis])
            figure.setData(pose[idx, axis], pose[idx, 1])
            first, last = np.ceil((cx - b.half_width) / b.marks), np.floor((cx + b.half_width) / b.marks)
            xs = np.arange(first, last + 1) * b.marks
            tick = 0.02 * b.height
            gx = np.concatenate([[cx - b.half_width, cx + b.half_width], np.repeat(xs, 2)])
            gy = np.concatenate([[b.ground, b.ground], np.tile([b.ground, b.ground - tick], len(xs))])
            ground.setData(gx, gy)
            # both at once: the locked aspect then widens one range rather than cutting the other
            plot.setRange(xRange=(cx - b.half_width, cx + b.half_width), yRange=(b.floor, b.floor + b.height),
                          padding=0)
