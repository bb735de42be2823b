"""The piano roll's document: notes in beats, a tempo and a time signature, edited only through undo commands.

A :class:`NoteDocument` holds :class:`Note` values (start and end in quarter-note beats, MIDI pitch,
velocity), the tempo (bpm; a file's tempo map is reduced to its first tempo, the notes keep their beats) and
the time signature. It emits ``changed`` after every change. The selection lives here too, since the panel's
model actions (re-harmonise) read it, but it is not part of the undo history: each command only restores
the selection it changed.

Every edit is a ``QUndoCommand`` pushed on the document's one ``QUndoStack`` (:attr:`NoteDocument.undo_stack`).
Edits of notes are all :class:`EditNotes`: the notes it removes and the notes it adds, both computed in
``__init__``, so redo and undo just swap them. Notes are values, so a command finds the notes it removes by
equality.

Conversions: :meth:`NoteDocument.to_engine_notes` / :meth:`NoteDocument.load_score` to and from
:mod:`engine.music` note lists and MIDI scores, :func:`notes_to_roll` / :func:`roll_to_notes` to and from a
model's piano roll on a :class:`Grid`. Engine imports are lazy: importing this module loads no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

#: the piano's 88 keys, the models' default pitch range
LO, HI = 21, 108
#: shortest note the editor makes (beats)
MIN_LENGTH = 1 / 64
DEFAULT_VELOCITY = 80


@dataclass(frozen=True, order=True)
class Note:
    """One note: ``start`` and ``end`` in beats (quarter notes) from the start, ``pitch`` 0-127, ``velocity``
    1-127."""

    start: float
    end: float
    pitch: int
    velocity: int = DEFAULT_VELOCITY

    @property
    def length(self) -> float:
        return self.end - self.start

    def moved(self, beats: float = 0.0, semitones: int = 0) -> Note:
        return replace(self, start=self.start + beats, end=self.end + beats, pitch=self.pitch + semitones)


@dataclass(frozen=True)
class Grid:
    """How a model's piano roll lies over the document: column k is pitch ``lo + k`` (``hi`` the last), one
    frame per ``1 / steps_per_beat`` beats, or per ``dt`` seconds (then frames per beat follow the tempo)."""

    lo: int = LO
    hi: int = HI
    steps_per_beat: float | None = 4.0
    dt: float | None = None

    @property
    def n_pitches(self) -> int:
        return self.hi - self.lo + 1

    def frames_per_beat(self, bpm: float) -> float:
        return float(self.steps_per_beat) if self.dt is None else 60.0 / (bpm * self.dt)

    def describe(self) -> str:
        step = (f"{self.dt * 1000:g} ms frames" if self.dt is not None else
                {1.0: "quarter notes", 2.0: "eighth notes", 4.0: "sixteenth notes"}.get(
                    float(self.steps_per_beat), f"{self.steps_per_beat:g} frames a beat"))
        return f"pitches {self.lo}-{self.hi}, {step}"


def grid_for_model(info: dict | None) -> Grid:
    """The grid of a model of music from its library summary: the pitch range of the data it was trained on
    (as :func:`engine.music.jobs.pitch_range`) and that data's time step; a model with no data (untrained)
    gets sixteenth notes from pitch 21 (88 columns: 21-108)."""
    info = info or {}
    spec = (info.get("data") or {}).get("spec") or {}
    n = int((info.get("config") or {}).get("n_visible", HI - LO + 1))
    lo = int(spec.get("lo", LO))
    name = spec.get("name")
    spb: float | None = 4.0
    dt = None
    if name == "midi_folder":
        if spec.get("dt") is not None:
            spb, dt = None, float(spec["dt"])
        else:
            from engine.music.pianoroll import GRIDS

            given = spec.get("steps_per_beat")
            spb = float(GRIDS.get(given, 0) if isinstance(given, str) else (given or 2)) or 2.0
    elif name:
        from engine.data.music import POLYPHONIC

        if name in POLYPHONIC:
            spb = float(POLYPHONIC[name][2] or 2)  # piano-midi.de and MuseData have no beat grid: eighths
    return Grid(lo, lo + n - 1, spb, dt)


def notes_to_roll(notes: Iterable[Note], grid: Grid, bpm: float, n_frames: int | None = None) -> np.ndarray:
    """A (T, V) float32 0/1 roll of the notes on the model's grid (frame 0 at beat 0); pitches outside the
    grid's range are left out."""
    from engine.music.midi_io import NOTE_DTYPE
    from engine.music.pianoroll import notes_to_roll as to_roll

    notes = list(notes)
    arr = np.zeros(len(notes), NOTE_DTYPE)
    arr["pitch"] = [n.pitch for n in notes]
    arr["start_beat"] = [n.start for n in notes]
    arr["end_beat"] = [n.end for n in notes]
    roll = to_roll(arr, steps_per_beat=grid.frames_per_beat(bpm), lo=grid.lo, hi=grid.hi, n_frames=n_frames)
    return roll.astype(np.float32)


