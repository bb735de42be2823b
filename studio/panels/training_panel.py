"""Training: dataset, hyperparameters (a form generated from TrainConfig), Train / Pause / Resume / Stop,
progress with ETA and throughput, live curves of every metric, and a log."""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QProgressBar, QScrollArea, QSpinBox, QSplitter, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt

from studio.widgets.action_bar import action_bar
from studio.widgets.controls import Throttle
from studio.widgets.config_form import ConfigForm
from studio.widgets.curves import CurvesWidget
from studio.widgets.image_view import ImageView

DATASETS = (("MNIST", "mnist"), ("Bouncing balls (video)", "bouncing_balls"),
            ("Occluded moving MNIST (video, labelled)", "occluded_moving_mnist"),
            ("Moving MNIST (video, two digits)", "moving_mnist"),
            ("Motion capture: MIT walking", "mocap_mit"), ("Motion capture: BVH file or folder…", "bvh"),
            ("Music: Nottingham folk tunes", "nottingham"), ("Music: JSB chorales", "jsb_chorales"),
            ("Music: Piano-midi.de", "piano_midi_de"), ("Music: MuseData", "musedata"),
            ("Music: folder of MIDI files…", "midi_folder"), ("Folder of images…", "folder"))
MUSIC = ("transpose", "limit")
#: which options each dataset takes (the other rows are hidden)
OPTIONS = {"mnist": ("binarize", "limit", "valid"), "folder": ("path", "binarize", "limit", "valid"),
           "bouncing_balls": ("n_train", "T", "n_balls", "res", "valid"),
           "occluded_moving_mnist": ("fresh_motion", "limit", "valid"), "moving_mnist": ("n_train", "T", "valid"),
           "mocap_mit": ("T", "limit", "valid"), "bvh": ("path", "T", "limit", "valid"),
           "nottingham": MUSIC, "jsb_chorales": MUSIC, "piano_midi_de": MUSIC, "musedata": MUSIC,
           "midi_folder": ("path", *MUSIC)}
#: datasets of sequences (what TRBMs, RTRBMs and the music models train on)
SEQUENCE_DATASETS = ("bouncing_balls", "occluded_moving_mnist", "moving_mnist", "mocap_mit", "bvh", "nottingham",
                     "jsb_chorales", "piano_midi_de", "musedata", "midi_folder")
#: frames per training sequence of the generated and motion datasets
DEFAULT_T = {"bouncing_balls": 100, "moving_mnist": 20, "mocap_mit": 50, "bvh": 50}
#: the folder box's hint for each dataset that takes a path
PATH_HINTS = {"bvh": "a .bvh file, or a folder of them (e.g. mocap/cmu_bvh)",
              "midi_folder": "a folder of .mid files (or one file)", "folder": "a folder of PNG / JPEG images"}


class Switch(NamedTuple):
    """A choice of how a kind of model learns, shown in its own box above the training options and kept by
    the model (a config field that :func:`engine.jobs.retune` or ``set_mode`` changes between runs)."""
    title: str
    label: str
    field: str
    choices: tuple[tuple[str, str], ...]  # (text, value)
    tip: str
    said: dict[str, str]  # how the log names each value


SWITCHES = {
    "professor": Switch(
        "Recurrent generator", "Mode", "mode", (("Teacher forcing", "teacher"), ("Professor forcing", "professor")),
        "Teacher forcing: the generator only learns to predict the next frame of real data.\n"
        "Professor forcing: a discriminator also learns to tell its free-running behaviour from its teacher-forced "
        "one,\nand the generator learns to fool it, so that it behaves the same when it runs on its own. "
        "Switching keeps what it learned.",
        {"teacher": "teacher forcing", "professor": "professor forcing (a fresh discriminator)"}),
    "rbm": Switch(
        "Restricted Boltzmann machine", "Learning rule", "sampler",
        (("PCD (likelihood)", "pcd"), ("CD (likelihood)", "cd"), ("Inpainting (multi-prediction)", "mp")),
        "PCD and CD follow the likelihood gradient: the RBM learns to generate the data.\n"
        "Inpainting (multi-prediction) hides random parts of each image, fills them in with the rest clamped "
        "and learns from the error:\nthe RBM gets better at the Inpaint view's job. Best as a short fine-tune "
        "of an RBM trained by PCD; switching keeps what it learned.",
        {"pcd": "PCD", "cd": "CD", "mp": "multi-prediction (inpainting)"}),
}

