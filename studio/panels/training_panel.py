"""Training: dataset, hyperparameters (a form generated from TrainConfig), Train / Pause / Resume / Stop,
progress with ETA and throughput, live curves of every metric, and a log."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QProgressBar, QScrollArea, QSpinBox, QSplitter,
                               QToolButton, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt

from studio.widgets.action_bar import action_bar
from studio.widgets.config_form import ConfigForm
from studio.widgets.curves import CurvesWidget
from studio.widgets.image_view import ImageView

DATASETS = (("MNIST", "mnist"), ("Folder of images…", "folder"))


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class DataSelector(QGroupBox):
    """Which data to train on, as an engine dataset spec."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Data", parent)
        self.dataset = QComboBox()
        self.dataset.setObjectName("dataset")
        for title, key in DATASETS:
            self.dataset.addItem(title, key)
        self.binarize = QComboBox()
        self.binarize.addItems(["stochastic", "threshold", "none"])
        self.binarize.setToolTip("stochastic: one fixed draw per pixel (the literature's protocol); threshold: "
                                 "pixel > 0.5; none: grey levels (for Gaussian visibles)")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder of PNG / JPEG images")
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        self.folder_row = QWidget()
        self.folder_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.limit = QSpinBox()
        self.limit.setRange(0, 10_000_000)
        self.limit.setSpecialValueText("all")
        self.limit.setToolTip("Use only the first N training examples (0: all)")
        self.valid = QSpinBox()
        self.valid.setRange(0, 1_000_000)
        self.valid.setValue(0)
        self.valid.setToolTip("Hold out the last N training examples for validation curves")
        form = QFormLayout(self)
        form.addRow("Dataset", self.dataset)
        form.addRow("Folder", self.folder_row)
        form.addRow("Binarise", self.binarize)
        form.addRow("Examples", self.limit)
        form.addRow("Validation", self.valid)
        self.dataset.currentIndexChanged.connect(self._update)
        self._update()

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of images", self.folder.text())
        if d:
            self.folder.setText(d)

    def _update(self) -> None:
        self.folder_row.setEnabled(self.dataset.currentData() == "folder")

    def spec(self) -> dict:
        spec: dict[str, Any] = {"name": self.dataset.currentData(), "binarize": self.binarize.currentText()}
        if spec["name"] == "folder":
            spec["path"] = self.folder.text()
        if self.limit.value():
            spec["limit"] = self.limit.value()
        if self.valid.value():
            spec["valid"] = self.valid.value()
        return spec

    def set_spec(self, spec: dict) -> None:
        i = self.dataset.findData(spec.get("name", "mnist"))
        if i >= 0:
            self.dataset.setCurrentIndex(i)
        self.binarize.setCurrentText(spec.get("binarize", "stochastic"))
        self.folder.setText(spec.get("path", ""))
        self.limit.setValue(int(spec.get("limit", 0) or 0))
        self.valid.setValue(int(spec.get("valid", 0) or 0))


