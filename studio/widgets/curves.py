"""Live training curves: one plot per metric, a train and a validation series in each.

Points go into preallocated numpy buffers (doubled when full); each series is one PlotDataItem updated with
``setData(x[:n], y[:n])``, with peak downsampling and clipping to the view (pyqtgraph's scrolling-plot idiom).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

COLORS = {"train": (31, 119, 180), "valid": (255, 127, 14)}
PENS = {split: pg.mkPen(color, width=2) for split, color in COLORS.items()}
#: height of one row of plots, so that small docks scroll rather than squash the axes
ROW_HEIGHT = 170
#: narrowest a plot gets before the grid drops a column
PLOT_WIDTH = 300
HIDDEN = {"lr"}
TITLES = {"recon_error": "Reconstruction error", "free_energy": "Free energy", "pseudo_ll":
          "Pseudo-log-likelihood", "ais_ll": "AIS log-likelihood", "exact_ll": "Log-likelihood"}


class Series:
    def __init__(self, item: pg.PlotDataItem, capacity: int = 256) -> None:
        self.item = item
        self.x = np.empty(capacity)
        self.y = np.empty(capacity)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.resize(self.x, 2 * self.n)
            self.y = np.resize(self.y, 2 * self.n)
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1

    def flush(self) -> None:
        self.item.setData(self.x[:self.n], self.y[:self.n])


class CurvesWidget(QWidget):
    def __init__(self, parent: QWidget | None = None, x_label: str = "epoch") -> None:
        super().__init__(parent)
        self.x_label = x_label
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.plots: dict[str, pg.PlotItem] = {}
        self.series: dict[tuple[str, str], Series] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._columns = 2

    def _fit_columns(self, width: int) -> int:
        return max(1, min(3, width // PLOT_WIDTH))

    def _layout(self) -> None:
        """Place the plots in a grid as wide as the widget allows; rows scroll."""
        ci = self.view.ci
        for p in self.plots.values():
            if p in ci.items:
                ci.removeItem(p)
        for i, p in enumerate(self.plots.values()):
            ci.addItem(p, row=i // self._columns, col=i % self._columns)
        rows = -(-len(self.plots) // self._columns)
        self.view.setMinimumHeight(ROW_HEIGHT * rows)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        columns = self._fit_columns(event.size().width())
        if columns != self._columns:
            self._columns = columns
            self._layout()

    def clear(self) -> None:
        self.view.clear()
        self.view.setMinimumHeight(0)
        self.plots.clear()
        self.series.clear()
        self._dirty.clear()

    def _plot(self, metric: str) -> pg.PlotItem:
        if metric not in self.plots:
            p = pg.PlotItem()
            p.setLabel("bottom", self.x_label)
            p.showGrid(x=True, y=True, alpha=0.3)
            p.getAxis("left").setWidth(48)
            self.plots[metric] = p
            self._layout()
        return self.plots[metric]

    def _retitle(self, metric: str) -> None:
        """The title doubles as the legend: the metric's name and its splits in their colours."""
        keys = ""
        for split in (s for (m, s) in self.series if m == metric):
            r, g, b = COLORS.get(split, COLORS["train"])
            keys += f"&nbsp;&nbsp;<span style='color:#{r:02x}{g:02x}{b:02x}'>&#9632; {split}</span>"
        self.plots[metric].setTitle(f"{TITLES.get(metric, metric.replace('_', ' ').capitalize())}{keys}",
                                    size="10pt")

    def add_point(self, metric: str, split: str, x: float, y: float) -> None:
        if metric in HIDDEN or not np.isfinite(y):
            return
        key = (metric, split)
        if key not in self.series:
            item = self._plot(metric).plot(pen=PENS.get(split, PENS["train"]), name=split)
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            self.series[key] = Series(item)
            self._retitle(metric)
        self.series[key].append(x, y)
        self._dirty.add(key)

    def add_record(self, record: dict, x_key: str = "epoch") -> None:
        for metric, value in record.get("values", {}).items():
            self.add_point(metric, record.get("split", "train"), float(record.get(x_key, 0)), float(value))

    def flush(self) -> None:
        """Redraw the series that gained points (called from the panel's repaint timer)."""
        for key in self._dirty:
            self.series[key].flush()
        self._dirty.clear()

    def n_points(self, metric: str, split: str = "train") -> int:
        s = self.series.get((metric, split))
        return 0 if s is None else s.n
