"""The piano-roll editor: a custom-painted view of a :class:`~studio.documents.notes.NoteDocument`.

Layout: the keyboard on the left, the ruler (bar numbers, loop region, playhead) on top, the notes over a
bar/beat grid in the middle and the velocity lane at the bottom. Coordinates: :meth:`PianoRoll.time_at` (x ->
beats), :meth:`PianoRoll.pitch_at` (y -> MIDI pitch) and :meth:`PianoRoll.point_at` (pitch, beats -> the widget
point in the middle of that row), so tests and tools drive the editor in musical terms.

Mouse: drag on empty space draws a note; click a note to select it (Ctrl toggles, Shift adds); drag a note to
move the selection; drag its right edge to resize; Shift-drag (or right-drag) on empty space selects with a
rubber band (Ctrl-drag adds to the selection); drag a stem of the velocity lane to change velocities (of the
whole selection when the note is selected); click the ruler to move the playhead, drag along it to set the loop region. Keys: Delete or
Backspace delete, Up/Down transpose (Shift: an octave), Left/Right move by one grid step, Ctrl+C/X/V copy,
cut and paste at the playhead, Ctrl+A select all, Esc clears the selection. Wheel scrolls (Shift: sideways),
Ctrl+wheel zooms time, Ctrl+Shift+wheel zooms pitch.

While a gesture lasts only an overlay is drawn; the one command is pushed on release. The widget never owns
notes: it paints the document, a model's preview (:attr:`PianoRoll.preview`) and the gesture's overlay.
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QFont, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen,
                           QWheelEvent)
from PySide6.QtWidgets import QWidget

from studio.documents.notes import (DEFAULT_VELOCITY, AddNote, MoveNotes, Note, NoteDocument, Paste, RemoveNotes,
                                    ResizeNotes, SetVelocity, Transpose, snap)

KEY_W, RULER_H, LANE_H, LANE_GAP = 52, 22, 60, 4
EDGE_PX = 6  # the right end of a note this many pixels wide resizes it
DRAG_PX = 3  # a press that moves less than this is a click
BLACK = {1, 3, 6, 8, 10}
NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

C_BG = QColor(250, 250, 252)
C_BLACK_ROW = QColor(236, 238, 243)
C_GRID_SUB, C_GRID_BEAT, C_GRID_BAR = QColor(228, 230, 236), QColor(205, 208, 218), QColor(150, 155, 170)
C_NOTE, C_NOTE_SEL, C_PREVIEW = QColor(66, 120, 210), QColor(240, 140, 40), QColor(30, 170, 140)
C_PLAYHEAD, C_LOOP = QColor(220, 50, 50), QColor(120, 200, 120, 60)


def pitch_name(p: int) -> str:
    """C4 is MIDI 60."""
    return f"{NAMES[p % 12]}{p // 12 - 1}"


class PianoRoll(QWidget):
    #: the user moved the playhead (beats)
    playhead_moved = Signal(float)
    #: the user set or cleared the loop region ((start, end) in beats, or None)
    loop_changed = Signal(object)
    #: scroll position or zoom changed
    view_changed = Signal()

    clipboard: list[Note] = []  # shared by every roll of the application

    def __init__(self, doc: NoteDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("piano_roll")
        self.doc = doc
        doc.changed.connect(self.update)
        doc.selection_changed.connect(self.update)
        self.px_per_beat = 48.0
        self.row_h = 12
        self.x0 = 0.0  # beat at the left edge of the notes
        self.top = 84  # pitch of the top row
        self.grid = 0.25  # snap step (beats)
        self.snap_on = True
        self.playhead = 0.0
        self.loop: tuple[float, float] | None = None
        self.preview: list[Note] = []  # a model's notes being made, not yet in the document
        self.region: tuple[float, float, int, int] | None = None  # (t0, t1, lo, hi) a model is working on
        self.faded: set[Note] = set()  # notes a model is replacing: drawn pale
        self.velocity = DEFAULT_VELOCITY  # of new notes: the last one drawn or set
        self._drag: dict[str, Any] | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(320, 220)

    def sizeHint(self) -> QSize:
        return QSize(900, 520)

    # ----- coordinates -----
    def notes_rect(self) -> QRect:
        return QRect(KEY_W, RULER_H, max(1, self.width() - KEY_W), max(1, self.height() - RULER_H - LANE_H - LANE_GAP))

    def lane_rect(self) -> QRect:
        return QRect(KEY_W, self.height() - LANE_H, max(1, self.width() - KEY_W), LANE_H)

    def x_of(self, beats: float) -> float:
        return KEY_W + (beats - self.x0) * self.px_per_beat

    def time_at(self, x: float) -> float:
        """Beats at widget x."""
        return self.x0 + (x - KEY_W) / self.px_per_beat

    def y_of(self, pitch: int) -> float:
        """Top of the row of ``pitch``."""
        return RULER_H + (self.top - pitch) * self.row_h

    def pitch_at(self, y: float) -> int:
        """MIDI pitch of the row at widget y."""
        return self.top - math.floor((y - RULER_H) / self.row_h)

    def point_at(self, pitch: int, time: float) -> QPoint:
        """The widget point at ``time`` beats, in the middle of the row of ``pitch``."""
        return QPoint(round(self.x_of(time)), int(self.y_of(pitch) + self.row_h / 2))

    def lane_y(self, velocity: float) -> float:
        r = self.lane_rect()
        return r.bottom() - 4 - velocity / 127.0 * (r.height() - 10)

    def velocity_at(self, y: float) -> int:
        r = self.lane_rect()
        return max(1, min(127, round((r.bottom() - 4 - y) / (r.height() - 10) * 127)))

    def velocity_point(self, note: Note, velocity: float | None = None) -> QPoint:
        """The point on ``note``'s stem in the velocity lane at ``velocity`` (default: its own)."""
        return QPoint(round(self.x_of(note.start)) + 1, round(self.lane_y(note.velocity if velocity is None
                                                                           else velocity)))

    def visible_rows(self) -> int:
        return max(1, self.notes_rect().height() // self.row_h)

    def visible_beats(self) -> float:
        return self.notes_rect().width() / self.px_per_beat

    def note_rect(self, n: Note) -> QRectF:
        return QRectF(self.x_of(n.start), self.y_of(n.pitch) + 1, max(3.0, n.length * self.px_per_beat),
                      self.row_h - 1)

    def snapped(self, t: float, how: str = "round") -> float:
        """``t`` on the grid (when snapping); a floor or ceiling forgives a pixel, so a press on a grid line
        stays on it whatever the rounding of the zoom."""
        if not self.snap_on:
            return round(t, 9)
        px = 1.0 / self.px_per_beat
        return snap(t + (px if how == "floor" else -px if how == "ceil" else 0.0), self.grid, how)

    # ----- view -----
    def set_view(self, x0: float | None = None, top: int | None = None) -> None:
        if x0 is not None:
            self.x0 = max(0.0, x0)
        if top is not None:
            self.top = int(max(min(127, top), min(127, self.visible_rows() - 1)))
        self.update()
        self.view_changed.emit()

    def zoom_time(self, factor: float, anchor_x: float | None = None) -> None:
        ax = self.notes_rect().left() if anchor_x is None else anchor_x
        t = self.time_at(ax)
        self.px_per_beat = min(800.0, max(4.0, self.px_per_beat * factor))
        self.set_view(x0=t - (ax - KEY_W) / self.px_per_beat)

    def zoom_pitch(self, factor: float) -> None:
        middle = self.top - self.visible_rows() // 2
        self.row_h = int(min(40, max(4, round(self.row_h * factor + (0.5 if factor > 1 else -0.5)))))
        self.set_view(top=middle + self.visible_rows() // 2)

    def center_on(self, pitch: int) -> None:
        self.set_view(top=pitch + self.visible_rows() // 2)

    def ensure_visible(self, beat: float) -> None:
        """Scroll so that ``beat`` is on screen (used by playback)."""
        if beat < self.x0 or beat > self.x0 + self.visible_beats() * 0.95:
            self.set_view(x0=max(0.0, beat - self.visible_beats() * 0.1))

    def set_playhead(self, beat: float) -> None:
        self.playhead = max(0.0, float(beat))
        self.update()

    def set_loop(self, loop: tuple[float, float] | None) -> None:
        self.loop = loop if loop and loop[1] > loop[0] else None
        self.update()
        self.loop_changed.emit(self.loop)

    # ----- hit testing -----
    def note_at(self, pos: QPoint | QPointF) -> tuple[Note, str] | None:
        """The note under ``pos`` and the part hit ("body" or "edge", its right end), topmost first."""
        p = QPointF(pos)
        for n in reversed(self.doc.notes):
            r = self.note_rect(n)
            if r.contains(p):
                edge = min(EDGE_PX, r.width() / 3)
                return n, ("edge" if p.x() >= r.right() - edge else "body")
        return None

    def stem_at(self, pos: QPoint) -> Note | None:
        """The note whose velocity stem is nearest ``pos`` (within a few pixels), preferring selected ones."""
        best, dist = None, 5.0
        selected = set(self.doc.selection)
        for n in self.doc.notes:
            d = abs(self.x_of(n.start) - pos.x()) - (0.5 if n in selected else 0.0)
            if d < dist:
                best, dist = n, d
        return best

    # ----- mouse -----
    def mousePressEvent(self, e: QMouseEvent) -> None:
        pos = e.position().toPoint()
        self.setFocus()
        mods = e.modifiers()
        right = e.button() == Qt.MouseButton.RightButton
        if e.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        if pos.x() < KEY_W:
            return
        drag: dict[str, Any] = {"press": pos, "pos": pos, "moved": False}
        if pos.y() < RULER_H:
            drag["kind"] = "ruler"
        elif pos.y() >= self.lane_rect().top():
            n = self.stem_at(pos)
            if n is None:
                return
            notes = list(self.doc.selection) if n in self.doc.selection else [n]
            drag.update(kind="velocity", note=n, notes=notes)
        else:
            hit = self.note_at(pos)
            if hit is not None and not right:
                n, part = hit
                sel = list(self.doc.selection)
                if mods & Qt.KeyboardModifier.ControlModifier:
                    self.doc.select([x for x in sel if x != n] if n in sel else sel + [n])
                    return
                if n not in sel:
                    self.doc.select(sel + [n] if mods & Qt.KeyboardModifier.ShiftModifier else [n])
                drag.update(kind="resize" if part == "edge" else "move", note=n, notes=list(self.doc.selection))
            elif right or mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier):
                drag["kind"] = "band"
            else:
                drag["kind"] = "draw"
        self._drag = drag
        self.update()

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        pos = e.position().toPoint()
        d = self._drag
        if d is None:
            self._hover_cursor(pos)
            return
        d["pos"] = pos
        if (pos - d["press"]).manhattanLength() >= DRAG_PX:
            d["moved"] = True
        self.update()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        d, self._drag = self._drag, None
        if d is None:
            return
        d["pos"] = e.position().toPoint()
        if (d["pos"] - d["press"]).manhattanLength() >= DRAG_PX:
            d["moved"] = True
        kind = d["kind"]
        doc = self.doc
        if kind == "ruler":
            if d["moved"]:
                a, b = sorted((self.snapped(self.time_at(d["press"].x())), self.snapped(self.time_at(d["pos"].x()))))
                self.set_loop((max(0.0, a), b) if b > a else None)
            else:
                self.set_playhead(self.snapped(max(0.0, self.time_at(d["pos"].x())), "floor"))
                self.playhead_moved.emit(self.playhead)
        elif kind == "band":
            notes = self._band_notes(d)
            if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
                notes = list(doc.selection) + notes
            doc.select(notes)
        elif kind == "draw":
            if not d["moved"]:
                doc.select([])
            else:
                note = self._drawn_note(d)
                if note is not None:
                    doc.push(AddNote(doc, note))
        elif kind == "move" and d["moved"]:
            dt, dp = self._move_delta(d)
            if dt or dp:
                doc.push(MoveNotes(doc, d["notes"], dt, dp))
        elif kind == "resize" and d["moved"]:
            dt = self._resize_delta(d)
            if dt:
                doc.push(ResizeNotes(doc, d["notes"], dt, min(self.grid, 0.25) if self.snap_on else 1 / 64))
        elif kind == "velocity" and d["moved"]:
            new = self._velocities(d)
            if [n.velocity for n in d["notes"]] != new:
                doc.push(SetVelocity(doc, d["notes"], new))
                self.velocity = self.velocity_at(d["pos"].y())
        self.update()

    def _hover_cursor(self, pos: QPoint) -> None:
        hit = self.note_at(pos) if self.notes_rect().contains(pos) else None
        shape = (Qt.CursorShape.SizeHorCursor if hit and hit[1] == "edge" else
                 Qt.CursorShape.SizeAllCursor if hit else Qt.CursorShape.ArrowCursor)
        if self.cursor().shape() != shape:
            self.setCursor(shape)

    # ----- what a gesture would do -----
    def _drawn_note(self, d: dict) -> Note | None:
        t0, t1 = self.time_at(d["press"].x()), self.time_at(d["pos"].x())
        t0, t1 = min(t0, t1), max(t0, t1)
        s = max(0.0, self.snapped(t0, "floor"))
        e = self.snapped(t1, "ceil") if self.snap_on else t1
        if e <= s:
            e = s + (self.grid if self.snap_on else 1 / 16)
        p = self.pitch_at(d["press"].y())
        return Note(s, round(e, 9), p, self.velocity) if 0 <= p <= 127 else None

    def _move_delta(self, d: dict) -> tuple[float, int]:
        dt = self.time_at(d["pos"].x()) - self.time_at(d["press"].x())
        if self.snap_on:
            # the grabbed note's start lands on the grid
            start = d["note"].start
            dt = snap(start + dt, self.grid) - start
        dp = self.pitch_at(d["pos"].y()) - self.pitch_at(d["press"].y())
        notes = d["notes"]
        dt = max(dt, -min(n.start for n in notes))
        dp = max(min(dp, 127 - max(n.pitch for n in notes)), -min(n.pitch for n in notes))
        return round(dt, 9), dp

    def _resize_delta(self, d: dict) -> float:
        end = self.time_at(d["pos"].x())
        if self.snap_on:
            end = snap(end, self.grid)
        return round(end - d["note"].end, 9)

    def _velocities(self, d: dict) -> list[int]:
        delta = self.velocity_at(d["pos"].y()) - d["note"].velocity
        return [max(1, min(127, n.velocity + delta)) for n in d["notes"]]

    def _band_notes(self, d: dict) -> list[Note]:
        r = QRectF(QPointF(d["press"]), QPointF(d["pos"])).normalized()
        return [n for n in self.doc.notes if r.intersects(self.note_rect(n))]

    def _overlay(self) -> tuple[set[Note], list[Note]]:
        """Notes the gesture hides and the notes it would put instead."""
        d = self._drag
        if d is None or not d["moved"]:
            return set(), []
        kind = d["kind"]
        if kind == "draw":
            n = self._drawn_note(d)
            return set(), [n] if n else []
        if kind == "move":
            dt, dp = self._move_delta(d)
            return set(d["notes"]), [n.moved(dt, dp) for n in d["notes"]]
        if kind == "resize":
            dt = self._resize_delta(d)
            m = min(self.grid, 0.25) if self.snap_on else 1 / 64
            return set(d["notes"]), [Note(n.start, max(n.start + m, n.end + dt), n.pitch, n.velocity)
                                     for n in d["notes"]]
        if kind == "velocity":
            return set(d["notes"]), [Note(n.start, n.end, n.pitch, v) for n, v in zip(d["notes"], self._velocities(d))]
        return set(), []

    # ----- keys and wheel -----
    def keyPressEvent(self, e: QKeyEvent) -> None:
        doc, sel = self.doc, list(self.doc.selection)
        key, shift = e.key(), bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            if sel:
                doc.push(RemoveNotes(doc, sel))
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and sel:
            k = (12 if shift else 1) * (1 if key == Qt.Key.Key_Up else -1)
            doc.push(Transpose(doc, sel, k))
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and sel:
            doc.push(MoveNotes(doc, sel, self.grid * (1 if key == Qt.Key.Key_Right else -1), 0))
        elif e.matches(QKeySequence.StandardKey.Copy):
            self.copy()
        elif e.matches(QKeySequence.StandardKey.Cut):
            if self.copy():
                doc.push(RemoveNotes(doc, sel))
        elif e.matches(QKeySequence.StandardKey.Paste):
            self.paste()
        elif e.matches(QKeySequence.StandardKey.SelectAll):
            doc.select(doc.notes)
        elif key == Qt.Key.Key_Escape:
            doc.select([])
        else:
            super().keyPressEvent(e)
            return
        e.accept()

    def copy(self) -> bool:
        if not self.doc.selection:
            return False
        PianoRoll.clipboard = list(self.doc.selection)
        return True

    def paste(self) -> None:
        if PianoRoll.clipboard:
            self.doc.push(Paste(self.doc, PianoRoll.clipboard, self.playhead))

    def wheelEvent(self, e: QWheelEvent) -> None:
        steps = e.angleDelta().y() / 120.0 or e.angleDelta().x() / 120.0
        mods = e.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if ctrl and shift:
            self.zoom_pitch(1.15 ** steps)
        elif ctrl:
            self.zoom_time(1.2 ** steps, e.position().x())
        elif shift or e.angleDelta().x():
            self.set_view(x0=self.x0 - steps * 40 / self.px_per_beat)
        else:
            self.set_view(top=self.top + round(steps * 3))
        e.accept()

    # ----- painting -----
    def paintEvent(self, _: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        nr, lr = self.notes_rect(), self.lane_rect()
        p.fillRect(self.rect(), C_BG)
        lo_pitch = self.pitch_at(nr.bottom())
        t_left, t_right = self.x0, self.time_at(nr.right())

        # rows and the time grid under the notes
        p.save()
        p.setClipRect(nr)
        for pitch in range(max(0, lo_pitch), min(127, self.top) + 1):
            y = self.y_of(pitch)
            if pitch % 12 in BLACK:
                p.fillRect(QRectF(nr.left(), y, nr.width(), self.row_h), C_BLACK_ROW)
            if pitch % 12 == 0:
                p.setPen(QPen(C_GRID_BEAT))
                p.drawLine(QPointF(nr.left(), y + self.row_h), QPointF(nr.right(), y + self.row_h))
        if self.loop:
            a, b = self.x_of(self.loop[0]), self.x_of(self.loop[1])
            p.fillRect(QRectF(a, nr.top(), b - a, nr.height()), C_LOOP)
        self._paint_grid(p, nr, t_left, t_right)
        if self.region:
            t0, t1, plo, phi = self.region
            r = QRectF(self.x_of(t0), self.y_of(phi), (t1 - t0) * self.px_per_beat, (phi - plo + 1) * self.row_h)
            p.fillRect(r, QColor(30, 170, 140, 28))
            p.setPen(QPen(C_PREVIEW, 1, Qt.PenStyle.DashLine))
            p.drawRect(r)

        hidden, overlay = self._overlay()
        selected = set(self.doc.selection)
        for n in self.doc.notes:
            if n in hidden or n.end < t_left or n.start > t_right or not lo_pitch - 1 <= n.pitch <= self.top:
                continue
            self._paint_note(p, n, C_NOTE_SEL if n in selected else C_NOTE, n in selected,
                             alpha=70 if n in self.faded else 255)
        for n in self.preview:
            if n.end >= t_left and n.start <= t_right:
                self._paint_note(p, n, C_PREVIEW, False, alpha=200)
        for n in overlay:
            self._paint_note(p, n, C_NOTE_SEL, True, alpha=230)
        d = self._drag
        if d is not None and d["kind"] == "band" and d["moved"]:
            r = QRectF(QPointF(d["press"]), QPointF(d["pos"])).normalized()
            p.fillRect(r, QColor(240, 140, 40, 40))
            p.setPen(QPen(C_NOTE_SEL, 1, Qt.PenStyle.DashLine))
            p.drawRect(r)
        p.restore()

        self._paint_lane(p, lr, hidden, overlay, selected, t_left, t_right)
        self._paint_ruler(p, t_left, t_right)
        self._paint_keyboard(p, nr, lo_pitch)
        # the playhead across notes and lane
        x = self.x_of(self.playhead)
        if KEY_W <= x <= self.width():
            p.setPen(QPen(C_PLAYHEAD, 1.5))
            p.drawLine(QPointF(x, RULER_H), QPointF(x, self.height()))
            p.setBrush(C_PLAYHEAD)
            p.setPen(Qt.PenStyle.NoPen)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.drawPolygon([QPointF(x - 6, RULER_H - 9), QPointF(x + 6, RULER_H - 9), QPointF(x, RULER_H - 1)])
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if self.hasFocus():
            p.setPen(QPen(QColor(120, 160, 230), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()

    def _grid_lines(self, t_left: float, t_right: float) -> list[tuple[float, QColor]]:
        bpb = self.doc.beats_per_bar
        sub = self.grid
        while sub * self.px_per_beat < 7:
            sub *= 2
        lines = []
        k = math.floor(t_left / sub)
        while k * sub <= t_right:
            t = k * sub
            on_bar = abs(t / bpb - round(t / bpb)) < 1e-6
            on_beat = abs(t - round(t)) < 1e-6
            if on_bar or (on_beat and self.px_per_beat >= 6):
                lines.append((t, C_GRID_BAR if on_bar else C_GRID_BEAT))
            else:
                lines.append((t, C_GRID_SUB))
            k += 1
        return lines

    def _paint_grid(self, p: QPainter, nr: QRect, t_left: float, t_right: float) -> None:
        for t, color in self._grid_lines(t_left, t_right):
            x = round(self.x_of(t))
            p.setPen(QPen(color, 1))
            p.drawLine(x, nr.top(), x, nr.bottom())

    def _paint_note(self, p: QPainter, n: Note, color: QColor, selected: bool, alpha: int = 255) -> None:
        r = self.note_rect(n)
        fill = QColor(color)
        # velocity shows as strength: soft notes are paler
        fill = fill.lighter(100 + int(70 * (1 - n.velocity / 127)))
        fill.setAlpha(alpha)
        p.setPen(QPen(color.darker(150 if selected else 135), 1))
        p.setBrush(fill)
        p.drawRect(r.adjusted(0, 0, -1, -1))
        if self.row_h >= 11 and r.width() > 28:
            p.setPen(QColor(255, 255, 255))
            f = QFont(self.font())
            f.setPixelSize(max(7, self.row_h - 4))
            p.setFont(f)
            p.drawText(r.adjusted(3, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                       pitch_name(n.pitch))

    def _paint_lane(self, p: QPainter, lr: QRect, hidden: set, overlay: list, selected: set, t_left: float,
                    t_right: float) -> None:
        p.fillRect(QRect(0, lr.top() - LANE_GAP, self.width(), LANE_GAP), QColor(210, 213, 222))
        p.fillRect(lr, QColor(244, 245, 248))
        p.save()
        p.setClipRect(lr)
        for t, color in self._grid_lines(t_left, t_right):
            if color != C_GRID_SUB:
                p.setPen(QPen(color, 1))
                x = round(self.x_of(t))
                p.drawLine(x, lr.top(), x, lr.bottom())
        p.setPen(QPen(QColor(220, 222, 230), 1, Qt.PenStyle.DotLine))
        for v in (32, 64, 96, 127):
            y = round(self.lane_y(v))
            p.drawLine(lr.left(), y, lr.right(), y)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        notes = [(n, C_NOTE_SEL if n in selected else C_NOTE) for n in self.doc.notes if n not in hidden]
        notes += [(n, C_PREVIEW) for n in self.preview] + [(n, C_NOTE_SEL) for n in overlay]
        for n, color in notes:
            if n.end < t_left or n.start > t_right:
                continue
            x, y = self.x_of(n.start) + 1, self.lane_y(n.velocity)
            p.setPen(QPen(color, 2))
            p.drawLine(QPointF(x, lr.bottom() - 2), QPointF(x, y))
            p.setBrush(color)
            p.drawEllipse(QPointF(x, y), 3, 3)
        p.restore()
        p.fillRect(QRect(0, lr.top(), KEY_W, lr.height()), QColor(232, 234, 240))
        p.setPen(QColor(90, 95, 110))
        p.drawText(QRect(0, lr.top(), KEY_W - 4, lr.height()), Qt.AlignmentFlag.AlignCenter, "velocity")

    def _paint_ruler(self, p: QPainter, t_left: float, t_right: float) -> None:
        r = QRect(KEY_W, 0, self.width() - KEY_W, RULER_H)
        p.fillRect(QRect(0, 0, self.width(), RULER_H), QColor(232, 234, 240))
        p.save()
        p.setClipRect(r)
        if self.loop:
            a, b = self.x_of(self.loop[0]), self.x_of(self.loop[1])
            p.fillRect(QRectF(a, 2, b - a, RULER_H - 4), QColor(90, 180, 90, 150))
        bpb = self.doc.beats_per_bar
        f = QFont(self.font())
        f.setPixelSize(11)
        p.setFont(f)
        bar_px = bpb * self.px_per_beat
        every = 1
        while every * bar_px < 28:
            every *= 2
        first = max(0, math.floor(t_left / bpb))
        bar = first
        while bar * bpb <= t_right:
            x = round(self.x_of(bar * bpb))
            p.setPen(QColor(110, 115, 130))
            p.drawLine(x, RULER_H - 8, x, RULER_H)
            if bar % every == 0:
                p.setPen(QColor(40, 44, 56))
                p.drawText(x + 3, RULER_H - 7, str(bar + 1))
            if self.px_per_beat >= 10:
                for b in range(1, int(math.ceil(bpb))):
                    xb = round(self.x_of(bar * bpb + b))
                    p.setPen(QColor(160, 165, 180))
                    p.drawLine(xb, RULER_H - 4, xb, RULER_H)
            bar += 1
        p.restore()
        p.setPen(QColor(190, 194, 205))
        p.drawLine(0, RULER_H - 1, self.width(), RULER_H - 1)
        p.fillRect(QRect(0, 0, KEY_W, RULER_H), QColor(222, 225, 232))
        num, den = self.doc.time_signature
        p.setPen(QColor(60, 64, 76))
        p.drawText(QRect(0, 0, KEY_W, RULER_H), Qt.AlignmentFlag.AlignCenter, f"{num}/{den}")

    def _paint_keyboard(self, p: QPainter, nr: QRect, lo_pitch: int) -> None:
        k = QRect(0, nr.top(), KEY_W, nr.height())
        p.save()
        p.setClipRect(k)
        p.fillRect(k, QColor(255, 255, 255))
        f = QFont(self.font())
        f.setPixelSize(max(7, min(11, self.row_h - 1)))
        p.setFont(f)
        for pitch in range(max(0, lo_pitch - 1), min(127, self.top) + 1):
            y = self.y_of(pitch)
            if pitch % 12 in BLACK:
                p.fillRect(QRectF(0, y, KEY_W * 0.6, self.row_h), QColor(40, 42, 48))
            elif pitch % 12 in (0, 5):  # the boundary below C and F
                p.setPen(QColor(190, 192, 200))
                p.drawLine(QPointF(0, y + self.row_h), QPointF(KEY_W, y + self.row_h))
            if pitch % 12 == 0:
                p.setPen(QColor(90, 94, 106))
                p.drawText(QRectF(0, y, KEY_W - 4, self.row_h), Qt.AlignmentFlag.AlignRight |
                           Qt.AlignmentFlag.AlignVCenter, pitch_name(pitch))
        p.restore()
        p.setPen(QColor(170, 174, 186))
        p.drawLine(KEY_W - 1, nr.top(), KEY_W - 1, nr.bottom())