class TrainingPanel(QWidget):
    #: a training job started (its handle)
    training_started = Signal(object)
    #: the training job ended (finished, failed or stopped)
    training_ended = Signal()

    def __init__(self, library: Any, data_root: Callable[[], str] = lambda: "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from engine.training.trainer import TrainConfig

        self.library = library
        self.bridge = library.bridge
        self.data_root = data_root
        self.handle: Any = None
        self._model = ""
        self.data = DataSelector()
        self.form = ConfigForm(TrainConfig)
        self.form.set_values({"frame_every": 100, "monitor_every": 100})
        settings_box = QGroupBox("Training")
        QVBoxLayout(settings_box).addWidget(self.form)

        bar, self.buttons = action_bar(self, "train", (
            ("start", "Train", "Train the selected model (Ctrl+T); continues where it stopped", self.train),
            ("pause", "Pause", "Pause training (Ctrl+P)", self.pause),
            ("resume", "Resume", "Resume training (Ctrl+P)", self.resume),
            ("stop", "Stop", "Stop training; the model keeps what it learned", self.stop)))
        self.progress = QProgressBar()
        self.progress.setObjectName("train_progress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("Choose or create a model, then press Train.")
        self.status.setObjectName("train_status")
        self.curves = CurvesWidget()
        self.curves.setMinimumHeight(220)
        self.samples = ImageView()
        self.samples.setObjectName("train_samples")
        self.samples.setMinimumSize(120, 120)
        self.samples.setToolTip("What the model currently dreams: its persistent chains (or reconstructions)")
        self._frame: Any = None
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setObjectName("train_log")

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.data)
        lv.addWidget(settings_box)
        lv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        scroll.setMinimumWidth(250)

        right = QSplitter(Qt.Orientation.Vertical)
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.curves)
        views.addWidget(self.samples)
        views.setStretchFactor(0, 3)
        views.setStretchFactor(1, 1)
        right.addWidget(views)
        right.addWidget(self.log)
        right.setStretchFactor(0, 4)
        right.setStretchFactor(1, 1)

        top = QVBoxLayout()
        top.addWidget(bar)
        top.addWidget(self.progress)
        top.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self.bridge.progress_changed.connect(self._on_progress)
        self.bridge.metrics_ready.connect(self._on_metrics)
        self.bridge.log_ready.connect(self._on_log)
        self.bridge.frame_ready.connect(self._on_frame)
        self.bridge.job_finished.connect(self._on_end)
        self.bridge.job_failed.connect(self._on_end)
        self.bridge.job_cancelled.connect(self._on_end)
        self.bridge.job_state_changed.connect(self._on_state)
        library.current_changed.connect(self._on_current_model)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._repaint)
        self._timer.start(100)
        self._update_buttons()

    # ----- model selection -----
    def _on_current_model(self, name: str) -> None:
        if self.handle is not None:
            return  # keep showing the run in progress
        self._model = name
        self.curves.clear()
        self._update_buttons()
        info = self.library.infos.get(name)
        if not info:
            self.status.setText("Choose or create a model, then press Train.")
            return
        spec = (info.get("data") or {}).get("spec")
        if spec:
            self.data.set_spec(spec)
        self.status.setText(f"{name}: {info['step']:,} updates, {info['epoch']:.2f} epochs trained")
        from engine import jobs

        self.bridge.submit(jobs.model_history, name, on_done=lambda h, n=name: self._show_history(n, h))

    def _show_history(self, name: str, history: list[dict]) -> None:
        if name != self._model or self.handle is not None:
            return
        for rec in history:
            self.curves.add_record(rec)
        self.curves.flush()

    # ----- commands -----
    def train(self) -> None:
        from engine.training.trainer import train

        name = self.library.current
        if not name or self.handle is not None:
            return
        spec = self.data.spec()
        if self.data_root():
            spec["root"] = self.data_root()
        cfg = self.form.values()
        info = self.library.infos.get(name, {})
        if info.get("epoch", 0) >= cfg["epochs"]:
            self.status.setText(f"{name} has already trained {info['epoch']:.0f} epochs: raise Epochs to train "
                                "further.")
            return
        self._model = name
        self.log.appendPlainText(f"— training {name}")
        self.handle = self.bridge.submit(train, name, spec, cfg, job_name=f"train {name}")
        self.progress.setValue(0)
        self.status.setText("Loading data…")
        self._update_buttons()
        self.training_started.emit(self.handle)

    def pause(self) -> None:
        if self.handle is not None:
            self.bridge.pause(self.handle)

    def resume(self) -> None:
        if self.handle is not None:
            self.bridge.resume(self.handle)

    def stop(self) -> None:
        if self.handle is not None:
            self.bridge.cancel(self.handle)

    def toggle_pause(self) -> None:
        if self.handle is not None:
            (self.resume if self.handle.paused else self.pause)()

    # ----- events -----
    def _mine(self, event: Any) -> bool:
        return self.handle is not None and event.job == self.handle.id

    def _on_progress(self, e: Any) -> None:
        if not self._mine(e):
            return
        self.progress.setValue(int(1000 * e.step / max(e.total, 1)))
        rate = f"{e.rate:,.0f} {e.unit}/s" if e.rate else "measuring speed…"
        self.status.setText(f"epoch {e.epoch:.2f} · step {e.step:,}/{e.total:,} · {rate} · "
                            f"ETA {format_eta(e.eta_s)}")

    def _on_metrics(self, e: Any) -> None:
        if self._mine(e):
            self.curves.add_record({"epoch": e.epoch, "split": e.split, "values": e.values})

    def _on_frame(self, e: Any) -> None:
        if self._mine(e):
            self._frame = e

    def _repaint(self) -> None:
        self.curves.flush()
        if self._frame is not None:
            from engine.utils.images import tile

            self.samples.set_image(tile(self._frame.image))
            self._frame = None

    def _on_log(self, e: Any) -> None:
        if self._mine(e):
            self.log.appendPlainText(e.message)

    def _on_state(self, e: Any) -> None:
        if self._mine(e):
            if e.state == "paused":
                self.status.setText("Paused. " + self.status.text())
            self._update_buttons()

    def _on_end(self, e: Any) -> None:
        if not self._mine(e):
            return
        from engine import events as ev

        if isinstance(e, ev.Finished):
            self.progress.setValue(1000)
            r = e.result or {}
            self.log.appendPlainText(f"finished: {r.get('epoch', 0):.2f} epochs in {r.get('elapsed_s', 0):.0f} s")
            self.status.setText(f"Done: {r.get('epoch', 0):.2f} epochs. Save the model from the Models panel.")
        elif isinstance(e, ev.Failed):
            self.log.appendPlainText(f"failed: {e.message}")
            self.status.setText(f"Stopped by an error: {e.message}")
        else:
            self.log.appendPlainText("stopped; the model keeps what it learned — press Train to continue")
            self.status.setText("Stopped. Press Train to continue from here.")
        self.curves.flush()
        self.handle = None
        self._update_buttons()
        self.training_ended.emit()

    def _update_buttons(self) -> None:
        running = self.handle is not None
        paused = running and self.handle.paused
        self.buttons["start"].setEnabled(not running and bool(self.library.current))
        self.buttons["pause"].setEnabled(running and not paused)
        self.buttons["resume"].setEnabled(running and paused)
        self.buttons["stop"].setEnabled(running)
