"""New model: choose a family, name it and set its shape; the form comes from the family's config dataclass."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QLabel, QLineEdit,
                               QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from studio.widgets.config_form import ConfigForm

#: the bundled datasets' frames, offered as presets: (title, n_visible, visible units or "" to keep)
SHAPE_PRESETS = (("MNIST digits (28×28 = 784)", 784, "binary"),
                 ("Bouncing balls video (30×30 = 900)", 900, "binary"),
                 ("Motion capture, MIT walking (49 channels)", 49, "gaussian"),
                 ("Piano roll, 88 keys (MIDI pitches 21-108)", 88, "binary"),
                 ("Occluded moving MNIST video (32×32 = 1024)", 1024, "binary"),
                 ("Custom", 0, ""))
VISIBLE_NAMES = {"binary": ("binary", "bernoulli"), "gaussian": ("gaussian",)}
#: the preset each family starts with: sequence models are for videos and motion, models of music for the
#: 88 piano keys, the Recurrent Ladder for occluded moving digits, the others for images
FAMILY_PRESET = {"rtrbm": 1, "trbm": 1, "rnnrbm": 3, "rnnnade": 3, "note_rnn": 3, "professor": 3, "ladder": 4}


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
        for title, n, visible in SHAPE_PRESETS:
            self.preset.addItem(title, (n, visible))
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
        kind, before = self.family.currentData(), getattr(self, "_kind", None)
        self._kind = kind
        preset = FAMILY_PRESET.get(kind, 0)
        if (before is None or preset != FAMILY_PRESET.get(before, 0)) and self.preset.currentIndex() != preset:
            self.preset.setCurrentIndex(preset)  # from images to sequences or back; applies it
        else:
            self._apply_preset()

    def _apply_preset(self) -> None:
        n, visible = self.preset.currentData()
        widgets = self.form().widgets
        if n and "n_visible" in widgets:
            self.form().set_values({"n_visible": n})
        if visible and "visible" in widgets:  # the RBM calls binary units bernoulli
            box = widgets["visible"]
            names = [box.itemText(i) for i in range(box.count())]
            choice = next((c for c in VISIBLE_NAMES[visible] if c in names), None)
            if choice:
                self.form().set_values({"visible": choice})

    def request(self) -> dict[str, Any]:
        """What to pass to ``engine.jobs.create_model``."""
        return {"kind": self.family.currentData(), "config": self.form().values(),
                "name": self.name.text().strip() or self.family.currentData(), "seed": self.seed.value()}
