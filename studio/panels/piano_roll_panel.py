"""The piano-roll view: write notes, hear them, and compose with a model of music (RNN-RBM, RNN-NADE, note RNN).

The panel owns a :class:`~studio.documents.notes.NoteDocument` (the source of truth, one undo stack) and shows
it in a :class:`~studio.widgets.piano_roll.PianoRoll`. Files: New, Open MIDI (dialog, or drop a .mid on the
panel; a malformed file shows its one-line message and changes nothing), Save MIDI (type 1), drag a .mid out
of the "Drag .mid" button, Export WAV (the built-in synthesizer). Play/Stop moves the playhead (looping the
loop region when Loop is on), with sound where there is an audio device and silently where there is none.

Model actions run :func:`engine.music.jobs.generate` on the engine thread through the bridge; the roll shows
the notes as the job's Frame events arrive (only the latest is kept, converted at most ~30 times a second):
Generate N bars at the playhead from nothing, Continue from the playhead (what is before it is the primer),
Re-harmonise the selection (the rectangle the selected notes span, at least an octave tall, is freed; every
other note, inside it too, is clamped). With several variations the job runs with seeds seed..seed+n-1 one
after another; each result can be auditioned from the chooser and the last chosen one kept. Every applied
result is one undoable command. The document (beats) and the model's roll meet on the model's grid
(:func:`~studio.documents.notes.grid_for_model`: the training data's pitch range and time step; an untrained
model: sixteenth notes, pitches 21-108).
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDrag, QDragEnterEvent, QDropEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel,
                               QScrollBar, QToolButton, QVBoxLayout, QWidget)

from studio.audio import Player, render, write_wav
from studio.documents.notes import (Grid, NoteDocument, Quantise, ReplaceNotes, SetState, SetTiming, grid_for_model,
                                    notes_to_roll, roll_to_notes)
from studio.widgets.action_bar import action_bar
from studio.widgets.controls import Throttle, spin_box
from studio.widgets.piano_roll import PianoRoll

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")
#: snap grids offered: (title, beats)
GRIDS = (("1/4", 1.0), ("1/8", 0.5), ("1/16", 0.25), ("1/32", 0.125), ("1/8 triplet", 1 / 3),
         ("1/16 triplet", 1 / 6))
H_UNITS = 8  # horizontal scroll bar steps per beat


class DragOutButton(QToolButton):
    """Drag the piece out of the studio as a .mid file (into a DAW, a file manager)."""

    def __init__(self, make_file: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.make_file = make_file
        self.setText("Drag .mid")
        self.setObjectName("piano_drag_out")
        self.setToolTip("Drag this into a DAW or a folder to drop the piece there as a MIDI file")
        self._press: QPoint | None = None

    def mousePressEvent(self, e: QMouseEvent) -> None:
        self._press = e.position().toPoint()
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self._press is None or (e.position().toPoint() - self._press).manhattanLength() < 8:
            return
        self._press = None
        path = self.make_file()
        if path is None:
            return
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction)
        self.setDown(False)


class PianoRollPanel(QWidget):
    #: a message for the window's banner (text, level "error" / "warning" / "info")
    notified = Signal(str, str)
    #: a model result was applied to the document (the number of notes it made)
    result_applied = Signal(int)

    def __init__(self, library: Any, data_root: Any = lambda: "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.bridge = library.bridge
        self.data_root = data_root
        self.doc = NoteDocument(self)
        self.roll = PianoRoll(self.doc)
        self.player = Player(self)
        self.handle: Any = None
        self._task: dict[str, Any] | None = None
        self._latest: Any = None  # the newest Frame of the running job
        self._variations: list[list] = []
        self._applied: Any = None  # the command of the variation in the document
        self._syncing = False
        self._drag_dir: str | None = None
        self.setAcceptDrops(True)

        # ----- commands: files and transport; editing and view; the model -----
        bar, self.buttons = action_bar(self, "piano", (
            ("new", "New", "Start an empty piece (undoable)", self.new),
            ("open", "Open MIDI…", "Open a MIDI file (or drop one on the roll)", lambda: self.open_midi()),
            ("save", "Save MIDI…", "Save the piece as a type-1 MIDI file", lambda: self.save_midi()),
            ("wav", "Export WAV…", "Render the piece with the built-in synthesizer to a WAV file",
             lambda: self.export_wav()),
            ("play", "Play", "Play from the playhead (Space)", self.play),
            ("stop", "Stop", "Stop playing", self.stop),
            ("loop", "Loop", "Go round the loop region (drag along the ruler to set it)", self.toggle_loop),
            ("undo", "Undo", "Undo the last edit (Ctrl+Z)", lambda: self.doc.undo_stack.undo()),
            ("redo", "Redo", "Redo (Ctrl+Shift+Z)", lambda: self.doc.undo_stack.redo())))
        edit, edit_buttons = action_bar(self, "edit", (
            ("quantise", "Quantise", "Snap the selected notes' starts and ends to the grid (Q)", self.quantise),
            ("snap", "Snap", "Snap drawing, moving and resizing to the grid", self.toggle_snap),
            ("zoom_in", "Zoom +", "Zoom in on time (Ctrl+wheel)", lambda: self.roll.zoom_time(1.25)),
            ("zoom_out", "Zoom −", "Zoom out of time (Ctrl+wheel)", lambda: self.roll.zoom_time(0.8)),
            ("taller", "Rows +", "Taller rows (Ctrl+Shift+wheel)", lambda: self.roll.zoom_pitch(1.25)),
            ("shorter", "Rows −", "Shorter rows (Ctrl+Shift+wheel)", lambda: self.roll.zoom_pitch(0.8))))
        self.buttons.update(edit_buttons)
        for key in ("loop", "snap"):
            self.buttons[key].setCheckable(True)
        self.buttons["snap"].setChecked(True)
        self.drag_out = DragOutButton(self._drag_file)
        bar.insertWidget(self.buttons["play"], self.drag_out)
        bar.insertSeparator(self.buttons["play"])
        bar.insertSeparator(self.buttons["undo"])
        shortcuts = {"undo": QKeySequence.StandardKey.Undo, "redo": QKeySequence.StandardKey.Redo,
                     "play": "Space", "quantise": "Q"}
        for key, seq in shortcuts.items():
            a = self.buttons[key]
            a.setShortcut(QKeySequence(seq))
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(a)
        self.doc.undo_stack.canUndoChanged.connect(self.buttons["undo"].setEnabled)
        self.doc.undo_stack.canRedoChanged.connect(self.buttons["redo"].setEnabled)

        compose, self.compose_buttons = action_bar(self, "compose", (
            ("generate", "Generate", "Generate N bars from nothing at the playhead (replaces the notes that "
                                     "start there)", lambda: self.run_model("generate")),
            ("continue", "Continue", "Continue the piece from the playhead: everything before it is the primer",
             lambda: self.run_model("continue")),
            ("reharmonise", "Re-harmonise", "Draw the selected notes again, keeping every other note fixed",
             lambda: self.run_model("reharmonise")),
            ("cancel", "Stop model", "Stop the model; nothing is applied", self.cancel_model),
            ("keep", "Keep", "Keep the variation in the piece and close the chooser", self.keep_variation)))
        self.variation = QComboBox()
        self.variation.setObjectName("piano_variation")
        self.variation.setToolTip("Audition the variations: each replaces the last one in the piece (one undo "
                                  "step); Keep closes the chooser")
        self.variation.currentIndexChanged.connect(self.choose_variation)
        self.variation_action = compose.insertWidget(self.compose_buttons["keep"], self.variation)

        # ----- settings: of the piece in the edit bar, of the model in the compose bar -----
        self.tempo = QDoubleSpinBox()
        self.tempo.setObjectName("piano_tempo")
        self.tempo.setRange(20, 400)
        self.tempo.setDecimals(1)
        self.tempo.setValue(120)
        self.tempo.setSuffix(" bpm")
        self.tempo.setToolTip("Tempo (quarter notes a minute)")
        self.tempo.valueChanged.connect(self._on_tempo)
        self.ts_num = spin_box(1, 32, 4, "Beats in a bar (time signature numerator)")
        self.ts_num.setObjectName("piano_ts_num")
        self.ts_den = QComboBox()
        self.ts_den.setObjectName("piano_ts_den")
        for d in (1, 2, 4, 8, 16):
            self.ts_den.addItem(str(d), d)
        self.ts_den.setCurrentIndex(2)
        self.ts_den.setToolTip("The note value of a beat (time signature denominator)")
        self.ts_num.valueChanged.connect(self._on_signature)
        self.ts_den.currentIndexChanged.connect(self._on_signature)
        self.grid = QComboBox()
        self.grid.setObjectName("piano_grid")
        for title, beats in GRIDS:
            self.grid.addItem(title, beats)
        self.grid.setCurrentIndex(2)
        self.grid.setToolTip("The editing grid: drawing, moving, resizing and quantising snap to it")
        self.grid.currentIndexChanged.connect(lambda _: setattr(self.roll, "grid", self.grid.currentData()))
        first_edit = self.buttons["quantise"]
        for label, w in (("Tempo", self.tempo), ("Time", self.ts_num), ("/", self.ts_den), ("Grid", self.grid)):
            edit.insertWidget(first_edit, QLabel(f" {label} "))
            edit.insertWidget(first_edit, w)
        edit.insertSeparator(first_edit)
        edit.insertSeparator(self.buttons["zoom_in"])

        self.bars = spin_box(1, 64, 4, "Bars to generate or continue")
        self.bars.setObjectName("piano_bars")
        self.n_variations = spin_box(1, 8, 1, "Variations to audition: the job runs with seeds seed … "
                                              "seed + n − 1")
        self.n_variations.setObjectName("piano_variations")
        self.gibbs = spin_box(1, 1000, 25, "Gibbs steps per frame (RNN-RBM; the tutorial: 25)")
        self.gibbs.setObjectName("piano_gibbs")
        self.temperature = QDoubleSpinBox()
        self.temperature.setObjectName("piano_temperature")
        self.temperature.setRange(0.05, 5.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(1.0)
        self.temperature.setToolTip("Temperature: below 1 safer, above 1 wilder")
        self.seed = spin_box(0, 2**31 - 1, 0, "Seed: the same seed gives the same music")
        self.seed.setObjectName("piano_seed")
        first_compose = self.compose_buttons["cancel"]
        for label, w in (("Bars", self.bars), ("Variations", self.n_variations), ("Gibbs", self.gibbs),
                         ("Temp.", self.temperature), ("Seed", self.seed)):
            compose.insertWidget(first_compose, QLabel(f" {label} "))
            compose.insertWidget(first_compose, w)
        compose.insertSeparator(first_compose)

        # ----- the roll with its scroll bars -----
        self.hbar = QScrollBar(Qt.Orientation.Horizontal)
        self.hbar.setObjectName("piano_hscroll")
        self.vbar = QScrollBar(Qt.Orientation.Vertical)
        self.vbar.setObjectName("piano_vscroll")
        self.hbar.valueChanged.connect(lambda v: self._syncing or self.roll.set_view(x0=v / H_UNITS))
        self.vbar.valueChanged.connect(lambda v: self._syncing or self.roll.set_view(top=127 - v))
        grid = QGridLayout()
        grid.setSpacing(0)
        grid.addWidget(self.roll, 0, 0)
        grid.addWidget(self.vbar, 0, 1)
        grid.addWidget(self.hbar, 1, 0)

        self.status = QLabel("Draw notes by dragging on the roll, or open a MIDI file.")
        self.status.setObjectName("piano_status")
        self.status.setWordWrap(True)
        self.info = QLabel("")
        self.info.setObjectName("piano_info")
        foot = QHBoxLayout()
        foot.addWidget(self.status, 1)
        foot.addWidget(self.info)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        for toolbar in (bar, edit, compose):
            layout.addWidget(toolbar)
        layout.addLayout(grid, 1)
        layout.addLayout(foot)

        self.doc.changed.connect(self._on_doc_changed)
        self.doc.selection_changed.connect(self._update_buttons)
        self.roll.view_changed.connect(self._sync_scrollbars)
        self.roll.loop_changed.connect(self._on_loop)
        self.player.position_changed.connect(self._on_play_position)
        self.player.playing_changed.connect(lambda _: self._update_buttons())
        self.player.message.connect(self._on_player_message)
        self.bridge.frame_ready.connect(self._on_frame)
        self.bridge.job_failed.connect(self._on_job_end)
        self.bridge.job_cancelled.connect(self._on_job_end)
        self.bridge.progress_changed.connect(self._on_progress)
        library.current_changed.connect(self._on_current_model)
        library.models_changed.connect(self._update_buttons)
        self.repaints = Throttle(33, self._show_latest, self)
        self.roll.center_on(66)
        self._on_doc_changed()
        self._on_current_model(library.current)

    # ----- model -----
    def music_model(self) -> dict | None:
        """The current model's summary when it is a model of music."""
        info = self.library.current_info()
        return info if info and info.get("music") else None

    def model_grid(self) -> Grid:
        return grid_for_model(self.music_model())

    def _on_current_model(self, name: str) -> None:
        info = self.music_model()
        if info is None:
            self.info.setText("no model of music selected")
        else:
            self.info.setText(f"{name}: {self.model_grid().describe()}")
        self._update_buttons()

    def run_model(self, mode: str) -> Any:
        """Start a model action: "generate", "continue" or "reharmonise". Returns the job handle (or None)."""
        info = self.music_model()
        if info is None:
            self.status.setText("Select a model of music (RNN-RBM, RNN-NADE, per-note RNN) in Models to compose.")
            return None
        doc, grid = self.doc, self.model_grid()
        fpb = grid.frames_per_beat(doc.bpm)
        free = None
        if mode in ("generate", "continue"):
            p0 = int(round(self.roll.playhead * fpb))
            n_frames = max(1, int(round(self.bars.value() * doc.beats_per_bar * fpb)))
            t0, t1 = p0 / fpb, (p0 + n_frames) / fpb
            roll = notes_to_roll(doc.notes, grid, doc.bpm, n_frames=p0) if mode == "continue" and p0 else None
            mask = None
            old = doc.notes_between(t0, t1)
            first, offset = (p0, 0) if roll is not None else (0, p0)
            region = (t0, t1, grid.lo, grid.hi)
            what = (f"{'continuing' if roll is not None else 'generating'} {self.bars.value()} bars at beat "
                    f"{t0:g}")
        elif mode == "reharmonise":
            sel = list(doc.selection)
            if not sel:
                self.status.setText("Select the notes to re-harmonise first (click, or Shift-drag a rectangle).")
                return None
            f0 = int(math.floor(min(n.start for n in sel) * fpb + 1e-9))
            f1 = max(f0 + 1, int(math.ceil(max(n.end for n in sel) * fpb - 1e-9)))
            plo, phi = min(n.pitch for n in sel), max(n.pitch for n in sel)
            while phi - plo < 11:  # at least an octave to harmonise in
                plo, phi = plo - (phi - plo + 1) % 2, phi + 1
            plo, phi = max(plo, grid.lo), min(phi, grid.hi)
            if plo > phi:
                self.status.setText(f"The selection is outside the model's pitches ({grid.lo}-{grid.hi}).")
                return None
            chosen = set(sel)
            roll = notes_to_roll([n for n in doc.notes if n not in chosen], grid, doc.bpm, n_frames=f1)
            free = np.zeros(roll.shape, bool)
            free[f0:f1, plo - grid.lo:phi - grid.lo + 1] = True
            free &= roll == 0  # the notes outside the selection stay, inside the rectangle too
            mask, n_frames, old, first, offset = ~free, 0, sel, f0, 0
            region = (f0 / fpb, f1 / fpb, plo, phi)
            what = f"re-harmonising beats {f0 / fpb:g}-{f1 / fpb:g}"
        else:
            raise ValueError(f"unknown model action {mode!r}")
        self.cancel_model()
        self.close_variations()
        n_var = self.n_variations.value()
        self._task = {"mode": mode, "model": info["name"], "grid": grid, "bpm": doc.bpm, "old": old, "free": free,
                      "first": first, "offset": offset, "roll": roll, "mask": mask, "n_frames": n_frames,
                      "seeds": [self.seed.value() + k for k in range(n_var)], "results": [], "what": what}
        self.roll.region = region
        self.roll.faded = set(old)
        return self._submit_next()

    def _submit_next(self) -> Any:
        from engine.music import jobs as music_jobs

        t = self._task
        k = len(t["results"])
        seed = t["seeds"][k]
        self._latest = None
        self.handle = self.bridge.submit(
            music_jobs.generate, t["model"], n_frames=t["n_frames"], roll=t["roll"], mask=t["mask"],
            gibbs_steps=self.gibbs.value(), temperature=self.temperature.value(), seed=seed,
            job_name=f"piano {t['mode']} {t['model']}", on_done=self._on_job_done)
        n = len(t["seeds"])
        self.status.setText(f"{t['model']}: {t['what']}" + (f" · variation {k + 1} of {n} (seed {seed})" if n > 1
                                                              else f" (seed {seed})") + "…")
        self._update_buttons()
        return self.handle

    def _mine(self, e: Any) -> bool:
        return self.handle is not None and e.job == self.handle.id

    def _result_notes(self, out: np.ndarray) -> list:
        """The notes a job's roll (frames 0..) made: from its first new frame on, only in the freed cells."""
        t = self._task
        part = np.asarray(out)[t["first"]:]
        if t["free"] is not None:
            part = part * t["free"][t["first"]:t["first"] + len(part)]
        return roll_to_notes(part, t["grid"], t["bpm"], first_frame=t["first"] + t["offset"])

    def _on_frame(self, e: Any) -> None:
        if self._mine(e) and e.label == "roll":
            self._latest = e  # only the newest counts; drawn at most ~30 times a second
            self.repaints.request()

    def _show_latest(self) -> None:
        e, self._latest = self._latest, None
        if e is not None and self._task is not None and self.handle is not None:
            self.roll.preview = self._result_notes(e.image)
            self.roll.update()

    def _on_progress(self, e: Any) -> None:
        if self._mine(e) and self._task is not None:
            self.info.setText(f"{self._task['model']}: frame {e.step:,} of {e.total:,}")

    def _on_job_done(self, out: Any) -> None:
        t = self._task
        if t is None:
            return
        self.handle = None
        t["results"].append(self._result_notes(out))
        if len(t["results"]) < len(t["seeds"]):
            self._submit_next()
            return
        self._variations = t["results"]
        self._finish_task()
        self.choose_variation(0, first=True)
        n = len(self._variations)
        if n > 1:
            self._syncing = True
            self.variation.clear()
            for k, notes in enumerate(self._variations):
                self.variation.addItem(f"Variation {k + 1} (seed {t['seeds'][k]}, {len(notes)} notes)")
            self.variation.setCurrentIndex(0)
            self._syncing = False
        self.status.setText(f"{t['model']}: done, {len(self._variations[0])} notes"
                            + (f" · {n} variations: choose one to audition, then Keep" if n > 1 else "")
                            + " · Undo takes it back")
        self._update_buttons()

    def _finish_task(self) -> None:
        self._latest = None
        self._on_current_model(self.library.current)
        self.roll.preview = []
        self.roll.region = None
        self.roll.faded = set()
        self.roll.update()

    def _on_job_end(self, e: Any) -> None:
        if not self._mine(e):
            return
        from engine import events as ev

        self.handle = None
        self._task = None
        self._finish_task()
        if isinstance(e, ev.Failed):
            self.status.setText(f"The model stopped with an error: {e.message}")
        else:
            self.status.setText("Stopped; nothing was applied.")
        self._update_buttons()

    def cancel_model(self) -> None:
        if self.handle is not None:
            self.bridge.cancel(self.handle)

    def choose_variation(self, k: int, first: bool = False) -> None:
        """Put variation ``k`` in the piece: one command, replacing the variation put there before."""
        if self._syncing or not 0 <= k < len(self._variations) or self._task is None:
            return
        t, stack = self._task, self.doc.undo_stack
        if not first:
            top = stack.command(stack.index() - 1) if stack.index() > 0 else None
            if self._applied is None or top is not self._applied:
                self.status.setText("The piece changed since the variations were made; they are closed.")
                self.close_variations()
                return
            stack.undo()
        present = set(self.doc.notes)
        old = [n for n in t["old"] if n in present]  # the user may have edited while the model worked
        label = {"generate": "generate", "continue": "continue", "reharmonise": "re-harmonise"}[t["mode"]]
        cmd = ReplaceNotes(self.doc, old, self._variations[k], f"{label} ({t['model']}, seed {t['seeds'][k]})")
        self.doc.push(cmd)
        self._applied = cmd
        self.result_applied.emit(len(self._variations[k]))

    def keep_variation(self) -> None:
        self.close_variations()
        self.status.setText("Kept.")

    def close_variations(self) -> None:
        self._variations = []
        self._applied = None
        if self.handle is None:
            self._task = None
        self._syncing = True
        self.variation.clear()
        self._syncing = False
        self._update_buttons()

    # ----- files -----
    def new(self) -> None:
        self.doc.push(SetState(self.doc, [], 120.0, (4, 4), "new piece"))
        self.doc.source = ""
        self.roll.set_playhead(0.0)
        self.roll.set_loop(None)
        self.status.setText("New piece.")

    def open_midi(self, path: str | None = None) -> bool:
        """Open a MIDI file; a malformed one shows its one-line message and leaves the piece as it was."""
        from engine.music.midi_io import MidiError

        if path is None:
            path = QFileDialog.getOpenFileName(self, "Open MIDI file", "", "MIDI files (*.mid *.midi *.kar);;All "
                                                                           "files (*)")[0]
            if not path:
                return False
        try:
            self.doc.load_midi(path)
        except MidiError as exc:
            message = str(exc)
            self.status.setText(message)
            self.notified.emit(message, "error")
            return False
        self.roll.set_playhead(0.0)
        self.roll.set_loop(None)
        if self.doc.notes:
            pitches = [n.pitch for n in self.doc.notes]
            self.roll.center_on(int(np.median(pitches)))
        self.roll.set_view(x0=0.0)
        self.status.setText(f"Opened {Path(path).name}: {len(self.doc.notes)} notes at {self.doc.bpm:g} bpm.")
        return True

    def save_midi(self, path: str | None = None) -> str | None:
        from engine.music.midi_io import MidiError

        if path is None:
            start = self.doc.source or "piece.mid"
            path = QFileDialog.getSaveFileName(self, "Save MIDI file", start, "MIDI files (*.mid)")[0]
            if not path:
                return None
        try:
            out = self.doc.save_midi(path)
        except (MidiError, OSError) as exc:
            self.status.setText(str(exc))
            self.notified.emit(str(exc), "error")
            return None
        self.status.setText(f"Saved {out}")
        return str(out)

    def export_wav(self, path: str | None = None) -> str | None:
        if path is None:
            start = str(Path(self.doc.source).with_suffix(".wav")) if self.doc.source else "piece.wav"
            path = QFileDialog.getSaveFileName(self, "Export WAV", start, "WAV audio (*.wav)")[0]
            if not path:
                return None
        try:
            out = write_wav(path, render(self.doc.notes, self.doc.bpm))
        except OSError as exc:
            self.status.setText(f"Cannot write {path}: {exc.strerror or exc}")
            self.notified.emit(self.status.text(), "error")
            return None
        self.status.setText(f"Exported {out}")
        return str(out)

    def _drag_file(self) -> Path | None:
        if not self.doc.notes:
            return None
        if self._drag_dir is None:
            self._drag_dir = tempfile.mkdtemp(prefix="boltzmann-midi-")
        name = Path(self.doc.source).stem if self.doc.source else "piece"
        from engine.music.midi_io import write_midi

        return write_midi(self.doc.to_score(), Path(self._drag_dir) / f"{name}.mid")

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if self._midi_urls(e.mimeData()):
            e.acceptProposedAction()
        else:
            e.ignore()

    def dropEvent(self, e: QDropEvent) -> None:
        paths = self._midi_urls(e.mimeData())
        if paths:
            self.open_midi(paths[0])
            e.acceptProposedAction()

    @staticmethod
    def _midi_urls(mime: QMimeData) -> list[str]:
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile().lower().endswith(
            MIDI_SUFFIXES)]

    # ----- editing -----
    def quantise(self) -> None:
        sel = list(self.doc.selection)
        if not sel:
            self.status.setText("Select the notes to quantise (Ctrl+A: all).")
            return
        self.doc.push(Quantise(self.doc, sel, self.roll.grid))

    def toggle_snap(self) -> None:
        self.roll.snap_on = self.buttons["snap"].isChecked()

    def toggle_loop(self) -> None:
        if self.buttons["loop"].isChecked() and self.roll.loop is None:
            bpb = self.doc.beats_per_bar
            a = math.floor(self.roll.playhead / bpb) * bpb
            self.roll.set_loop((a, a + 2 * bpb))
        if self.player.playing:
            self.play()

    def _on_loop(self, loop: Any) -> None:
        self.buttons["loop"].setChecked(loop is not None)

    def _on_tempo(self, value: float) -> None:
        if not self._syncing and abs(value - self.doc.bpm) > 1e-9:
            self.doc.push(SetTiming(self.doc, bpm=value))

    def _on_signature(self, _: Any = None) -> None:
        ts = (self.ts_num.value(), int(self.ts_den.currentData()))
        if not self._syncing and ts != self.doc.time_signature:
            self.doc.push(SetTiming(self.doc, time_signature=ts))

    def _on_doc_changed(self) -> None:
        self._syncing = True
        self.tempo.setValue(self.doc.bpm)
        self.ts_num.setValue(self.doc.time_signature[0])
        self.ts_den.setCurrentIndex(max(0, self.ts_den.findData(self.doc.time_signature[1])))
        self._syncing = False
        self._sync_scrollbars()
        self._update_buttons()

    def _sync_scrollbars(self) -> None:
        roll = self.roll
        self._syncing = True
        span = max(self.doc.end, roll.playhead, roll.loop[1] if roll.loop else 0.0, 16 * self.doc.beats_per_bar)
        page = roll.visible_beats()
        span = max(span + 4 * self.doc.beats_per_bar, roll.x0 + page)
        self.hbar.setPageStep(max(1, int(page * H_UNITS)))
        self.hbar.setSingleStep(H_UNITS // 2)
        self.hbar.setRange(0, max(0, int((span - page) * H_UNITS)))
        self.hbar.setValue(int(round(roll.x0 * H_UNITS)))
        rows = roll.visible_rows()
        self.vbar.setPageStep(rows)
        self.vbar.setRange(0, max(0, 127 - rows + 1))
        self.vbar.setValue(127 - roll.top)
        self._syncing = False

    # ----- playback -----
    def play(self) -> None:
        loop = self.roll.loop if self.buttons["loop"].isChecked() else None
        start = self.roll.playhead
        end = self.doc.end
        if loop is None and start >= end:
            start = 0.0
        self.status.setText("Playing…")
        self.player.play(self.doc.notes, self.doc.bpm, start, end, loop)

    def stop(self) -> None:
        self.player.stop()

    def _on_play_position(self, beat: float) -> None:
        self.roll.set_playhead(beat)
        self.roll.ensure_visible(beat)

    def _on_player_message(self, message: str) -> None:
        self.status.setText(message)
        self.notified.emit(message, "info")

    # ----- buttons -----
    def _update_buttons(self) -> None:
        music = self.music_model() is not None
        running = self.handle is not None
        b, c = self.buttons, self.compose_buttons
        b["undo"].setEnabled(self.doc.undo_stack.canUndo())
        b["redo"].setEnabled(self.doc.undo_stack.canRedo())
        b["stop"].setEnabled(self.player.playing)
        b["quantise"].setEnabled(bool(self.doc.selection))
        has_notes = bool(self.doc.notes)
        for key in ("save", "wav"):
            b[key].setEnabled(has_notes)
        self.drag_out.setEnabled(has_notes)
        c["generate"].setEnabled(music)
        c["continue"].setEnabled(music)
        c["reharmonise"].setEnabled(music and bool(self.doc.selection))
        c["cancel"].setEnabled(running)
        choosing = len(self._variations) > 1
        c["keep"].setVisible(choosing)
        self.variation_action.setVisible(choosing)
