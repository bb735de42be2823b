"""Live Gibbs sampling: N parallel chains drawn as an image grid, repainted from a timer at the screen rate.

The engine sends a frame every "steps per frame" Gibbs steps (at most "frames/s"); the panel keeps only the
latest one. Save the grid as PNG, or the frames shown so far as a GIF.

For a Variational Walkback model the panel shows the walkback animation instead (a
:class:`~studio.widgets.walkback_view.WalkbackView`): Sample runs :func:`engine.jobs.walkback` twice, a cooling
walk from noise (then "extra steps" at T = 1) and, beside it for comparison, the heating walk of training from
test example "Heat from" of the model's data; each step shows its temperature, at "walk steps/s".
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QStackedWidget,
                               QVBoxLayout, QWidget)

from studio.widgets.action_bar import action_bar
from studio.widgets.controls import Throttle, spin_box
from studio.widgets.image_view import ImageView
from studio.widgets.walkback_view import TITLES, WalkbackView

MAX_GIF_FRAMES = 400
#: model kinds whose sampling is a walk with a temperature (the walkback animation)
WALKBACK_KINDS = ("walkback",)


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
        self.heat_handle: Any = None  # the heating walk beside a cooling one
        self._heat_request: Any = None  # the job fetching its data point
        self._walk_id = 0  # which Sample press a heating walk belongs to

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
        # the walkback animation's settings, shown for walkback models
        self.extra_steps = spin_box(0, 100_000, 10, "Steps at T = 1 after the cooling walk reaches it")
        self.extra_steps.setObjectName("walkback_extra_steps")
        self.heat_from = spin_box(0, 1_000_000, 0, "The test example the heating walk starts from")
        self.heat_from.setObjectName("walkback_heat_from")
        self.walk_fps = spin_box(1, 240, 3, "Walk steps a second: slow enough to see each temperature")
        self.walk_fps.setObjectName("walkback_fps")
        form.addRow("Extra steps at T=1", self.extra_steps)
        form.addRow("Heat from example", self.heat_from)
        form.addRow("Walk steps/s", self.walk_fps)
        self.form = form
        self.walkback = WalkbackView()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.view)
        self.pages.addWidget(self.walkback)

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
        body.addWidget(self.pages, 1)
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
        library.current_changed.connect(self._on_current_model)
        self.repaints = Throttle(33, self._repaint, self)
        self._on_current_model(library.current)

    def _mine(self, e: Any) -> bool:
        return self.handle is not None and e.job == self.handle.id

    def _heat(self, e: Any) -> bool:
        return self.heat_handle is not None and e.job == self.heat_handle.id

    def walkback_model(self) -> bool:
        """The current model walks (a Variational Walkback model): the panel shows the walkback animation."""
        return (self.library.current_info() or {}).get("kind") in WALKBACK_KINDS

    def _on_current_model(self, _: str = "") -> None:
        walk = self.walkback_model()
        self.pages.setCurrentWidget(self.walkback if walk else self.view)
        for w in (self.steps, self.start_from, self.fps):
            self.form.setRowVisible(w, not walk)
        for w in (self.extra_steps, self.heat_from, self.walk_fps):
            self.form.setRowVisible(w, walk)
        self._update_buttons()

    # ----- commands -----
    def start(self, paused: bool = False) -> None:
        from engine import jobs

        name = self.library.current
        if not name:
            return
        if (self.library.infos.get(name) or {}).get("sequence"):
            self.status.setText(f"{name} is a model of sequences: generate videos from it in the Video view.")
            return
        if self.walkback_model():
            self.start_walkback(paused)
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

    def start_walkback(self, paused: bool = False) -> None:
        """The walkback animation: a cooling walk from noise and, when the model knows its data, the heating
        walk from test example "Heat from" beside it."""
        from engine import jobs

        name = self.library.current
        self.stop()
        self._walk_id += 1
        walk_id = self._walk_id
        self.recorded.clear()
        self._latest, self._shown_step = None, -1
        self.walkback.clear("cool")
        self.walkback.clear("heat", TITLES["heat"])
        n, seed, fps = self.chains.value(), self.seed.value(), float(self.walk_fps.value())
        self.handle = self.bridge.submit(
            jobs.walkback, name, direction="cool", n_chains=n, extra_steps=self.extra_steps.value(), seed=seed,
            every=self.every.value(), fps=fps, job_name=f"walkback {name}: cool", pause_at_frame=paused)
        spec = dict((self.library.infos.get(name, {}).get("data") or {}).get("spec") or {})
        if spec:
            from engine.jobs import data_example

            if self.data_root():
                spec["root"] = self.data_root()

            def heat(out: dict) -> None:
                self._heat_request = None
                if walk_id != self._walk_id:
                    return  # stopped or started again meanwhile
                self.walkback.titles["heat"].setText(f"Heating from test example {out['index']:,}")
                start = np.repeat(out["image"][None], n, 0)
                self.heat_handle = self.bridge.submit(
                    jobs.walkback, name, direction="heat", n_chains=n, start=start, seed=seed,
                    every=self.every.value(), fps=fps, job_name=f"walkback {name}: heat", pause_at_frame=paused)
                self._update_buttons()

            def failed(message: str) -> None:
                self._heat_request = None
                self.walkback.titles["heat"].setText(f"No heating walk: {message}")

            self._heat_request = self.bridge.submit(data_example, spec, self.heat_from.value(), on_done=heat,
                                                    on_error=failed, job_name="walkback data point")
        else:
            self.walkback.titles["heat"].setText("No heating walk: the model does not say what data it knows")
        self.status.setText(f"Walking with {name}…")
        self._update_buttons()

    def _handles(self) -> list[Any]:
        return [h for h in (self.handle, self.heat_handle) if h is not None]

    def toggle_pause(self) -> None:
        if self.handle is None:
            return
        pause = not self.handle.paused
        for h in self._handles():
            (self.bridge.pause if pause else self.bridge.resume)(h)
        self._update_buttons()

    def step_once(self) -> None:
        """Advance by one frame: from a paused run, or start a new run that pauses after its first frame."""
        if self.handle is None:
            self.start(paused=True)
            return
        for h in self._handles():
            self.bridge.step(h)

    def stop(self) -> None:
        self._walk_id += 1
        for h in self._handles():
            self.bridge.cancel(h)

    # ----- frames -----
    def _on_frame(self, e: Any) -> None:
        if self._heat(e):
            self.walkback.add_frame("heat", e)
        elif self._mine(e):
            if e.label == "walkback":
                self.walkback.add_frame("cool", e)
            self._latest = e
        else:
            return
        self.repaints.request()

    def _repaint(self) -> None:
        if self.walkback.refresh():
            self._walkback_status()
        e = self._latest
        if e is None or e.step == self._shown_step:
            return
        from engine.utils.images import tile

        self.grid = tile(e.image) if e.image.ndim == 3 else e.image
        if e.label == "walkback":
            self._shown_step = e.step
            if len(self.recorded) < MAX_GIF_FRAMES:
                self.recorded.append(self.grid)
            self.frame_shown.emit(e.step)
            return
        self.view.set_image(self.grid)
        self._shown_step = e.step
        if len(self.recorded) < MAX_GIF_FRAMES:
            self.recorded.append(self.grid)
        total = self.handle and self.steps.value()
        self.status.setText(f"Gibbs step {e.step:,}" + (f" of {total:,}" if total else ""))
        self.frame_shown.emit(e.step)

    def _walkback_status(self) -> None:
        parts = []
        for walk, what in (("cool", "cooling"), ("heat", "heating")):
            e = self.walkback.latest[walk]
            if e is not None:
                t = getattr(e, "temperature", None)
                parts.append(f"{what}: step {e.step}" + ("" if t is None else f" at T = {t:g}"))
        self.status.setText(" · ".join(parts))

    def _on_end(self, e: Any) -> None:
        if self._heat(e):
            self.heat_handle = None
            self._repaint()
            self._update_buttons()
            return
        if not self._mine(e):
            return
        self._repaint()
        self.handle = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.handle is not None or self.heat_handle is not None
        usable = bool(self.library.current) and not (self.library.current_info() or {}).get("sequence")
        self.buttons["start"].setEnabled(usable)
        self.buttons["pause"].setEnabled(running)
        self.buttons["pause"].setText("Resume" if self.handle is not None and self.handle.paused else "Pause")
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
