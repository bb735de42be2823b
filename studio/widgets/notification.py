"""A banner across the top of the window for errors and notices: readable, non-modal, dismissable."""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

STYLES = {
    "error": "background:#fde2e1; color:#7a1712; border:1px solid #e8a19c;",
    "warning": "background:#fff4d6; color:#6b4e00; border:1px solid #e9cf7a;",
    "info": "background:#e3effd; color:#13406e; border:1px solid #9cc0e8;",
}
ICONS = {"error": "✖", "warning": "⚠", "info": "ℹ"}
#: notices (not errors) hide themselves after this many milliseconds
INFO_TIMEOUT_MS = 8000


class NotificationBar(QFrame):
    #: the user closed the banner
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notification")
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setObjectName("notification_text")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(self.text.textInteractionFlags() | self.text.textInteractionFlags()
                                          .TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.icon)
        row.addWidget(self.text, 1)
        row.addWidget(close)
        self.level = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    def show_message(self, message: str, level: str = "error") -> None:
        """Show ``message``; an error stays until dismissed, a notice hides itself after a while."""
        self.level = level
        self.setStyleSheet(f"QFrame#notification {{{STYLES.get(level, STYLES['info'])} border-radius:4px;}}")
        self.icon.setText(ICONS.get(level, ""))
        self.text.setText(message)
        self.show()
        if level == "info":
            self._timer.start(INFO_TIMEOUT_MS)
        else:
            self._timer.stop()

    def message(self) -> str:
        return self.text.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