#: below this width for the curves, the training form goes above them instead of beside
MIN_CURVES_WIDTH = 320


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _spin(lo: int, hi: int, value: int, tip: str, special: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    if special:
        s.setSpecialValueText(special)
    return s


def sequence_data_for(info: dict) -> dict:
    """Bundled sequence data that fits a new sequence model: motion capture for real-valued visibles, occluded
    moving digits for a Recurrent Ladder of 32x32 frames, music for a model of frames that are not a square
    image, else bouncing balls of its frame size."""
    import math

    config = info.get("config", {})
    n = int(config.get("n_visible", 900))
    res = math.isqrt(n)
    if config.get("visible") == "gaussian":
        return {"name": "mocap_mit"}
    if info.get("kind") == "ladder" and n == 32 * 32:
        return {"name": "occluded_moving_mnist", "fresh_motion": True}
    if (info.get("music") or info.get("kind") == "ladder") and res * res != n:
        return {"name": "nottingham"}
    return {"name": "bouncing_balls", "res": res if res * res == n else 30}


class DataSelector(QGroupBox):
    """Which data to train on, as an engine dataset spec; only the chosen dataset's options are shown."""

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
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        self.folder_row = QWidget()
        self.folder_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.transpose = QCheckBox("to C major / A minor")
        self.transpose.setToolTip("Move every piece to C major or A minor (by the key its notes suggest): "
                                  "fewer keys to learn from little data")
        self.fresh_motion = QCheckBox("new motion every epoch")
        self.fresh_motion.setChecked(True)
        self.fresh_motion.setToolTip("After the first epoch every training digit moves anew (the same digits and "
                                     "labels): without it the recurrent levels learn the training videos by heart")
        self.limit = _spin(0, 10_000_000, 0, "Use only the first N training examples or pieces (0: all)", "all")
        self.valid = _spin(0, 1_000_000, 0, "Hold out the last N training examples for validation curves")
        self.n_train = _spin(1, 1_000_000, 4000, "Training videos (drawn afresh every epoch; the paper: 4000)")
        self.T = _spin(2, 100_000, 100, "Frames per training sequence (videos: 100; motion capture: windows of "
                                        "50)")
        self.n_balls = _spin(1, 8, 3, "Balls in each video")
        self.res = _spin(2, 256, 30, "Video frames are res × res pixels (30: 900 visible units)")
        self.form = QFormLayout(self)
        self.rows: dict[str, QWidget] = {"path": self.folder_row, "binarize": self.binarize,
                                         "transpose": self.transpose, "fresh_motion": self.fresh_motion,
                                         "limit": self.limit,
                                         "valid": self.valid, "n_train": self.n_train, "T": self.T,
                                         "n_balls": self.n_balls, "res": self.res}
        self.form.addRow("Dataset", self.dataset)
        for key, title in (("path", "Folder"), ("binarize", "Binarise"), ("transpose", "Transpose"),
                           ("fresh_motion", "Motion"), ("n_train", "Videos"),
                           ("T", "Frames"), ("n_balls", "Balls"), ("res", "Resolution"), ("limit", "Examples"),
                           ("valid", "Validation")):
            self.form.addRow(title, self.rows[key])
        self.dataset.currentIndexChanged.connect(self._update)
        self._update()

    def key(self) -> str:
        return str(self.dataset.currentData())

    def _browse(self) -> None:
        title = {"bvh": "Folder of BVH files", "midi_folder": "Folder of MIDI files"}.get(self.key(),
                                                                                        "Folder of images")
        d = QFileDialog.getExistingDirectory(self, title, self.folder.text())
        if d:
            self.folder.setText(d)

    def _update(self) -> None:
        key = self.key()
        shown = OPTIONS.get(key, ())
        for name, widget in self.rows.items():
            self.form.setRowVisible(widget, name in shown)
        self.folder.setPlaceholderText(PATH_HINTS.get(key, ""))
        if key in DEFAULT_T and self.T.value() in DEFAULT_T.values():  # another dataset's default: this one's
            self.T.setValue(DEFAULT_T[key])

    def spec(self) -> dict:
        key = self.key()
        spec: dict[str, Any] = {"name": key}
        shown = OPTIONS.get(key, ())
        if "binarize" in shown:
            spec["binarize"] = self.binarize.currentText()
        if "transpose" in shown and self.transpose.isChecked():
            spec["transpose"] = True
        if "fresh_motion" in shown and self.fresh_motion.isChecked():
            spec["fresh_motion"] = True
        if "path" in shown:
            spec["path"] = self.folder.text()
        for name in ("n_train", "T", "n_balls", "res"):
            if name in shown:
                spec[name] = self.rows[name].value()
        for name in ("limit", "valid"):
            if name in shown and self.rows[name].value():
                spec[name] = self.rows[name].value()
        return spec

    def set_spec(self, spec: dict) -> None:
        i = self.dataset.findData(spec.get("name", "mnist"))
        if i >= 0:
            self.dataset.setCurrentIndex(i)
        self.binarize.setCurrentText(spec.get("binarize", "stochastic"))
        self.transpose.setChecked(bool(spec.get("transpose")))
        if spec.get("name") == "occluded_moving_mnist":
            self.fresh_motion.setChecked(bool(spec.get("fresh_motion")))
        self.folder.setText(spec.get("path", ""))
        defaults = {"n_train": 4000, "T": DEFAULT_T.get(spec.get("name", ""), 50), "n_balls": 3,
                    "res": 30, "limit": 0, "valid": 0}
        for name, default in defaults.items():
            self.rows[name].setValue(int(spec.get(name, default) or default))


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
        self.mode = QComboBox()
        self.mode.setObjectName("train_mode")
        self.mode.activated.connect(self._on_mode)
        self.mode_box = QGroupBox()
        self._mode_form = QFormLayout(self.mode_box)
        self._mode_form.addRow("Mode", self.mode)
        self._switch_kind = ""
        self.mode_box.hide()

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
        self.samples = ImageView(placeholder="The model's chains appear here while it trains.")
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
        lv.addWidget(self.mode_box)
        lv.addWidget(settings_box)
        lv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(left.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)

        below = QTabWidget()
        below.setObjectName("train_tabs")
        below.setDocumentMode(True)
        below.addTab(self.samples, "Chains")
        below.addTab(self.log, "Log")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.curves)
        right.addWidget(below)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)

        top = QVBoxLayout()
        top.addWidget(bar)
        top.addWidget(self.progress)
        top.addWidget(self.status)
        self._form_width = scroll.minimumWidth()
        self._scroll = scroll
        self.split = split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("train_split")
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(0, 0)  # the form keeps its size; the curves take the rest
        split.setStretchFactor(1, 1)
        split.setCollapsible(1, False)
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
        self.repaints = Throttle(100, self._repaint, self)
        self._update_buttons()

    def resizeEvent(self, event: Any) -> None:
        """Beside the curves when the dock is wide enough for both, above them when it is not."""
        super().resizeEvent(event)
        wide = event.size().width() >= self._form_width + MIN_CURVES_WIDTH
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.split.orientation() != orientation:
            self.split.setOrientation(orientation)
            self._scroll.setMaximumWidth(self._form_width + 40 if wide else 16_777_215)
            total = event.size().width() if wide else event.size().height()
            self.split.setSizes([self._form_width, total - self._form_width] if wide else [total // 2] * 2)

    # ----- model selection -----
    def _on_current_model(self, name: str) -> None:
        if self.handle is not None:
            return  # keep showing the run in progress
        if name and name == self._model:
            self._update_buttons()  # the same model again (a refresh): keep its curves, chains and status
            return
        self._model = name
        self.curves.clear()
        self.samples.clear()
        self.progress.setValue(0)
        self.progress.setFormat("not training")
        self._update_buttons()
        info = self.library.infos.get(name)
        self._show_mode(info)
        if not info:
            self.status.setText("Choose or create a model, then press Train.")
            return
        spec = (info.get("data") or {}).get("spec")
        if spec:
            self.data.set_spec(spec)
        elif info.get("sequence") and self.data.key() not in SEQUENCE_DATASETS:
            self.data.set_spec(sequence_data_for(info))
        elif not info.get("sequence") and self.data.key() in SEQUENCE_DATASETS:
            self.data.set_spec({"name": "mnist"})
        self.status.setText(f"{name}: {info['step']:,} updates, {info['epoch']:.2f} epochs trained")
        from engine import jobs

        self.bridge.submit(jobs.model_history, name, on_done=lambda h, n=name: self._show_history(n, h))
        self.bridge.submit(jobs.model_chains, name, on_done=lambda c, n=name: self._show_chains(n, c))

    def _show_mode(self, info: dict | None) -> None:
        """The switch of how the model learns (:data:`SWITCHES`), for the kinds of model that have one."""
        info = info or {}
        switch = SWITCHES.get(info.get("kind", ""))
        self.mode_box.setVisible(switch is not None)
        if switch is None:
            return
        if self._switch_kind != info["kind"]:
            self._switch_kind = info["kind"]
            self.mode_box.setTitle(switch.title)
            self._mode_form.labelForField(self.mode).setText(switch.label)
            self.mode.clear()
            for text, value in switch.choices:
                self.mode.addItem(text, value)
            self.mode.setToolTip(switch.tip)
        self.mode.setCurrentIndex(max(self.mode.findData(info.get("config", {}).get(switch.field)), 0))

    def _on_mode(self) -> None:
        from engine import jobs

        name, value = self._model, self.mode.currentData()
        switch = SWITCHES.get((self.library.infos.get(name) or {}).get("kind", ""))
        if not name or self.handle is not None or switch is None:
            return
        job, args = (jobs.set_mode, (value,)) if switch.field == "mode" else (jobs.retune, ({switch.field: value},))
        self.bridge.submit(job, name, *args, on_done=lambda info: self._mode_set(info),
                           on_error=lambda msg: (self.status.setText(f"Not changed: {msg}"),
                                                 self._show_mode(self.library.infos.get(name))))

    def _mode_set(self, info: dict) -> None:
        switch = SWITCHES[info["kind"]]
        value = info["config"][switch.field]
        self.log.appendPlainText(f"— {info['name']} now trains with {switch.said.get(value, value)}")
        if info["name"] == self._model:
            self._show_mode(info)

    def _show_chains(self, name: str, chains: Any) -> None:
        if name == self._model and self.handle is None and chains is not None:
            from engine.utils.images import tile

            self.samples.set_image(tile(chains))

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
        self.progress.setFormat("%p%")
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
            self.repaints.request()

    def _on_frame(self, e: Any) -> None:
        if self._mine(e):
            self._frame = e
            self.repaints.request()

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
        self._repaint()  # the last curve points and chains, not one repaint tick later
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
        self.mode.setEnabled(not running)
