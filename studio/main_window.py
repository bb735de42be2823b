"""The main window: the panels as docks around a workspace, menus, toolbar, status bar, persistence.

It owns the engine and the one bridge to it; panels get the model library (and through it the bridge) and
never see the engine. Closing the window stops every job and joins the engine thread with a deadline.
"""
from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget,
                               QVBoxLayout, QWidget)

from studio.bridge import EngineBridge
from studio.models import ModelLibrary
from studio.panels.behaviour_panel import BehaviourPanel
from studio.panels.filters_panel import FiltersPanel
from studio.panels.inference_panel import InferencePanel
from studio.panels.inpaint_panel import InpaintPanel
from studio.panels.messages_panel import MessagesPanel
from studio.panels.models_panel import ModelsPanel
from studio.panels.piano_roll_panel import PianoRollPanel
from studio.panels.sampling_panel import SamplingPanel
from studio.panels.training_panel import TrainingPanel
from studio.panels.video_panel import VideoPanel
from studio.settings import Settings
from studio.widgets.notification import NotificationBar

ROOT = Path(__file__).resolve().parents[1]
#: the bundled pretrained model the studio opens with (made by the command in resources/README.md)
DEMO_MODEL = ROOT / "resources" / "models" / "mnist-rbm"
#: the bundled bouncing-balls RTRBM, Nottingham RNN-RBM, MNIST walkback operator and the RBM fine-tuned for
#: inpainting, opened beside it when present, for the Video, Piano roll and Inpaint views
DEMO_VIDEO_MODEL = ROOT / "resources" / "models" / "balls-rtrbm"
DEMO_MUSIC_MODEL = ROOT / "resources" / "models" / "nottingham-rnnrbm"
DEMO_WALKBACK_MODEL = ROOT / "resources" / "models" / "mnist-walkback"
DEMO_INPAINT_MODEL = ROOT / "resources" / "models" / "mnist-rbm-inpaint"
#: bump when the dock layout changes, so an old saved layout is not restored onto new panels
LAYOUT_VERSION = 2
#: where each tool panel docks by default (View > Reset layout puts them back)
DOCK_AREAS = {"models": Qt.DockWidgetArea.LeftDockWidgetArea, "training": Qt.DockWidgetArea.RightDockWidgetArea,
              "filters": Qt.DockWidgetArea.BottomDockWidgetArea, "messages": Qt.DockWidgetArea.BottomDockWidgetArea}
SHUTDOWN_S = 4.0


def checkpoint_folder(path: str) -> str:
    """A dropped or chosen path: the checkpoint folder itself, or its model.json."""
    p = Path(path)
    return str(p.parent if p.name == "model.json" else p)


