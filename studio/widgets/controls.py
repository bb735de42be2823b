"""Small control factories shared by the panels."""
from __future__ import annotations

from PySide6.QtWidgets import QSpinBox


def spin_box(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    """An integer spin box with its range, starting value and tooltip."""
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s
