"""Small control factories shared by the panels."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QSpinBox


def spin_box(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    """An integer spin box with its range, starting value and tooltip."""
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


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
