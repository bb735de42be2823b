"""Live Gibbs sampling: N parallel chains drawn as an image grid, repainted from a timer at the screen rate.

The engine sends a frame every "steps per frame" Gibbs steps (at most "frames/s"); the panel keeps only the
latest one. Save the grid as PNG, or the frames shown so far as a GIF.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QVBoxLayout, QWidget)

from studio.widgets.action_bar import action_bar
from studio.widgets.controls import Throttle, spin_box
from studio.widgets.image_view import ImageView

MAX_GIF_FRAMES = 400


class SamplingPanel(QWidget):
    #: a frame was put on screen (the step it shows)
    frame_shown = Signal(int)

    def __init__(self, library: Any, data_root: Any = lambda: "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.bridge = library.bridge
        self.data_root = data_root
        self.handle: Any = None
        self._latest: Any = None
        self._shown_step = -1
        self.recorded: list[np.ndarray] = []
        self.grid: np.ndarray | None = None

        self.view = ImageView(placeholder="Press Sample to watch the model dream, one Gibbs step at a time.")
        self.view.setMinimumSize(200, 200)
        self.chains = spin_box(1, 400, 64, "Number of parallel Gibbs chains")
        self.every = spin_box(1, 10_000, 1, "Gibbs steps between two frames")
        self.steps = spin_box(1, 10_000_000, 2000, "Gibbs steps in all")
        self.fps = spin_box(1, 240, 30, "At most this many frames a second")
        self.seed = spin_box(0, 2**31 - 1, 0, "Seed: the same seed gives the same chains")
        self.start_from = QComboBox()
        self.start_from.addItems(["noise", "data"])
        self.start_from.setToolTip("Start the chains from random noise or from test examples")
        form = QFormLayout()
        form.addRow("Chains", self.chains)
        form.addRow("Steps per frame", self.every)
        form.addRow("Total steps", self.steps)
        form.addRow("Frames/s", self.fps)
        form.addRow("Start from", self.start_from)
        form.addRow("Seed", self.seed)

        bar, self.buttons = action_bar(self, "sample", (
            ("start", "Sample", "Start new chains (Ctrl+G)", self.start),
            ("pause", "Pause", "Pause or resume the chains", self.toggle_pause),
            ("step", "Step", "Advance the chains by one frame", self.step_once),
            ("stop", "Stop", "Stop the chains", self.stop),
            ("png", "Save PNG…", "Save the grid as a PNG image", lambda: self.save_png()),
            ("gif", "Save GIF…", "Save the frames shown so far as an animated GIF", lambda: self.save_gif())))
        self.status = QLabel("")
        self.status.setObjectName("sample_status")
        side = QVBoxLayout()
        side.addLayout(form)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.view, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(bar)
        layout.addWidget(self.status)

        self.bridge.frame_ready.connect(self._on_frame)
        self.bridge.job_finished.connect(self._on_end)
        self.bridge.job_failed.connect(self._on_end)
        self.bridge.job_cancelled.connect(self._on_end)
        self.bridge.job_state_changed.connect(lambda e: self._mine(e) and self._update_buttons())
        library.current_changed.connect(lambda _: self._update_buttons())
        self.repaints = Throttle(33, self._repaint, self)
        self._update_buttons()

    def _mine(self, e: Any) -> bool:
        return self.handle is not None and e.job == self.handle.id

    # ----- commands -----
    def start(self, paused: bool = False) -> None:
        from engine import jobs

        name = self.library.current
        if not name:
            return
        if (self.library.infos.get(name) or {}).get("sequence"):
            self.status.setText(f"{name} is a model of sequences: generate videos from it in the Video view.")
            return
        if self.handle is not None:
            self.bridge.cancel(self.handle)
        self.recorded.clear()
        self._latest, self._shown_step = None, -1
        data = None
        if self.start_from.currentText() == "data":
            spec = dict((self.library.infos.get(name, {}).get("data") or {}).get("spec") or {})
            if spec and self.data_root():
                spec["root"] = self.data_root()
            data = spec or None
        self.handle = self.bridge.submit(
            jobs.sample, name, n_chains=self.chains.value(), steps=self.steps.value(), every=self.every.value(),
            seed=self.seed.value(), start=self.start_from.currentText(), data=data, fps=self.fps.value(),
            job_name=f"sample {name}", pause_at_frame=paused)
        self.status.setText(f"Sampling {name}…")
        self._update_buttons()

    def toggle_pause(self) -> None:
        if self.handle is None:
            return
        if self.handle.paused:
            self.bridge.resume(self.handle)
        else:
            self.bridge.pause(self.handle)
        self._update_buttons()

    def step_once(self) -> None:
        """Advance by one frame: from a paused run, or start a new run that pauses after its first frame."""
        if self.handle is None:
            self.start(paused=True)
            return
        self.bridge.step(self.handle)

    def stop(self) -> None:
        if self.handle is not None:
            self.bridge.cancel(self.handle)

    # ----- frames -----
    def _on_frame(self, e: Any) -> None:
        if not self._mine(e):
            return
        self._latest = e
        self.repaints.request()

    def _repaint(self) -> None:
        e = self._latest
        if e is None or e.step == self._shown_step:
            return
        from engine.utils.images import tile

        self.grid = tile(e.image) if e.image.ndim == 3 else e.image
        self.view.set_image(self.grid)
        self._shown_step = e.step
        if len(self.recorded) < MAX_GIF_FRAMES:
            self.recorded.append(self.grid)
        total = self.handle and self.steps.value()
        self.status.setText(f"Gibbs step {e.step:,}" + (f" of {total:,}" if total else ""))
        self.frame_shown.emit(e.step)

    def _on_end(self, e: Any) -> None:
        if not self._mine(e):
            return
        self._repaint()
        self.handle = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.handle is not None
        usable = bool(self.library.current) and not (self.library.current_info() or {}).get("sequence")
        self.buttons["start"].setEnabled(usable)
        self.buttons["pause"].setEnabled(running)
        self.buttons["pause"].setText("Resume" if running and self.handle.paused else "Pause")
        self.buttons["step"].setEnabled(usable)
        self.buttons["stop"].setEnabled(running)

    # ----- export -----
    def save_png(self, path: str | None = None, scale: int = 3) -> str | None:
        from engine.utils.images import save_png

        if self.grid is None:
            return None
        path = path or QFileDialog.getSaveFileName(self, "Save samples", "samples.png", "PNG (*.png)")[0]
        if path:
            save_png(self.grid, path, scale=scale)
        return path or None

    def save_gif(self, path: str | None = None, scale: int = 2) -> str | None:
        from engine.utils.images import save_gif

        if not self.recorded:
            return None
        path = path or QFileDialog.getSaveFileName(self, "Save animation", "chains.gif", "GIF (*.gif)")[0]
        if path:
            save_gif(self.recorded, path, fps=self.fps.value(), scale=scale)
        return path or None
