"""Preferences: where the datasets are, which device the engine uses, how fast animations run."""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from studio.settings import Settings


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None, default_root: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.data_root = QLineEdit(settings.get("data_root"))
        self.data_root.setObjectName("pref_data_root")
        self.data_root.setPlaceholderText(default_root or "folder holding mnist.npz, polyphonic/, ...")
        self.data_root.setToolTip("The folder with the datasets (mnist.npz, polyphonic/, mocap/, ...). Empty: "
                                  "$BOLTZMANN_DATA, then ../shared/data.")
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.data_root, 1)
        row.addWidget(browse)
        self.device = QComboBox()
        self.device.setObjectName("pref_device")
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(str(settings.get("device")))
        self.device.setToolTip("auto: a CUDA GPU when there is one. Takes effect at the next start.")
        self.fps = QSpinBox()
        self.fps.setObjectName("pref_fps")
        self.fps.setRange(1, 240)
        self.fps.setValue(int(settings.get("sampling/fps")))
        self.fps.setToolTip("Frames a second for live sampling animations")
        form = QFormLayout()
        form.addRow("Data folder", row)
        form.addRow("Device", self.device)
        form.addRow("Animation frames/s", self.fps)
        note = QLabel("The device takes effect the next time the studio starts.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Data folder", self.data_root.text())
        if d:
            self.data_root.setText(d)

    def accept(self) -> None:
        self.settings.set("data_root", self.data_root.text().strip())
        self.settings.set("device", self.device.currentText())
        self.settings.set("sampling/fps", self.fps.value())
        super().accept()
