"""Inference: what a Recurrent Ladder makes of a sequence, step by step (Prémont-Schwarz et al., "Recurrent Ladder
Networks", NIPS 2017, Fig. 4).

The engine's :func:`engine.jobs.ladder_inference` reads one test sequence with the current ladder and returns,
for each step t, the frame it observed, its prediction of frame t+1 and its class probabilities. For videos the
view shows frame t as observed (occluded), the predicted next frame, and the belief about the class as bars
(the true class in green), over a strip of every frame and prediction; for piano rolls, the piece's notes
outlined over the note probabilities the ladder predicted, each from the frames before it. The time slider,
Back / Step and Play move t; the sequence is picked by number or at random.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import (QFormLayout, QGraphicsPathItem, QGraphicsRectItem, QHBoxLayout, QLabel,
                               QStackedWidget, QVBoxLayout, QWidget)

from studio.panels.model_view import ModelView
from studio.widgets.action_bar import action_bar
from studio.widgets.controls import Throttle, settings_column, spin_box, summary_label, timeline, view_layout
from studio.widgets.image_view import ImageView
from studio.widgets.piano_roll import pitch_name

PLACEHOLDER = "The inference view shows Recurrent Ladder models: choose one in the Models panel."
WAITING = "What the ladder makes of a test sequence, step by step, appears here."
BG, TEXT = (30, 30, 30), (190, 190, 190)
NOW = (255, 175, 95)  # the marker of step t
BAR, TRUE_BAR = (105, 145, 200), (80, 190, 105)
PAD = 3  # pixels between the frames of the strip
ROLL_WINDOW = 96  # frames of a piano roll in view at first


def heat_lut() -> np.ndarray:
    """RGBA colours of probabilities 0..1: see-through near 0 (the many unlikely notes stay out of the way),
    then orange growing opaque and turning red."""
    p = np.linspace(0.0, 1.0, 256)
    orange, red = np.array([255, 160, 40]), np.array([235, 35, 25])
    rgb = orange + (red - orange) * np.clip(p / 0.8, 0, 1)[:, None]
    alpha = 255 * np.clip(p / 0.6, 0, 1) ** 1.5
    return np.column_stack([rgb, alpha]).astype(np.ubyte)


def strip_mosaic(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of frames (T, H, W) as one image: a row per array, a column per step, ``PAD`` pixels between."""
    T, h, w = rows[0].shape
    out = np.full((len(rows) * (h + PAD) - PAD, T * (w + PAD) - PAD), BG[0] / 255, np.float32)
    for r, frames in enumerate(rows):
        for t in range(T):
            out[r * (h + PAD):r * (h + PAD) + h, t * (w + PAD):t * (w + PAD) + w] = frames[t]
    return out