class MainWindow(QMainWindow):
    def __init__(self, device: str | None = None, data_root: str | None = None,
                 settings: Settings | None = None, load_demo: bool = False, raise_errors: bool = False,
                 confirm_close: bool = True) -> None:
        super().__init__()
        from engine import Engine

        self.settings = settings or Settings()
        self._data_root = data_root
        self.confirm_close = confirm_close
        self.engine = Engine(device=device or str(self.settings.get("device")))
        self.bridge = EngineBridge(self.engine, self, raise_errors=raise_errors)
        self.library = ModelLibrary(self.bridge, self)
        self.setWindowTitle("Boltzmann Studio")
        self.setObjectName("main_window")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)

        self.notification = NotificationBar()
        self.workspace = QTabWidget()
        self.workspace.setObjectName("workspace")
        self.workspace.setDocumentMode(True)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.addWidget(self.notification)
        lay.addWidget(self.workspace, 1)
        self.setCentralWidget(central)

        self.models_panel = ModelsPanel(self.library)
        self.training_panel = TrainingPanel(self.library, data_root=self.data_root)
        self.sampling_panel = SamplingPanel(self.library, data_root=self.data_root)
        self.sampling_panel.fps.setValue(int(self.settings.get("sampling/fps")))
        self.video_panel = VideoPanel(self.library, data_root=self.data_root)
        self.piano_panel = PianoRollPanel(self.library, data_root=self.data_root)
        self.inpaint_panel = InpaintPanel(self.library, data_root=self.data_root)
        self.behaviour_panel = BehaviourPanel(self.library, data_root=self.data_root)
        self.inference_panel = InferencePanel(self.library, data_root=self.data_root)
        self.filters_panel = FiltersPanel(self.library)
        self.messages_panel = MessagesPanel(self.bridge)
        self.panels: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}

        self._build_menus()
        self.add_view("sampling", "Sampling", self.sampling_panel)
        self.add_view("video", "Video", self.video_panel)
        self.add_view("piano", "Piano roll", self.piano_panel)
        self.add_view("inpaint", "Inpaint", self.inpaint_panel)
        self.add_view("behaviour", "Behaviour", self.behaviour_panel)
        self.add_view("inference", "Inference", self.inference_panel)
        self.add_dock("models", "Models", self.models_panel)
        self.add_dock("training", "Training", self.training_panel)
        self.add_dock("filters", "Filters", self.filters_panel)
        self.add_dock("messages", "Messages", self.messages_panel)
        self._arrange_docks()
        self._build_status_bar()

        self.models_panel.new_requested.connect(self.new_model)
        self.models_panel.open_requested.connect(self.open_model)
        self.models_panel.save_requested.connect(self.save_model)
        self.training_panel.training_ended.connect(self.filters_panel.refresh)
        self.piano_panel.notified.connect(self.notify)
        self.inpaint_panel.notified.connect(self.notify)
        self.bridge.job_failed.connect(lambda e: self.notify(e.message, "error"))
        self.bridge.busy_changed.connect(lambda _: self._update_status())
        self.bridge.progress_changed.connect(self._on_progress)
        self.library.current_changed.connect(self._on_current_model)

        self.resize(1400, 900)
        self._restore_layout()
        self._on_current_model(self.library.current)
        if load_demo:
            QTimer.singleShot(0, self.load_demo)

    # ----- layout -----
    def add_view(self, key: str, title: str, widget: QWidget) -> None:
        """A main view: a tab of the central workspace (sampling, video, piano roll, inpaint, behaviour,
        inference)."""
        widget.setObjectName(f"{key}_panel")
        self.panels[key] = widget
        self.workspace.addTab(widget, title)
        action = QAction(title, self)
        action.triggered.connect(lambda: self.workspace.setCurrentWidget(widget))
        self.views_menu.addAction(action)

    def add_dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea | None = None) -> QDockWidget:
        """A tool panel in a dock that can be moved, floated, closed and re-opened from the View menu."""
        widget.setObjectName(f"{key}_panel")
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{key}_dock")
        dock.setWidget(widget)
        self.addDockWidget(area or DOCK_AREAS.get(key, Qt.DockWidgetArea.RightDockWidgetArea), dock)
        self.panels[key] = widget
        self.docks[key] = dock
        toggle = dock.toggleViewAction()
        toggle.setObjectName(f"view_{key}")
        self.panels_menu.addAction(toggle)
        return dock

    def _build_menus(self) -> None:
        def action(menu: Any, text: str, slot: Any, shortcut: Any = None, name: str = "") -> QAction:
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            if name:
                a.setObjectName(name)
            a.triggered.connect(slot)
            menu.addAction(a)
            return a

        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.actions = {
            "new": action(file, "&New model…", self.new_model, QKeySequence.StandardKey.New, "action_new"),
            "open": action(file, "&Open checkpoint…", self.open_model, QKeySequence.StandardKey.Open,
                           "action_open"),
        }
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        self.actions["save"] = action(file, "&Save model", lambda: self.save_model(False),
                                      QKeySequence.StandardKey.Save, "action_save")
        self.actions["save_as"] = action(file, "Save model &as…", lambda: self.save_model(True),
                                         QKeySequence.StandardKey.SaveAs, "action_save_as")
        file.addSeparator()
        self.actions["preferences"] = action(file, "&Preferences…", self.preferences,
                                             QKeySequence.StandardKey.Preferences, "action_preferences")
        file.addSeparator()
        action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit, "action_quit")

        run = bar.addMenu("&Run")
        tp = lambda: self.training_panel  # noqa: E731 - the panel is built after the menus
        self.actions["train"] = action(run, "&Train", lambda: tp().train(), "Ctrl+T", "action_train")
        self.actions["pause"] = action(run, "&Pause / resume training", lambda: tp().toggle_pause(), "Ctrl+P",
                                       "action_pause")
        self.actions["stop"] = action(run, "S&top training", lambda: tp().stop(), "Ctrl+.", "action_stop")
        run.addSeparator()
        self.actions["sample"] = action(run, "&Sample / generate video", lambda: self.sample(), "Ctrl+G",
                                        "action_sample")
        self.actions["stop_all"] = action(run, "Stop &all jobs", self.bridge.cancel_all, "Ctrl+Shift+.",
                                          "action_stop_all")

        view = bar.addMenu("&View")
        self.views_menu = view.addMenu("&Views")
        self.panels_menu = view.addMenu("&Panels")
        view.addSeparator()
        action(view, "&Reset layout", self.reset_layout, None, "action_reset_layout")

        help_ = bar.addMenu("&Help")
        action(help_, "&About Boltzmann Studio", self.about, None, "action_about")

        tools = self.addToolBar("Main")
        tools.setObjectName("main_toolbar")
        for key in ("new", "open", "save", None, "train", "pause", "stop", None, "sample"):
            if key is None:
                tools.addSeparator()
            else:
                tools.addAction(self.actions[key])

    def _build_status_bar(self) -> None:
        self.status_device = QLabel(f"device: {self.engine.device}")
        self.status_engine = QLabel("engine: idle")
        self.status_job = QLabel("")
        self.status_memory = QLabel("")
        for w in (self.status_job, self.status_engine, self.status_device, self.status_memory):
            w.setContentsMargins(6, 0, 6, 0)
            self.statusBar().addPermanentWidget(w)
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start(1000)
        self._update_status()

    def _update_status(self) -> None:
        n = self.bridge.active_jobs()
        self.status_engine.setText("engine: idle" if not n else f"engine: {n} job{'s' * (n > 1)}")
        if not n:
            self.status_job.setText("")
        self.status_memory.setText(f"memory: {memory_mb():,.0f} MB")

    def _on_progress(self, e: Any) -> None:
        h = self.bridge.handle(e.job)
        if h is not None and e.total:
            self.status_job.setText(f"{h.name}: {100 * e.step / e.total:.0f}%")

    def _on_current_model(self, name: str) -> None:
        has = bool(name)
        for key in ("save", "save_as", "train", "sample"):
            self.actions[key].setEnabled(has)
        self.setWindowTitle(f"{name} — Boltzmann Studio" if name else "Boltzmann Studio")
        staying = any(self.workspace.currentWidget() is p and p.shows(name)
                      for p in (self.behaviour_panel, self.inference_panel))
        if has and not staying:  # the view that can show what the model makes: inference, music, videos, samples
            self.workspace.setCurrentWidget(self.inference_panel if self.inference_panel.shows(name)
                                            else self.piano_panel if self.is_music_model(name)
                                            else self.video_panel if self.is_sequence_model(name)
                                            else self.sampling_panel)

    def is_sequence_model(self, name: str) -> bool:
        return bool(self.library.infos.get(name, {}).get("sequence"))

    def is_music_model(self, name: str) -> bool:
        return bool(self.library.infos.get(name, {}).get("music"))

    def sample(self) -> None:
        """Run ▸ Sample: chains of an RBM in the Sampling view, a video of a sequence model in the Video view,
        music from a model of music in the Piano roll view; a Recurrent Ladder reads a sequence in the Inference
        view."""
        if self.inference_panel.shows(self.library.current):
            self.workspace.setCurrentWidget(self.inference_panel)
            self.inference_panel.refresh()
        elif self.is_music_model(self.library.current):
            self.workspace.setCurrentWidget(self.piano_panel)
            self.piano_panel.run_model("generate")
        elif self.is_sequence_model(self.library.current):
            self.workspace.setCurrentWidget(self.video_panel)
            self.video_panel.start()
        else:
            self.workspace.setCurrentWidget(self.sampling_panel)
            self.sampling_panel.start()

    # ----- persistence -----
    def _restore_layout(self) -> None:
        geometry = self.settings.get("window/geometry")
        state = self.settings.get("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is None or not self.restoreState(state, LAYOUT_VERSION):
            QTimer.singleShot(0, self._default_dock_sizes)  # dock sizes hold only once the window is laid out

    def _save_layout(self) -> None:
        self.settings.set("window/geometry", self.saveGeometry())
        self.settings.set("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.set("sampling/fps", self.sampling_panel.fps.value())
        self.settings.sync()

    def reset_layout(self) -> None:
        for key, area in DOCK_AREAS.items():
            dock = self.docks[key]
            dock.setFloating(False)
            self.addDockWidget(area, dock)
            dock.show()
        self._arrange_docks()

    def _arrange_docks(self) -> None:
        """The default layout: the model library on the left and training on the right, both full height;
        filters and messages under the workspace, where the samples are."""
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.docks["filters"], self.docks["messages"])
        self.docks["filters"].raise_()
        self._default_dock_sizes()

    def _default_dock_sizes(self) -> None:
        # Training gets room for its form and two columns of curves; the samples keep the middle
        self.resizeDocks([self.docks["models"], self.docks["training"]], [230, 720], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["filters"]], [300], Qt.Orientation.Vertical)

    def data_root(self) -> str:
        """The data folder to give the engine ("" lets it resolve $BOLTZMANN_DATA and the default)."""
        return self._data_root or str(self.settings.get("data_root") or "")

    # ----- messages -----
    def notify(self, message: str, level: str = "error") -> None:
        """Show a readable message in the window's banner, and keep it in the Messages panel."""
        self.notification.show_message(message, level)
        if level != "error":  # job errors reach the Messages panel from the bridge already
            self.messages_panel.add(message, level)

    # ----- model files -----
    def new_model(self) -> None:
        from studio.dialogs.new_model import NewModelDialog

        dialog = NewModelDialog(self)
        if dialog.exec():
            self.create_model(**dialog.request())

    def create_model(self, kind: str, config: dict, name: str, seed: int = 0) -> Any:
        from engine import jobs

        return self.bridge.submit(jobs.create_model, kind, config, name=name, seed=seed,
                                  on_done=lambda info: self.library.set_current(info["name"]))

    def open_model(self) -> None:
        start = str(self.settings.get("last_dir") or Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open checkpoint folder", start)
        if path:
            self.load_checkpoint(path)

    def load_checkpoint(self, path: str, on_done: Any = None) -> Any:
        """Load a checkpoint folder as a new model; a bad one is reported and changes nothing."""
        from engine import jobs

        folder = checkpoint_folder(path)

        def done(info: dict) -> None:
            self.settings.add_recent(folder)
            self.settings.set("last_dir", str(Path(folder).parent))
            self.library.set_current(info["name"])
            self.notify(f"Opened {info['name']} from {folder}", "info")
            if on_done is not None:
                on_done(info)

        return self.bridge.submit(jobs.load_model, folder, on_done=done, job_name=f"open {Path(folder).name}")

    def save_model(self, choose: bool = False) -> Any:
        from engine import jobs

        name = self.library.current
        if not name:
            return None
        info = self.library.infos.get(name, {})
        path = None if choose else info.get("path")
        if not path:
            start = str(Path(str(self.settings.get("last_dir") or Path.home())) / name)
            path, _ = QFileDialog.getSaveFileName(self, "Save model as (a checkpoint folder)", start)
            if not path:
                return None

        def done(folder: str) -> None:
            self.settings.add_recent(folder)
            self.settings.set("last_dir", str(Path(folder).parent))
            self.notify(f"Saved {name} to {folder}", "info")

        return self.bridge.submit(jobs.save_model, name, path, on_done=done, job_name=f"save {name}")

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.load_checkpoint(p))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def load_demo(self) -> None:
        """Open the bundled MNIST RBM and start its chains, so the window shows something alive at once (and
        the other bundled models that are present, for the Video, Piano roll and Inpaint views)."""
        if not (DEMO_MODEL / "model.json").is_file():
            self.notify(f"The bundled demo model is missing ({DEMO_MODEL}); create a model with File ▸ New.",
                        "warning")
            return
        self.load_checkpoint(str(DEMO_MODEL), on_done=lambda info: self.sampling_panel.start())
        from engine import jobs

        for folder in (DEMO_VIDEO_MODEL, DEMO_MUSIC_MODEL, DEMO_WALKBACK_MODEL, DEMO_INPAINT_MODEL):
            if (folder / "model.json").is_file():
                self.bridge.submit(jobs.load_model, str(folder), job_name=f"open the demo {folder.name}")

    # ----- drag and drop -----
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            self.load_checkpoint(url.toLocalFile())
        event.acceptProposedAction()

    # ----- dialogs -----
    def preferences(self) -> None:
        from studio.dialogs.preferences import PreferencesDialog

        from engine.settings import data_root as default_root

        dialog = PreferencesDialog(self.settings, self, default_root=str(default_root(None)))
        if dialog.exec():
            self.sampling_panel.fps.setValue(int(self.settings.get("sampling/fps")))
            if dialog.device.currentText() != self.engine.device and dialog.device.currentText() != "auto":
                self.notify("The new device is used the next time the studio starts.", "info")

    def about(self) -> None:
        from engine import __version__

        QMessageBox.about(self, "About Boltzmann Studio",
                          f"<h3>Boltzmann Studio {__version__}</h3>"
                          "<p>Train, watch and play with energy-based and recurrent generative models: RBMs, "
                          "RTRBMs, RNN-RBMs, Variational Walkback, Professor Forcing and Recurrent Ladder "
                          "networks.</p>"
                          f"<p>Engine device: {self.engine.device}. Qt via PySide6; plots by pyqtgraph; "
                          "models in PyTorch.</p>")

    # ----- closing -----
    def closeEvent(self, event: QCloseEvent) -> None:
        unsaved = [n for n, i in self.library.infos.items() if i.get("dirty") and i.get("step", 0)]
        if unsaved and self.confirm_close:
            answer = QMessageBox.question(
                self, "Quit Boltzmann Studio",
                f"Trained models not saved: {', '.join(unsaved)}.\n\nQuit anyway and lose that training?",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Discard:
                event.ignore()
                return
        self._save_layout()
        for timer in self.findChildren(QTimer):  # panels' playback and repaint timers: a closed window is idle
            timer.stop()
        self.bridge.cancel_all()
        self.bridge.shutdown(SHUTDOWN_S)
        super().closeEvent(event)


def memory_mb() -> float:
    """This process's resident memory (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
