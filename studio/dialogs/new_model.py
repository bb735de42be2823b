"""New model: choose a family, name it and set its shape; the form comes from the family's config dataclass."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QLabel, QLineEdit,
                               QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from studio.widgets.config_form import ConfigForm

#: visible sizes of the bundled datasets, offered as presets for n_visible
SHAPE_PRESETS = (("MNIST digits (28×28 = 784)", 784), ("Custom", 0))


class NewModelDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, families: dict | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New model")
        if families is None:
            from engine.models import FAMILIES as families
        self.families = families
        self.family = QComboBox()
        self.family.setObjectName("new_family")
        self.forms = QStackedWidget()
        for kind, fam in families.items():
            self.family.addItem(fam.title, kind)
            form = ConfigForm(fam.config_cls)
            self.forms.addWidget(form)
        self.name = QLineEdit()
        self.name.setObjectName("new_name")
        self.name.setPlaceholderText("a name for the model")
        self.preset = QComboBox()
        self.preset.setObjectName("new_preset")
        for title, n in SHAPE_PRESETS:
            self.preset.addItem(title, n)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Seed of the initial weights")
        top = QFormLayout()
        top.addRow("Family", self.family)
        top.addRow("Name", self.name)
        top.addRow("Data shape", self.preset)
        top.addRow("Seed", self.seed)
        box = QGroupBox("Model")
        QVBoxLayout(box).addWidget(self.forms)
        hint = QLabel("Hover a field for what it does. Train the model from the Training panel.")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(box, 1)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.family.currentIndexChanged.connect(self._on_family)
        self.preset.currentIndexChanged.connect(self._apply_preset)
        self._on_family(0)

    def form(self) -> ConfigForm:
        return self.forms.currentWidget()

    def _on_family(self, index: int) -> None:
        self.forms.setCurrentIndex(index)
        if not self.name.text():
            self.name.setPlaceholderText(self.family.currentData())
        self._apply_preset()

    def _apply_preset(self) -> None:
        n = self.preset.currentData()
        if n and "n_visible" in self.form().widgets:
            self.form().set_values({"n_visible": n})

    def request(self) -> dict[str, Any]:
        """What to pass to ``engine.jobs.create_model``."""
        return {"kind": self.family.currentData(), "config": self.form().values(),
                "name": self.name.text().strip() or self.family.currentData(), "seed": self.seed.value()}
