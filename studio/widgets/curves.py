"""Live training curves: one plot per metric, a train and a validation series in each.

Points go into preallocated numpy buffers (doubled when full); each series is one PlotDataItem updated with
``setData(x[:n], y[:n])``, with peak downsampling and clipping to the view (pyqtgraph's scrolling-plot idiom).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

PENS = {"train": pg.mkPen((31, 119, 180), width=2), "valid": pg.mkPen((255, 127, 14), width=2)}
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.plots: dict[str, pg.PlotItem] = {}
        self.series: dict[tuple[str, str], Series] = {}
        self._dirty: set[tuple[str, str]] = set()

    def clear(self) -> None:
        self.view.clear()
        self.plots.clear()
        self.series.clear()
        self._dirty.clear()

    def _plot(self, metric: str) -> pg.PlotItem:
        if metric not in self.plots:
            if self.plots and len(self.plots) % 2 == 0:
                self.view.nextRow()
            p = self.view.addPlot(title=TITLES.get(metric, metric.replace("_", " ")))
            p.setLabel("bottom", self.x_label)
            p.showGrid(x=True, y=True, alpha=0.3)
            p.addLegend(offset=(-5, 5))
            self.plots[metric] = p
        return self.plots[metric]

    def add_point(self, metric: str, split: str, x: float, y: float) -> None:
        if metric in HIDDEN or not np.isfinite(y):
            return
        key = (metric, split)
        if key not in self.series:
            item = self._plot(metric).plot(pen=PENS.get(split, PENS["train"]), name=split)
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            self.series[key] = Series(item)
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
