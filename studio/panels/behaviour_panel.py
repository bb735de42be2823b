"""Behaviour: where a recurrent generator's hidden state goes when it is fed data and when it runs on its own.

Professor Forcing (Goyal, Lamb et al., NIPS 2016) compares the two: teacher-forced, the generator reads data
windows; free-running, it feeds back its own samples. The engine's :func:`engine.evaluation.professor.behaviour`
job returns both sets of hidden states and their 2-D PCA projection; the panel draws each sequence as a path,
colour by mode, lighter for earlier steps. The time slider picks a step t: later points turn grey, the points at
t are drawn bigger. The hidden-state gap (lower: free runs stay closer to where data leads) is shown beside it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFormLayout, QLabel, QStackedWidget, QVBoxLayout,
                               QWidget)

from studio.panels.model_view import ModelView
from studio.widgets.action_bar import action_bar
from studio.widgets.controls import Throttle, settings_column, spin_box, summary_label, timeline, view_layout

#: model kinds that are recurrent generators of frames (engine.models.recurrent.FrameRNN)
RECURRENT_KINDS = ("rnnrbm", "rnnnade", "note_rnn", "professor")
MODES = {"teacher": ("teacher-forced", (31, 119, 180)), "free": ("free-running", (255, 127, 14))}
FUTURE = pg.mkBrush(160, 160, 160, 45)  # points after the chosen step
PLACEHOLDER = ("The behaviour view shows recurrent generators (professor forcing, RNN-RBM, RNN-NADE, note RNN): "
               "choose one in the Models panel.")


def time_brushes(color: tuple[int, int, int], T: int) -> list[Any]:
    """One brush per step: pale and see-through at step 0, the full colour at step T - 1."""
    out = []
    for a in np.linspace(0.0, 1.0, T) if T > 1 else [1.0]:
        r, g, b = (int(255 + (c - 255) * (0.25 + 0.75 * a)) for c in color)
        out.append(pg.mkBrush(r, g, b, int(90 + 165 * a)))
    return out


class BehaviourPanel(ModelView):
    def __init__(self, library: Any, data_root: Any = lambda: "", parent: QWidget | None = None) -> None:
        super().__init__(library, data_root, parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumSize(300, 240)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").setWidth(52)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setTextPen(70, 70, 70)
        self.plot.addLegend(offset=(-10, 10), labelTextSize="10pt", labelTextColor=(40, 40, 40),
                            brush=(255, 255, 255, 200))
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.points: dict[str, pg.ScatterPlotItem] = {}
        self.now: dict[str, pg.ScatterPlotItem] = {}
        self._brushes: dict[str, np.ndarray] = {}
        for mode, (label, color) in MODES.items():
            self.lines[mode] = pg.PlotDataItem(pen=pg.mkPen((*color, 110), width=1), connect="finite")
            self.points[mode] = pg.ScatterPlotItem(size=6, pen=None, brush=color, name=label)
            self.now[mode] = pg.ScatterPlotItem(size=13, pen=pg.mkPen(40, 40, 40, width=1.2), brush=color)
            for z, item in enumerate((self.lines[mode], self.points[mode], self.now[mode])):
                item.setZValue(z)
                self.plot.addItem(item)
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: rgb(120, 120, 120); padding: 24px;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(self.plot)

        self.slider, self.step_label, timeline_row = timeline(
            "behaviour", "The step t: later points turn grey, the points at t are drawn bigger",
            lambda _: self.repaints.request(), 90)
        self.step_label.setObjectName("behaviour_step")

        self.n_seqs = spin_box(1, 64, 8, "Data windows read teacher-forced, and as many free runs")
        self.length = spin_box(0, 10_000, 0, "Steps of each sequence (0: the length the model was trained on)")
        self.length.setSpecialValueText("training length")
        form = QFormLayout()
        form.addRow("Sequences", self.n_seqs)
        form.addRow("Length", self.length)
        self.summary = summary_label("behaviour_summary")
        side = settings_column("Hidden states", form, self.summary)

        bar, self.buttons = action_bar(self, "behaviour", (
            ("refresh", "Refresh", "Run the model again: teacher-forced on data windows and free-running",
             self.refresh),))
        self.status.setObjectName("behaviour_status")

        main = QVBoxLayout()
        main.addWidget(self.pages)
        view_layout(self, main, timeline_row, side, bar, self.status)

        self.repaints = Throttle(33, self._repaint, self)
        self.watch()

    def shows(self, name: str) -> bool:
        """``name`` is a recurrent generator, a model this view can show."""
        return (self.library.infos.get(name) or {}).get("kind") in RECURRENT_KINDS

    def set_usable(self, usable: bool) -> None:
        self.pages.setCurrentWidget(self.plot if usable else self.placeholder)
        self.buttons["refresh"].setEnabled(usable)

    def refresh(self) -> None:
        """Ask the engine for the current model's hidden states, teacher-forced and free-running."""
        from engine.evaluation.professor import behaviour

        self.run_current(behaviour, "Running {name} teacher-forced and free-running…", "behaviour {name}",
                         n_seqs=self.n_seqs.value(), length=self.length.value())

    def set_result(self, result: dict | None, name: str) -> None:
        self.result, self.model = result, name
        if result is None:
            for item in (*self.lines.values(), *self.points.values(), *self.now.values()):
                item.clear()
            self.slider.setRange(0, 0)
            self.step_label.setText("")
            self.summary.setText("")
            return
        (n_tf, T), n_fr = result["teacher"].shape[:2], len(result["free"])
        for mode, (_, color) in MODES.items():
            p = result["projection"][mode].reshape(-1, 2)
            self.points[mode].setData(pos=p)
            self._brushes[mode] = np.array(time_brushes(color, T) + [FUTURE], dtype=object)
        ex = 100 * result["explained"]
        self.plot.setLabel("bottom", f"PC 1 ({ex[0]:.0f}%)")
        self.plot.setLabel("left", f"PC 2 ({ex[1]:.0f}%)")
        floor = result.get("gap_data")
        floor = "" if floor is None else (f"<br><br><b>Real sequences: {floor:.3g}</b><br>the same gap for "
                                          "sequences the model was not shown, read teacher-forced: the least a "
                                          "generator can hope for")
        self.summary.setText(f"<b>Hidden-state gap: {result['gap']:.3g}</b><br>the mean distance from each "
                             "free-running state to the nearest teacher-forced state of the same step (lower: "
                             f"closer to where data leads){floor}<br><br>PC 1 and PC 2 explain {ex[0]:.0f}% and "
                             f"{ex[1]:.0f}% of the variance of the hidden states<br><br>lighter points: earlier "
                             "steps")
        self.status.setText(f"{name}: {n_tf} data windows read teacher-forced and {n_fr} free runs, {T} steps each, "
                            f"from the initial state; {result['teacher'].shape[-1]} hidden units")
        self.slider.blockSignals(True)
        self.slider.setRange(0, T - 1)
        self.slider.setValue(T - 1)
        self.slider.blockSignals(False)
        self._repaint()
        self.plot.getViewBox().autoRange(padding=0.05)

    # ----- drawing -----
    def _repaint(self) -> None:
        if self.result is None:
            return
        t = self.slider.value()
        for mode in MODES:
            proj = self.result["projection"][mode]
            n, T = proj.shape[:2]  # fewer data windows than free runs when the data has few
            steps = np.tile(np.arange(T), n)
            self.points[mode].setBrush(self._brushes[mode][np.where(steps <= t, steps, T)])
            path = np.concatenate([proj[:, :t + 1], np.full((n, 1, 2), np.nan, np.float32)], 1).reshape(-1, 2)
            self.lines[mode].setData(path[:, 0], path[:, 1])
            self.now[mode].setData(pos=proj[:, t])
        self.step_label.setText(f"step {t + 1} / {T}")
