"""A panel's row of commands: QActions (named ``<prefix>_<key>`` for tests and shortcuts) in a toolbar that
folds what does not fit into an overflow menu, so a narrow dock never forces the window wider."""
from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolBar, QWidget


def action_bar(parent: QWidget, prefix: str,
               specs: Iterable[tuple[str, str, str, Callable[[], object]]]) -> tuple[QToolBar, dict[str, QAction]]:
    """``specs``: (key, text, tooltip, slot). Returns the toolbar and its actions by key."""
    bar = QToolBar(parent)
    bar.setObjectName(f"{prefix}_bar")
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    bar.setIconSize(bar.iconSize())
    actions: dict[str, QAction] = {}
    for key, text, tip, slot in specs:
        a = QAction(text, parent)
        a.setObjectName(f"{prefix}_{key}")
        a.setToolTip(tip)
        a.triggered.connect(lambda _=False, s=slot: s())
        bar.addAction(a)
        actions[key] = a
    return bar, actions