def roll_to_notes(roll: np.ndarray, grid: Grid, bpm: float, first_frame: int = 0,
                  velocity: int = DEFAULT_VELOCITY) -> list[Note]:
    """One note per run of 1s in each column of ``roll`` (frames from ``first_frame`` of the grid on)."""
    if roll is None or not len(roll):
        return []
    from engine.music.pianoroll import roll_to_array

    fpb = grid.frames_per_beat(bpm)
    arr = roll_to_array(np.asarray(roll), steps_per_beat=fpb, lo=grid.lo, velocity=velocity)
    off = first_frame / fpb
    return sorted(Note(round(float(s) + off, 9), round(float(e) + off, 9), int(p), int(v))
                  for s, e, p, v in zip(arr["start_beat"], arr["end_beat"], arr["pitch"], arr["velocity"]))


class NoteDocument(QObject):
    """Notes, tempo and time signature of one piece, with one undo stack."""

    #: the notes, tempo or time signature changed
    changed = Signal()
    #: the selected notes changed
    selection_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.notes: list[Note] = []
        self.bpm = 120.0
        self.time_signature: tuple[int, int] = (4, 4)
        self.selection: list[Note] = []
        self.source = ""  # the file it came from or was last saved to
        self.undo_stack = QUndoStack(self)

    # ----- reading -----
    @property
    def beats_per_bar(self) -> float:
        num, den = self.time_signature
        return num * 4.0 / den

    @property
    def end(self) -> float:
        """Beats to the end of the last note."""
        return max((n.end for n in self.notes), default=0.0)

    def seconds(self, beats: float) -> float:
        return beats * 60.0 / self.bpm

    def notes_between(self, t0: float, t1: float) -> list[Note]:
        """The notes that start in [t0, t1)."""
        return [n for n in self.notes if t0 <= n.start < t1]

    # ----- changing (only commands call these) -----
    def _apply(self, remove: Sequence[Note], add: Sequence[Note]) -> None:
        for n in remove:
            self.notes.remove(n)
        self.notes.extend(add)
        self.notes.sort()
        self.changed.emit()

    def _set_state(self, notes: Sequence[Note], bpm: float, time_signature: tuple[int, int]) -> None:
        self.notes = sorted(notes)
        self.bpm = float(bpm)
        self.time_signature = (int(time_signature[0]), int(time_signature[1]))
        self.changed.emit()
        self.select([])

    def select(self, notes: Iterable[Note]) -> None:
        present = set(self.notes)
        sel = sorted({n for n in notes if n in present})
        if sel != self.selection:
            self.selection = sel
            self.selection_changed.emit()

    def push(self, command: QUndoCommand) -> QUndoCommand:
        self.undo_stack.push(command)
        return command

    # ----- conversions -----
    def to_engine_notes(self) -> list[Any]:
        """The notes as :class:`engine.music.Note` (seconds at the document's tempo, beats as they are)."""
        from engine.music.midi_io import Note as MidiNote

        s = 60.0 / self.bpm
        return [MidiNote(n.pitch, n.start * s, n.end * s, int(min(127, max(1, n.velocity))), start_beat=n.start,
                         end_beat=n.end) for n in self.notes]

    def to_score(self) -> Any:
        from engine.music.midi_io import Score, TempoMap

        return Score.from_notes(self.to_engine_notes(), TempoMap.constant(self.bpm),
                                time_signature=self.time_signature)

    def save_midi(self, path: str) -> Any:
        """Write a type-1 MIDI file (tempo, time signature, velocities)."""
        from engine.music.midi_io import write_midi

        out = write_midi(self.to_score(), path)
        self.source = str(out)
        return out

    @staticmethod
    def state_of_score(score: Any) -> tuple[list[Note], float, tuple[int, int]]:
        """The notes (in beats, drums left out), first tempo and first time signature of a MIDI score."""
        p = score.pitched
        notes = [Note(round(float(s), 9), round(float(e), 9), int(k), int(max(1, v)))
                 for s, e, k, v in zip(p["start_beat"], p["end_beat"], p["pitch"], p["velocity"])]
        ts = tuple(score.time_signatures[0][1:]) if score.time_signatures else (4, 4)
        return sorted(notes), float(score.tempo_map.bpm_at(0)), ts

    def load_midi(self, path: str) -> None:
        """Open a MIDI file as one undoable command; a malformed file raises MidiError and changes nothing."""
        from engine.music.midi_io import read_midi

        score = read_midi(path)
        notes, bpm, ts = self.state_of_score(score)
        self.push(SetState(self, notes, bpm, ts, f"open {score.source or path}"))
        self.source = str(path)


# ----- commands -----

