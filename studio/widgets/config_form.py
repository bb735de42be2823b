"""A form generated from a config dataclass: one typed widget per field, with its range and help as tooltip."""
from __future__ import annotations

import dataclasses
import typing
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox, QWidget


class FloatBox(QDoubleSpinBox):
    """A spin box for floats that shows 0.01 rather than 0.010000 (six significant digits kept)."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


class ConfigForm(QWidget):
    #: a value was edited by the user
    values_changed = Signal()

    def __init__(self, cls: type, parent: QWidget | None = None, skip: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.cls = cls
        self.widgets: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in skip:
                continue
            w = self._make(f, hints[f.name])
            w.setObjectName(f"field_{f.name}")
            help_ = f.metadata.get("help", "")
            rng = [f.metadata.get("min"), f.metadata.get("max")]
            if rng != [None, None]:
                help_ += f"\nRange: {rng[0]} .. {rng[1]}"
            w.setToolTip(help_.strip())
            self.widgets[f.name] = w
            layout.addRow(f.metadata.get("label") or _label(f.name), w)
        self.set_values({f.name: f.default for f in dataclasses.fields(cls) if f.name not in skip})

    def _make(self, f: dataclasses.Field, typ: Any) -> QWidget:
        meta = f.metadata
        if meta.get("choices"):
            w = QComboBox()
            w.addItems([str(c) for c in meta["choices"]])
            w.currentIndexChanged.connect(self.values_changed)
        elif typ is bool:
            w = QCheckBox()
            w.toggled.connect(self.values_changed)
        elif typ is int:
            w = QSpinBox()
            w.setRange(int(meta.get("min") if meta.get("min") is not None else -2**31),
                       int(min(meta.get("max") if meta.get("max") is not None else 2**31 - 1, 2**31 - 1)))
            w.setKeyboardTracking(False)
            w.valueChanged.connect(self.values_changed)
        elif typ is float:
            w = FloatBox()
            w.setDecimals(6)
            w.setRange(float(meta.get("min") if meta.get("min") is not None else -1e12),
                       float(meta.get("max") if meta.get("max") is not None else 1e12))
            w.setSingleStep(max(abs(float(f.default)) / 10, 1e-4) if f.default else 0.01)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(self.values_changed)
        else:
            w = QLineEdit()
            w.editingFinished.connect(self.values_changed)
        return w

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.widgets.items():
            if isinstance(w, QComboBox):
                out[name] = w.currentText()
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                out[name] = w.value()
            else:
                out[name] = w.text()
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        for name, v in values.items():
            w = self.widgets.get(name)
            if w is None:
                continue
            w.blockSignals(True)
            if isinstance(w, QComboBox):
                w.setCurrentText(str(v))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            elif isinstance(w, QSpinBox):
                w.setValue(int(v))
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(v))
            else:
                w.setText("" if v is None else str(v))
            w.blockSignals(False)
