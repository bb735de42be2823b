"""Filters: the learned weights as a mosaic of receptive fields, with histograms of the weights and of the
hidden units' mean activations. Refreshed when the model changes and, during training, every few seconds."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget

from studio.widgets.image_view import ImageView

#: during training, refresh at most this often (seconds): the job is cheap but the mosaic is large
REFRESH_S = 3.0


class FiltersPanel(QWidget):
    def __init__(self, library: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.bridge = library.bridge
        self.mosaic = ImageView(placeholder="The learned filters of the selected model appear here.")
        self.mosaic.setMinimumSize(200, 200)
        self.weights = self._histogram("Weights", "weight")
        self.hidden = self._histogram("Hidden activations", "mean activation on data")
        self.count = QSpinBox()
        self.count.setRange(1, 2000)
        self.count.setValue(100)
        self.count.setToolTip("How many hidden units to show")
        self.count.valueChanged.connect(lambda _: self.refresh())
        refresh = QPushButton("Refresh")
        refresh.setObjectName("filters_refresh")
        refresh.clicked.connect(self.refresh)
        self.status = QLabel("")
        self.status.setObjectName("filters_status")
        top = QHBoxLayout()
        top.addWidget(QLabel("Units"))
        top.addWidget(self.count)
        top.addWidget(refresh)
        top.addWidget(self.status, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.mosaic)
        hist = pg.GraphicsLayoutWidget()
        hist.setBackground("w")
        hist.addItem(self.weights)
        hist.nextRow()
        hist.addItem(self.hidden)
        split.addWidget(hist)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.filters: np.ndarray | None = None
        self._pending = False
        self._last = 0.0
        self._model = ""
        library.current_changed.connect(lambda _: self.refresh())
        self.bridge.metrics_ready.connect(self._on_metrics)

    @staticmethod
    def _histogram(title: str, x_label: str) -> pg.PlotItem:
        p = pg.PlotItem(title=title)
        p.setLabel("bottom", x_label)
        p.showGrid(x=True, y=True, alpha=0.3)
        p.curve = p.plot(stepMode="center", fillLevel=0, brush=(31, 119, 180, 150), pen=pg.mkPen((31, 119, 180)))
        return p

    def refresh(self) -> None:
        """Ask the engine for the current model's filters (one request in flight at a time)."""
        from engine import jobs

        name = self.library.current
        self._model = name
        if not name:
            self.status.setText("No model selected.")
            return
        if self._pending:
            return
        self._pending = True
        self._last = time.monotonic()
        self.bridge.submit(jobs.filters, name, n=self.count.value(), on_done=lambda r, n=name: self._show(n, r),
                           on_error=self._failed, job_name=f"filters {name}")

    def _failed(self, message: str) -> None:
        self._pending = False
        self.mosaic.item.clear()
        self.status.setText(message)

    def _show(self, name: str, r: dict) -> None:
        from engine.utils.images import tile

        self._pending = False
        if name != self.library.current:
            self.refresh()
            return
        if r is None:
            self.filters = None
            self.mosaic.item.clear()
            self.weights.curve.setData([0, 1], [0])
            self.hidden.curve.setData([0, 1], [0])
            kind = (self.library.infos.get(name) or {}).get("kind", "this")
            self.status.setText(f"{name} is a {kind} model: it has no receptive fields to show.")
            return
        self.filters = r["filters"]
        self.mosaic.set_image(tile(self.filters, pad_value=0.5))
        counts, edges = r["weight_hist"]
        self.weights.curve.setData(edges, counts)
        if r["hidden_hist"] is not None:
            counts, edges = r["hidden_hist"]
            self.hidden.curve.setData(edges, counts)
        else:
            self.hidden.curve.setData([0, 1], [0])
        self.status.setText(f"{len(self.filters)} of {r['n_hidden']} hidden units, "
                            f"{r['shape'][0]}×{r['shape'][1]} each")

    def _on_metrics(self, e: Any) -> None:
        if e.split == "train" and self.isVisible() and time.monotonic() - self._last > REFRESH_S:
            self.refresh()