def prediction_nll(frames: np.ndarray, prediction: np.ndarray) -> float:
    """Nats a frame of frames 2..T under the predictions made after the frame before each."""
    x = frames[1:].reshape(len(frames) - 1, -1)
    p = np.clip(prediction[:-1].reshape(len(x), -1), 1e-6, 1 - 1e-6)
    return float(-(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(1).mean())


def caption(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("font-weight: bold;")
    return label


class InferencePanel(ModelView):
    def __init__(self, library: Any, data_root: Any = lambda: "", parent: QWidget | None = None) -> None:
        super().__init__(library, data_root, parent)
        self.play_timer = QTimer(self)  # runs only while playing
        self.play_timer.timeout.connect(self._tick)

        # a video: frame t, the prediction of frame t+1, and a strip of every step
        self.observed = ImageView(placeholder="The observed frame.")
        self.predicted = ImageView(placeholder="This ladder does not predict frames (its decoder or prediction "
                                               "task is off).")
        self.observed_caption, self.predicted_caption = caption("Observed"), caption("Predicted")
        frames_row = QHBoxLayout()
        for label, view in ((self.observed_caption, self.observed), (self.predicted_caption, self.predicted)):
            view.setMinimumSize(140, 120)
            col = QVBoxLayout()
            col.addWidget(label)
            col.addWidget(view, 1)
            frames_row.addLayout(col, 1)
        self.strip = ImageView()
        self.strip.setMinimumHeight(64)
        self.strip.setMaximumHeight(170)
        self.strip_marker = QGraphicsRectItem()
        self.strip_marker.setPen(pg.mkPen(NOW, width=2))
        self.strip.box.addItem(self.strip_marker)
        self.strip_caption = QLabel("")
        self.strip_caption.setStyleSheet("color: gray;")
        self.video_page = QWidget()
        v = QVBoxLayout(self.video_page)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(frames_row, 3)
        v.addWidget(self.strip_caption)
        v.addWidget(self.strip, 1)

        # a piano roll (or any frames of one axis): the notes outlined over the predicted probabilities
        self.roll = pg.PlotWidget(background=BG)
        self.roll.setMinimumSize(300, 200)
        for side in ("left", "bottom"):
            self.roll.getAxis(side).setTextPen(*TEXT)
        self.roll.setLabel("bottom", "frame")
        self.roll.getPlotItem().hideButtons()
        self.roll.showGrid(y=True, alpha=0.12)
        self.heat = pg.ImageItem()
        self.heat.setLookupTable(heat_lut())
        self.notes = QGraphicsPathItem()
        self.notes.setPen(pg.mkPen(235, 235, 235, width=1.3))
        self.now_band = pg.LinearRegionItem(movable=False, brush=(*NOW, 45), pen=pg.mkPen(*NOW, 160))
        for z, item in enumerate((self.heat, self.notes, self.now_band)):
            item.setZValue(z)
            self.roll.addItem(item)
        self.roll_caption = QLabel("White outlines: the notes of the piece. Orange to red: the probability the "
                                   "ladder gave each note, predicted from the frames before it. The band: "
                                   "the frame just read; the column after it was predicted from it and the "
                                   "frames before. Drag or wheel to scroll and zoom.")
        self.roll_caption.setWordWrap(True)
        self.roll_caption.setStyleSheet("color: gray;")
        self.roll_page = QWidget()
        v = QVBoxLayout(self.roll_page)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.roll, 1)
        v.addWidget(self.roll_caption)

        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: rgb(120, 120, 120); padding: 24px;")
        self.pages = QStackedWidget()
        for page in (self.placeholder, self.video_page, self.roll_page):
            self.pages.addWidget(page)

        # the belief about the class after step t
        self.belief = pg.PlotWidget(background=BG)
        self.belief.setMouseEnabled(x=False, y=False)
        self.belief.getPlotItem().hideButtons()
        self.belief.setMenuEnabled(False)
        self.belief.setYRange(0, 1, padding=0.02)
        self.belief.setLabel("left", "probability")
        for side in ("left", "bottom"):
            self.belief.getAxis(side).setTextPen(*TEXT)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=BAR, pen=None)
        self.belief.addItem(self.bars)
        self.belief_caption = caption("Belief about the class")
        self.belief_caption.setWordWrap(True)
        self.belief_caption.setTextFormat(Qt.TextFormat.RichText)
        self.belief_box = QWidget()
        self.belief_box.setFixedWidth(290)
        v = QVBoxLayout(self.belief_box)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.belief_caption)
        v.addWidget(self.belief, 1)
        self.belief_box.hide()

        self.slider, self.step_label, timeline_row = timeline(
            "inference", "The step t: the frame just read, the model's prediction of the next one and its "
            "belief after reading it", lambda _: self.repaints.request(), 110)
        self.step_label.setObjectName("inference_step")

        self.sequence = spin_box(0, 1_000_000, 0, "Which test sequence (or piece) the ladder reads")
        self.sequence.setObjectName("inference_sequence")
        self.length = spin_box(0, 100_000, 0, "Frames to read (0: the whole sequence; pieces of music up to "
                                              "400)")
        self.length.setSpecialValueText("whole")
        self.speed = spin_box(1, 60, 2, "Steps a second when playing")
        for box in (self.sequence, self.length):
            box.valueChanged.connect(lambda _: self.requests.request())
        self.speed.valueChanged.connect(lambda v: self.play_timer.setInterval(int(1000 / v)))
        form = QFormLayout()
        form.addRow("Sequence", self.sequence)
        form.addRow("Frames", self.length)
        form.addRow("Speed (steps/s)", self.speed)
        self.summary = summary_label("inference_summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        side = settings_column("Test sequence", form, self.summary)

        bar, self.buttons = action_bar(self, "inference", (
            ("random", "Random", "Read a test sequence picked at random", self.random_sequence),
            ("back", "Back", "The step before", lambda: self.show_step(self.slider.value() - 1)),
            ("play", "Play", "Step through the frames at the chosen speed", self.toggle_play),
            ("step", "Step", "The next step", lambda: self.show_step(self.slider.value() + 1))))
        self.status.setObjectName("inference_status")

        content = QHBoxLayout()
        content.addWidget(self.pages, 1)
        content.addWidget(self.belief_box)
        view_layout(self, content, timeline_row, side, bar, self.status)

        self.repaints = Throttle(33, self._repaint, self)
        self.requests = Throttle(150, self.refresh, self)  # typing a number asks once
        self.watch()

    def shows(self, name: str) -> bool:
        """``name`` is a Recurrent Ladder."""
        return (self.library.infos.get(name) or {}).get("kind") == "ladder"

    def set_usable(self, usable: bool) -> None:
        self.placeholder.setText(WAITING if usable else PLACEHOLDER)
        if not usable:
            self.pages.setCurrentWidget(self.placeholder)
            self.belief_box.hide()
        for key in ("random", "back", "play", "step"):
            self.buttons[key].setEnabled(usable)

    # ----- commands -----
    def refresh(self) -> None:
        """Ask the engine what the current ladder makes of the chosen test sequence."""
        from engine import jobs

        i = self.sequence.value()
        self.run_current(jobs.ladder_inference, f"Reading test sequence {i} with {{name}}…", "inference {name}",
                         index=i, length=self.length.value())

    def random_sequence(self) -> None:
        n = self.result["n"] if self.result else 0
        if n > 1:
            i = int(np.random.default_rng().integers(n - 1))
            self.sequence.setValue(i + (i >= self.sequence.value()))  # never the one on screen

    def show_step(self, t: int) -> None:
        self.slider.setValue(max(0, min(t, self.slider.maximum())))

    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.play_timer.stop()
        elif self.result is not None:
            if self.slider.value() >= self.slider.maximum():
                self.show_step(0)
            self.play_timer.start(int(1000 / self.speed.value()))
        self.buttons["play"].setText("Pause" if self.play_timer.isActive() else "Play")

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        if self.play_timer.isActive():
            self.toggle_play()

    def _tick(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.toggle_play()
        else:
            self.show_step(self.slider.value() + 1)

    # ----- the result -----
    def set_result(self, result: dict | None, name: str) -> None:
        self.result, self.model = result, name
        if self.play_timer.isActive():
            self.toggle_play()
        if result is None:
            for view in (self.observed, self.predicted, self.strip):
                view.clear()
            self.heat.clear()
            self.notes.setPath(QPainterPath())
            self.pages.setCurrentWidget(self.placeholder)
            self.belief_box.hide()
            self.slider.setRange(0, 0)
            self.step_label.setText("")
            self.summary.setText("")
            return
        frames, pred, classes, label = result["frames"], result["prediction"], result["classes"], result["label"]
        T = len(frames)
        self.sequence.blockSignals(True)
        self.sequence.setMaximum(result["n"] - 1)
        self.sequence.setValue(result["index"])
        self.sequence.blockSignals(False)
        # class beliefs mean something only where the data has labels: otherwise the classifier never trained
        self.belief_box.setVisible(classes is not None and label is not None)
        if not self.belief_box.isHidden():
            K = classes.shape[1]
            self.bars.setOpts(x=np.arange(K), height=classes[0], width=0.7,
                              brushes=[pg.mkBrush(TRUE_BAR if k == label else BAR) for k in range(K)])
            self.belief.setXRange(-0.6, K - 0.4, padding=0)
            ticks = [(k, str(k)) for k in range(K)] if K <= 20 else None
            self.belief.getAxis("bottom").setTicks(None if ticks is None else [ticks])
        if len(result["shape"]) == 2:
            self.pages.setCurrentWidget(self.video_page)
            rows = [frames] if pred is None else [frames, pred]
            self.strip.set_image(strip_mosaic(rows))
            self.strip_caption.setText("Top: the observed frames. Bottom: after each, the predicted next frame."
                                       if pred is not None else "The observed frames.")
        else:
            self.pages.setCurrentWidget(self.roll_page)
            self._draw_roll(frames, pred, result["lo"])
        self.slider.blockSignals(True)
        self.slider.setRange(0, T - 1)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.summary.setText(self._summary(result))
        what = "piece" if result["music"] else "sequence"
        self.status.setText(f"{name} read {result['split']} {what} {result['index']} of {result['data']} "
                            f"(which has {result['n']}): {T} frames")
        self._repaint()

    def _summary(self, r: dict) -> str:
        lines = []
        if r["classes"] is not None and r["label"] is not None:
            guess = r["classes"].argmax(1)
            last = r["classes"][-1]
            verdict = "right" if guess[-1] == r["label"] else "wrong"
            lines.append(f"<b>True class: {r['label']}</b><br>most likely class after each frame: "
                         f"{' '.join(map(str, guess))}<br>at the end: {guess[-1]} ({100 * last.max():.0f}%), "
                         f"{verdict}")
        if r["prediction"] is not None and len(r["frames"]) > 1:
            lines.append(f"Prediction NLL: {prediction_nll(r['frames'], r['prediction']):.3g} nats a frame "
                         f"(frames 2–{len(r['frames'])})")
        return "<br><br>".join(lines)

    def _draw_roll(self, frames: np.ndarray, pred: np.ndarray | None, lo: int | None) -> None:
        """The notes as outlined runs over the predictions as heat; frame n (from 1) is centred on x = n, and the
        prediction made after it lies in the next column, over the frame it predicts."""
        T, P = frames.shape
        base = lo or 0
        heat = np.zeros((P, T + 1), np.float32)
        if pred is not None:
            heat[:, 1:] = pred.T
        self.heat.setImage(heat, autoLevels=False, levels=(0, 1))
        self.heat.setRect(QRectF(0.5, base - 0.5, T + 1, P))
        path = QPainterPath()
        for k in range(P):
            on = np.flatnonzero(np.diff(np.concatenate([[0], frames[:, k] > 0.5, [0]]).astype(np.int8)))
            for a, b in zip(on[::2], on[1::2]):
                path.addRect(QRectF(a + 0.5, base + k - 0.5, float(b - a), 1.0))
        self.notes.setPath(path)
        axis = self.roll.getAxis("left")
        if lo is None:
            self.roll.setLabel("left", "unit")
            axis.setTicks(None)
        else:
            self.roll.setLabel("left", "pitch")
            axis.setTicks([[(p, pitch_name(p)) for p in range(base, base + P) if p % 12 == 0]])
        used = np.flatnonzero(frames.any(0) | (heat.max(1) > 0.2))
        a, b = (used.min(), used.max()) if len(used) else (0, P - 1)
        vb = self.roll.getViewBox()
        vb.setLimits(xMin=0.5, xMax=T + 1.5, yMin=base - 0.5, yMax=base + P - 0.5, minXRange=4, minYRange=6)
        vb.setRange(xRange=(0.5, min(T + 1, ROLL_WINDOW) + 0.5), yRange=(base + a - 3.5, base + b + 3.5),
                    padding=0)

    # ----- drawing -----
    def _repaint(self) -> None:
        r = self.result
        if r is None:
            return
        t = self.slider.value()
        T = len(r["frames"])
        self.step_label.setText(f"frame {t + 1} / {T}")
        if len(r["shape"]) == 2:
            self.observed.set_image(r["frames"][t])
            self.observed_caption.setText(f"Observed: frame {t + 1}")
            if r["prediction"] is not None:
                self.predicted.set_image(r["prediction"][t])
                after = " (after the sequence)" if t + 1 == T else ""
                self.predicted_caption.setText(f"Predicted: frame {t + 2}{after}")
            h, w = r["shape"]
            rows = 1 if r["prediction"] is None else 2
            self.strip_marker.setRect(QRectF(t * (w + PAD) - 1.5, -1.5, w + 3, rows * (h + PAD) - PAD + 3))
        else:
            self.now_band.setRegion((t + 0.5, t + 1.5))
            vb = self.roll.getViewBox()
            (x0, x1), _ = vb.viewRange()
            if t + 0.5 < x0 or t + 2.5 > x1:  # follow the step
                width = x1 - x0
                start = min(max(0.5, t - width / 4), T + 1.5 - width)
                vb.setXRange(start, start + width, padding=0)
        if not self.belief_box.isHidden():
            p = r["classes"][t]
            self.bars.setOpts(height=p)
            k = int(p.argmax())
            self.belief_caption.setText(f"Belief after frame {t + 1}: {k} ({100 * p[k]:.0f}%)<br>"
                                        f"<span style='color: rgb{TRUE_BAR}'>true class: {r['label']}</span>")
