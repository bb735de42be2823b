"""The model library: every model the engine holds, with new / open / save / duplicate / rename / delete."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from studio.widgets.action_bar import action_bar
from PySide6.QtWidgets import (QHeaderView, QInputDialog, QMessageBox,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

COLUMNS = ("Name", "Kind", "Size", "Data", "Steps", "Best")


def best_metric(info: dict) -> str:
    best = info.get("best") or {}
    for key in ("ais_ll", "exact_ll", "pseudo_ll", "recon_error"):
        if key in best:
            return f"{key} {best[key]:.4g}"
    return ""


def size_text(info: dict) -> str:
    cfg = info.get("config", {})
    if "n_visible" in cfg and "n_hidden" in cfg:
        return f"{cfg['n_visible']}×{cfg['n_hidden']}"
    return f"{info.get('parameters', 0):,} params"


class ModelsPanel(QWidget):
    #: the user asked for a new model
    new_requested = Signal()
    #: the user asked to open a checkpoint
    open_requested = Signal()
    #: the user asked to save the current model (True: choose a new place)
    save_requested = Signal(bool)

    def __init__(self, library: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.bridge = library.bridge
        self.tree = QTreeWidget()
        self.tree.setObjectName("model_list")
        self.tree.setMinimumWidth(220)
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_current_item)
        self.tree.itemDoubleClicked.connect(lambda *_: self.rename())

        bar, self.buttons = action_bar(self, "models", (
            ("new", "New…", "Create a model (Ctrl+N)", self.new_requested.emit),
            ("open", "Open…", "Open a checkpoint folder (Ctrl+O)", self.open_requested.emit),
            ("save", "Save", "Save the selected model (Ctrl+S)", lambda: self.save_requested.emit(False)),
            ("save_as", "Save as…", "Save the selected model elsewhere", lambda: self.save_requested.emit(True)),
            ("duplicate", "Duplicate", "Copy the selected model", self.duplicate),
            ("rename", "Rename…", "Rename the selected model", self.rename),
            ("delete", "Delete", "Remove the selected model from the studio", self.delete)))
        layout = QVBoxLayout(self)
        layout.addWidget(bar)
        layout.addWidget(self.tree)
        library.models_changed.connect(self.refresh)
        library.current_changed.connect(self._select)
        self.refresh()

    def refresh(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        for name, info in self.library.infos.items():
            data = (info.get("data") or {}).get("spec", {}).get("name", "")
            row = QTreeWidgetItem([name + (" •" if info.get("dirty") else ""), info["kind"], size_text(info), data,
                                   f"{info.get('step', 0):,}", best_metric(info)])
            row.setData(0, Qt.ItemDataRole.UserRole, name)
            row.setToolTip(0, info.get("path") or "not saved yet")
            self.tree.addTopLevelItem(row)
            if name == self.library.current:
                self.tree.setCurrentItem(row)
        self.tree.blockSignals(False)
        has = bool(self.library.current)
        for key in ("save", "save_as", "duplicate", "rename", "delete"):
            self.buttons[key].setEnabled(has)

    def _select(self, name: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == name:
                self.tree.setCurrentItem(item)
        self.refresh()

    def _on_current_item(self, item: QTreeWidgetItem | None, _prev: Any) -> None:
        if item is not None:
            self.library.set_current(item.data(0, Qt.ItemDataRole.UserRole))

    def duplicate(self) -> None:
        from engine import jobs

        if self.library.current:
            self.bridge.submit(jobs.duplicate_model, self.library.current,
                               on_done=lambda info: self.library.set_current(info["name"]))

    def rename(self) -> None:
        from engine import jobs

        old = self.library.current
        if not old:
            return
        new, ok = QInputDialog.getText(self, "Rename model", "New name:", text=old)
        if ok and new.strip() and new.strip() != old:
            self.bridge.submit(jobs.rename_model, old, new.strip(),
                               on_done=lambda info: self.library.set_current(info["name"]))

    def delete(self, confirm: bool = True) -> None:
        from engine import jobs

        name = self.library.current
        if not name:
            return
        info = self.library.infos.get(name, {})
        if confirm:
            extra = "\n\nIt has unsaved changes." if info.get("dirty") else ""
            answer = QMessageBox.question(self, "Delete model", f"Remove {name!r} from the studio?{extra}\n"
                                          "Files on disk are not deleted.")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.bridge.submit(jobs.delete_model, name)