class EditNotes(QUndoCommand):
    """Remove some notes and add others; every edit of notes is one of these."""

    def __init__(self, doc: NoteDocument, remove: Iterable[Note], add: Iterable[Note], text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.remove = list(remove)
        self.add = [n for n in add]
        self.selected_before = list(doc.selection)

    def redo(self) -> None:
        self.doc._apply(self.remove, self.add)
        self.doc.select(self.add)

    def undo(self) -> None:
        self.doc._apply(self.add, self.remove)
        self.doc.select(self.remove or self.selected_before)


def clamp_pitch(p: int) -> int:
    return max(0, min(127, int(p)))


class AddNote(EditNotes):
    def __init__(self, doc: NoteDocument, note: Note) -> None:
        super().__init__(doc, [], [note], "draw note")


class RemoveNotes(EditNotes):
    def __init__(self, doc: NoteDocument, notes: Iterable[Note]) -> None:
        notes = list(notes)
        super().__init__(doc, notes, [], f"delete {len(notes)} note{'s' * (len(notes) != 1)}")


class MoveNotes(EditNotes):
    """Move notes by ``beats`` and ``semitones`` (nothing moves before beat 0 or out of 0-127)."""

    def __init__(self, doc: NoteDocument, notes: Iterable[Note], beats: float, semitones: int,
                 text: str = "move notes") -> None:
        notes = list(notes)
        if notes:
            beats = max(beats, -min(n.start for n in notes))
            semitones = max(min(semitones, 127 - max(n.pitch for n in notes)), -min(n.pitch for n in notes))
        super().__init__(doc, notes, [n.moved(beats, semitones) for n in notes], text)


class Transpose(MoveNotes):
    def __init__(self, doc: NoteDocument, notes: Iterable[Note], semitones: int) -> None:
        super().__init__(doc, notes, 0.0, semitones, f"transpose {semitones:+d}")


class ResizeNotes(EditNotes):
    """Move the end of each note by ``beats`` (each keeps at least ``min_length``)."""

    def __init__(self, doc: NoteDocument, notes: Iterable[Note], beats: float, min_length: float = MIN_LENGTH) -> None:
        notes = list(notes)
        super().__init__(doc, notes, [replace(n, end=max(n.start + min_length, n.end + beats)) for n in notes],
                         "resize notes")


class SetVelocity(EditNotes):
    """Give each note its velocity: ``velocities`` one per note, or one for all."""

    def __init__(self, doc: NoteDocument, notes: Iterable[Note], velocities: int | Sequence[int]) -> None:
        notes = list(notes)
        vs = [velocities] * len(notes) if isinstance(velocities, (int, np.integer)) else list(velocities)
        super().__init__(doc, notes, [replace(n, velocity=max(1, min(127, int(v)))) for n, v in zip(notes, vs)],
                         "change velocity")


class Quantise(EditNotes):
    """Snap starts and ends to a grid of ``step`` beats (each note at least one step long)."""

    def __init__(self, doc: NoteDocument, notes: Iterable[Note], step: float) -> None:
        notes = list(notes)
        out = []
        for n in notes:
            s = round(n.start / step) * step
            e = max(s + step, round(n.end / step) * step)
            out.append(replace(n, start=round(s, 9), end=round(e, 9)))
        super().__init__(doc, notes, out, "quantise")


class Paste(EditNotes):
    """Add copies of ``notes`` (times relative to the first of them) starting at beat ``at``."""

    def __init__(self, doc: NoteDocument, notes: Iterable[Note], at: float) -> None:
        notes = list(notes)
        first = min((n.start for n in notes), default=0.0)
        super().__init__(doc, [], [n.moved(at - first) for n in notes], f"paste {len(notes)} notes")


class ReplaceNotes(EditNotes):
    """A model's result: the notes it re-drew go, the notes it made come (one undo step)."""

    def __init__(self, doc: NoteDocument, old: Iterable[Note], new: Iterable[Note], text: str) -> None:
        super().__init__(doc, old, new, text)


class SetState(QUndoCommand):
    """Replace everything: notes, tempo and time signature (New, Open MIDI)."""

    def __init__(self, doc: NoteDocument, notes: Sequence[Note], bpm: float, time_signature: tuple[int, int],
                 text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.old = (list(doc.notes), doc.bpm, doc.time_signature)
        self.new = (list(notes), float(bpm), tuple(time_signature))

    def redo(self) -> None:
        self.doc._set_state(*self.new)

    def undo(self) -> None:
        self.doc._set_state(*self.old)


class SetTiming(QUndoCommand):
    """Change the tempo or the time signature; successive changes of the same control merge into one step."""

    ID = 1

    def __init__(self, doc: NoteDocument, bpm: float | None = None,
                 time_signature: tuple[int, int] | None = None) -> None:
        super().__init__("change tempo" if bpm is not None else "change time signature")
        self.doc = doc
        self.what = "bpm" if bpm is not None else "time signature"
        self.old = (doc.bpm, doc.time_signature)
        self.new = (doc.bpm if bpm is None else float(bpm),
                    doc.time_signature if time_signature is None else tuple(time_signature))

    def id(self) -> int:
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetTiming) or other.what != self.what:
            return False
        self.new = other.new
        return True

    def _set(self, state: tuple[float, tuple[int, int]]) -> None:
        self.doc.bpm, self.doc.time_signature = state[0], (int(state[1][0]), int(state[1][1]))
        self.doc.changed.emit()

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


def snap(t: float, step: float, how: str = "round") -> float:
    """``t`` on a grid of ``step`` beats."""
    f = {"round": round, "floor": math.floor, "ceil": math.ceil}[how]
    return round(f(t / step + (1e-9 if how == "floor" else -1e-9 if how == "ceil" else 0)) * step, 9)
