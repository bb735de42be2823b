"""The studio's preferences, kept in QSettings (window layout, data root, device, recent files, folders)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings

MAX_RECENT = 10

DEFAULTS: dict[str, Any] = {
    "data_root": "",
    "device": "auto",
    "last_dir": "",
    "sampling/fps": 30,
}


class Settings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings()

    def get(self, key: str, default: Any = None) -> Any:
        fallback = DEFAULTS.get(key, default)
        value = self.q.value(key, fallback)
        if isinstance(fallback, bool) and isinstance(value, str):
            return value.lower() == "true"
        if isinstance(fallback, int) and not isinstance(fallback, bool) and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return fallback
        return value

    def set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def recent_files(self) -> list[str]:
        value = self.q.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> list[str]:
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.q.setValue("recent_files", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def sync(self) -> None:
        self.q.sync()
