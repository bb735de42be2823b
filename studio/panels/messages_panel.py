"""Messages: every log line, notice and error of every job, time-stamped, newest last."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

COLOURS = {"error": QColor(170, 30, 20), "warning": QColor(150, 100, 0), "info": QColor(40, 40, 40)}


class MessagesPanel(QWidget):
    def __init__(self, bridge: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QPlainTextEdit()
        self.view.setObjectName("messages")
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(5000)
        clear = QPushButton("Clear")
        clear.setObjectName("messages_clear")
        clear.clicked.connect(self.view.clear)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self._names: dict[int, str] = {}
        bridge.job_started.connect(lambda e: self._names.__setitem__(e.job, e.name))
        bridge.log_ready.connect(lambda e: self.add(e.message, e.level, e.job))
        bridge.job_failed.connect(lambda e: self.add(e.message, "error", e.job))

    def add(self, message: str, level: str = "info", job: int = -1) -> None:
        fmt = QTextCharFormat()
        fmt.setForeground(COLOURS.get(level, COLOURS["info"]))
        who = f"[{self._names[job]}] " if job in self._names else ""
        cursor = self.view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        if not self.view.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(f"{time.strftime('%H:%M:%S')}  {who}{message}", fmt)
        self.view.ensureCursorVisible()

    def text(self) -> str:
        return self.view.toPlainText()
