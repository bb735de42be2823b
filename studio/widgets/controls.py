"""Small control factories shared by the panels."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QLayout, QSlider, QSpinBox, QVBoxLayout,
                               QWidget)


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


def summary_label(name: str) -> QLabel:
    """A wrapping text under a view's settings (object name ``name``)."""
    label = QLabel("")
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setMinimumWidth(190)
    label.setMaximumWidth(230)
    return label


def settings_column(title: str, form: QLayout, summary: QLabel | None = None) -> QVBoxLayout:
    """A view's settings: a titled box with ``form`` (and a summary text under it), at the top of a column."""
    box = QVBoxLayout()
    box.addLayout(form)
    if summary is not None:
        box.addWidget(summary)
    group = QGroupBox(title)
    group.setLayout(box)
    column = QVBoxLayout()
    column.addWidget(group)
    column.addStretch(1)
    return column


def view_layout(view: QWidget, main: QLayout, timeline_row: QLayout, side: QLayout, bar: QWidget,
                foot: QWidget | QLayout) -> None:
    """A workspace view's layout: ``main`` over its timeline, the settings column beside them, and the action
    bar and status line under all."""
    left = QVBoxLayout()
    left.addLayout(main, 1)
    left.addLayout(timeline_row)
    body = QHBoxLayout()
    body.addLayout(left, 1)
    body.addLayout(side)
    layout = QVBoxLayout(view)
    layout.addLayout(body, 1)
    layout.addWidget(bar)
    (layout.addLayout if isinstance(foot, QLayout) else layout.addWidget)(foot)


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
