"""An image (or a grid of images) shown with pyqtgraph: fixed aspect, grey levels in [0, 1]; a line of
text stands in for it until there is one."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major")


class ImageView(QWidget):
    def __init__(self, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.setBackground((30, 30, 30))
        self.box = self.widget.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.item = pg.ImageItem()
        self.box.addItem(self.item)
        self.placeholder = QLabel(placeholder)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("background: rgb(30, 30, 30); color: rgb(170, 170, 170); padding: 12px;")
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.placeholder)
        self._stack.addWidget(self.widget)
        self.image: np.ndarray | None = None

    def set_placeholder(self, text: str) -> None:
        self.placeholder.setText(text)

    def set_image(self, image: np.ndarray, levels: tuple[float, float] = (0.0, 1.0)) -> None:
        first = self.image is None or self.image.shape != image.shape
        self.image = image
        self.item.setImage(image, autoLevels=False, levels=levels)
        self._stack.setCurrentWidget(self.widget)
        if first:
            self.box.autoRange(padding=0.02)

    def clear(self) -> None:
        """Back to the placeholder text."""
        self.image = None
        self.item.clear()
        self._stack.setCurrentWidget(self.placeholder)
