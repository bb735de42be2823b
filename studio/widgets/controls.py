"""Small control factories shared by the panels."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox


def spin_box(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    """An integer spin box with its range, starting value and tooltip."""
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def timeline(name: str, tip: str, on_change: Any, label_width: int) -> tuple[QSlider, QLabel, QHBoxLayout]:
    """A horizontal slider (object name ``{name}_slider``) with a label after it, as one row."""
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setObjectName(f"{name}_slider")
    slider.setRange(0, 0)
    slider.setToolTip(tip)
    slider.valueChanged.connect(on_change)
    label = QLabel("")
    label.setMinimumWidth(label_width)
    row = QHBoxLayout()
    row.addWidget(slider, 1)
    row.addWidget(label)
    return slider, label, row


class Throttle(QObject):
    """Calls ``callback`` once, at most ``interval_ms`` after the first :meth:`request` since the last call:
    repaints coalesce to a steady rate while events stream in, and an idle panel wakes the GUI thread never
    (a free-running 30 fps timer per panel costs the engine thread a core's attention on a 2-core machine)."""

    def __init__(self, interval_ms: int, callback: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self.timer = QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(callback)

    def request(self) -> None:
        if not self.timer.isActive():
            self.timer.start()
