"""What the studio knows of the engine's models: plain-value summaries, kept current from ModelChanged events.

This is the GUI-side document of the model library. Panels read it and listen to its signals; changes to
models themselves are jobs sent through the bridge.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class ModelLibrary(QObject):
    #: the set of models or one model's summary changed
    models_changed = Signal()
    #: the model the panels work on changed (name, or "" for none)
    current_changed = Signal(str)

    def __init__(self, bridge: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.infos: dict[str, dict] = {}
        self._current = ""
        bridge.model_changed.connect(self._on_model_changed)

    @property
    def current(self) -> str:
        return self._current

    def current_info(self) -> dict | None:
        return self.infos.get(self._current)

    def set_current(self, name: str) -> None:
        if name != self._current:
            self._current = name if name in self.infos else ""
            self.current_changed.emit(self._current)

    def _on_model_changed(self, event: Any) -> None:
        if event.info is None:
            self.infos.pop(event.model, None)
            if event.model == self._current:
                self._current = ""
                self.models_changed.emit()
                self.current_changed.emit("")
                return
        else:
            self.infos[event.model] = dict(event.info)
        self.models_changed.emit()
        if not self._current and event.info is not None:
            self.set_current(event.model)
