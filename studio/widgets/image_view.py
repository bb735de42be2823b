"""An image (or a grid of images) shown with pyqtgraph: fixed aspect, grey levels in [0, 1]."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major")


class ImageView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.setBackground((30, 30, 30))
        self.box = self.widget.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.item = pg.ImageItem()
        self.box.addItem(self.item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        self.image: np.ndarray | None = None

    def set_image(self, image: np.ndarray, levels: tuple[float, float] = (0.0, 1.0)) -> None:
        first = self.image is None or self.image.shape != image.shape
        self.image = image
        self.item.setImage(image, autoLevels=False, levels=levels)
        if first:
            self.box.autoRange(padding=0.02)
