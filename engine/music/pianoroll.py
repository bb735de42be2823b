"""Note lists <-> binary piano rolls, and the two preprocessing steps that help music models most
(Boulanger-Lewandowski et al. 2012; the deeplearning.net RNN-RBM tutorial): transposing every piece to a
common key, and normalising the tempo.

A piano roll is a (T, hi - lo + 1) uint8 array: frame t, column k is 1 when pitch ``lo + k`` sounds. The
default range is 21-108, the 88 keys of a piano, which is also the column layout of the four polyphonic
benchmark sets. Frames follow either a fixed time step ``dt`` in seconds (the tutorial's ``dt``) or a beat
grid of ``steps_per_beat`` frames per quarter note (2: eighth notes, 4: sixteenth notes; see :data:`GRIDS`),
which follows the file's own tempo map and so needs no tempo normalisation.

A note from time ``s`` to ``e`` (in frames) fills frames ``round(s)`` to ``round(e)`` (end excluded), at least
one frame, so a short note is never lost and notes on the grid come back exactly. ``snap="ceil"`` gives the
tutorial's rule instead, frames ``ceil(s)`` to ``ceil(e)`` (a note shorter than a frame may vanish). Pitches
outside the range and drums are left out. A binary roll cannot tell a held note from the same pitch struck
again on the next frame: :func:`roll_to_notes` makes one note of every run of 1s.

Key estimate (:func:`estimate_key`): Krumhansl-Schmuckler. The pitch-class histogram, weighted by duration
(by frames for a roll), is correlated (Pearson) with the Krumhansl-Kessler major and minor key profiles
rotated to each of the 12 tonics; the key with the highest correlation wins. :func:`transpose_to_c` then
moves a major piece to C major and a minor one to A minor (the relative minor: both have no sharps or flats),
by the smaller of the two possible shifts (-6..+5 semitones).

Tempo normalisation (:func:`normalize_tempo`): every note keeps its place in beats and is re-timed at one
constant tempo (120 bpm unless told), so a fixed ``dt`` then means the same note value in every piece.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, TypeVar

import numpy as np

from engine.music.midi_io import (DRUM_CHANNEL, NOTE_DTYPE, Note, Score, TempoMap, array_to_notes,
                                  notes_to_array, sort_notes)

LO, HI = 21, 108  # A0 .. C8: the 88 keys
GRIDS = {"quarter": 1, "eighth": 2, "sixteenth": 4}

#: Krumhansl & Kessler (1982) probe-tone ratings, tonic first
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]

Notes = TypeVar("Notes", list, np.ndarray, Score)


def _table(notes: Any, tempo_map: TempoMap | None = None) -> tuple[np.ndarray, TempoMap | None]:
    """Any note list as a NOTE_DTYPE array (drums left in; beats it lacks from ``tempo_map``, else 120 bpm),
    and the tempo map a Score brings."""
    if isinstance(notes, Score):
        return notes.table, notes.tempo_map
    return notes_to_array(notes, tempo_map), None


def _grid(dt: float | None, steps_per_beat: int | str | None) -> tuple[float | None, float | None]:
    if isinstance(steps_per_beat, str):
        if steps_per_beat not in GRIDS:
            raise ValueError(f"unknown grid {steps_per_beat!r}: use {', '.join(GRIDS)} or a number")
        steps_per_beat = GRIDS[steps_per_beat]
    if (dt is None) == (steps_per_beat is None):
        raise ValueError("give either dt (seconds per frame) or steps_per_beat (frames per quarter note)")
    if dt is not None and not dt > 0:
        raise ValueError(f"dt must be > 0, not {dt}")
    if steps_per_beat is not None and not float(steps_per_beat) > 0:
        raise ValueError(f"steps_per_beat must be > 0, not {steps_per_beat}")
    return dt, (None if steps_per_beat is None else float(steps_per_beat))


def note_frames(notes: Any, *, dt: float | None = None, steps_per_beat: int | str | None = None,
                tempo_map: TempoMap | None = None, snap: str = "round") -> tuple[np.ndarray, np.ndarray]:
    """First and last+1 frame of every note (drums included), as :func:`notes_to_roll` places them."""
    arr, own_map = _table(notes, tempo_map)
    dt, spb = _grid(dt, steps_per_beat)
    if dt is not None:
        s, e = arr["start"] / dt, arr["end"] / dt
    else:
        tm = tempo_map or own_map or TempoMap()
        sb, eb = arr["start_beat"].copy(), arr["end_beat"].copy()
        for col, sec in ((sb, "start"), (eb, "end")):
            missing = np.isnan(col)
            if missing.any():
                col[missing] = tm.beats_at(arr[sec][missing])
        s, e = sb * spb, eb * spb
    if snap == "round":
        # the small offset makes x.5 round up (numpy rounds halves to even) and absorbs float noise
        a = np.floor(s + 0.5 + 1e-9).astype(np.int64)
        b = np.maximum(np.floor(e + 0.5 + 1e-9).astype(np.int64), a + 1)
    elif snap == "ceil":
        a = np.ceil(s - 1e-9).astype(np.int64)
        b = np.ceil(e - 1e-9).astype(np.int64)
    else:
        raise ValueError(f"unknown snap {snap!r}: round or ceil")
    return np.maximum(a, 0), np.maximum(b, 0)


def notes_to_roll(notes: Score | Iterable[Note] | np.ndarray, *, dt: float | None = None,
                  steps_per_beat: int | str | None = None, tempo_map: TempoMap | None = None, lo: int = LO,
                  hi: int = HI, n_frames: int | None = None, snap: str = "round") -> np.ndarray:
    """A (T, hi - lo + 1) uint8 piano roll of the notes (not the drums), on a grid of ``dt`` seconds or of
    ``steps_per_beat`` frames per quarter note (an int, or "quarter", "eighth", "sixteenth"). Beats come
    from the notes' own beats, else from ``tempo_map`` (a Score's own, else 120 bpm). ``n_frames``: pad or
    cut to that length (default: to the end of the last note)."""
    if not 0 <= lo <= hi <= 127:
        raise ValueError(f"bad pitch range {lo}-{hi}: needs 0 <= lo <= hi <= 127")
    arr, _ = _table(notes, tempo_map)
    keep = arr["channel"] != DRUM_CHANNEL
    a, b = note_frames(arr, dt=dt, steps_per_beat=steps_per_beat, snap=snap)
    a, b, pitch = a[keep], b[keep], arr["pitch"][keep].astype(np.int64)
    inside = (pitch >= lo) & (pitch <= hi) & (b > a)
    a, b, col = a[inside], b[inside], pitch[inside] - lo
    T = int(b.max()) if len(b) else 0
    if n_frames is not None:
        T = int(n_frames)
    width = hi - lo + 1
    # +1 at a note's first frame, -1 after its last; a running sum > 0 means some note sounds
    delta = np.zeros((max(T, int(b.max()) if len(b) else 0) + 1, width), np.int32)
    np.add.at(delta, (a, col), 1)
    np.add.at(delta, (b, col), -1)
    return (np.cumsum(delta, axis=0)[:T] > 0).astype(np.uint8)


def roll_to_notes(roll: np.ndarray, *, dt: float | None = None, steps_per_beat: int | str | None = None,
                  tempo_map: TempoMap | None = None, lo: int = LO, velocity: int = 80, channel: int = 0,
                  program: int = 0) -> list[Note]:
    """One note per run of 1s in each column of ``roll`` (T, n_pitches), pitch ``lo + column``, sorted by
    start and pitch; times from the grid (``dt`` or ``steps_per_beat``) and ``tempo_map`` (120 bpm), with
    both seconds and beats filled in."""
    return array_to_notes(roll_to_array(roll, dt=dt, steps_per_beat=steps_per_beat, tempo_map=tempo_map, lo=lo,
                                        velocity=velocity, channel=channel, program=program))


def roll_to_array(roll: np.ndarray, *, dt: float | None = None, steps_per_beat: int | str | None = None,
                  tempo_map: TempoMap | None = None, lo: int = LO, velocity: int = 80, channel: int = 0,
                  program: int = 0) -> np.ndarray:
    """:func:`roll_to_notes` as a :data:`~engine.music.midi_io.NOTE_DTYPE` array."""
    dt, spb = _grid(dt, steps_per_beat)
    r = np.asarray(roll) > 0.5
    if r.ndim != 2:
        raise ValueError(f"a piano roll is (frames, pitches); got shape {r.shape}")
    padded = np.zeros((r.shape[0] + 2, r.shape[1]), np.int8)
    padded[1:-1] = r
    d = np.diff(padded, axis=0)  # +1 where a run starts, -1 just after it ends
    # by pitch, then time: the k-th start and the k-th end belong to the same run
    on_pitch, on_frame = np.nonzero(d.T == 1)
    _, off_frame = np.nonzero(d.T == -1)
    start, end, pitch = on_frame.astype(np.float64), off_frame.astype(np.float64), on_pitch + lo
    tm = tempo_map or TempoMap()
    arr = np.zeros(len(start), NOTE_DTYPE)
    if dt is not None:
        arr["start"], arr["end"] = start * dt, end * dt
        arr["start_beat"], arr["end_beat"] = tm.beats_at(arr["start"]), tm.beats_at(arr["end"])
    else:
        arr["start_beat"], arr["end_beat"] = start / spb, end / spb
        arr["start"], arr["end"] = tm.seconds_at(arr["start_beat"]), tm.seconds_at(arr["end_beat"])
    arr["pitch"], arr["velocity"], arr["channel"], arr["program"] = pitch, velocity, channel, program
    return sort_notes(arr)


# --- key ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """A key: ``tonic`` pitch class (0 = C), ``mode`` "major" or "minor", ``score`` the correlation it won by."""

    tonic: int
    mode: str
    score: float = 0.0

    @property
    def name(self) -> str:
        return f"{PITCH_NAMES[self.tonic]} {self.mode}"

    @property
    def shift_to_c(self) -> int:
        """Semitones (-6..+5) that move this key to C major (major) or A minor (minor)."""
        target = 0 if self.mode == "major" else 9
        return (target - self.tonic + 6) % 12 - 6


def pitch_class_histogram(notes: Score | Iterable[Note] | np.ndarray) -> np.ndarray:
    """Seconds each pitch class sounds, summed over the notes (not drums); (12,)."""
    arr, _ = _table(notes)
    arr = arr[arr["channel"] != DRUM_CHANNEL]
    return np.bincount(arr["pitch"].astype(np.int64) % 12, weights=arr["end"] - arr["start"], minlength=12)


def roll_histogram(roll: np.ndarray, lo: int = LO) -> np.ndarray:
    """Frames each pitch class sounds in a piano roll; (12,)."""
    per_pitch = np.asarray(roll, np.float64).reshape(-1, np.shape(roll)[-1]).sum(0)
    return np.bincount((np.arange(len(per_pitch)) + lo) % 12, weights=per_pitch, minlength=12)


def estimate_key(notes: Score | Iterable[Note] | np.ndarray) -> Key:
    """The most likely key (Krumhansl-Schmuckler, see the module docstring) of a note list, a Score, or a
    pitch-class histogram (a (12,) float array). No notes at all: C major, score 0."""
    if isinstance(notes, np.ndarray) and notes.dtype.names is None:
        if notes.shape != (12,):
            raise ValueError(f"estimate_key takes notes or a (12,) pitch-class histogram, not an array of shape "
                             f"{notes.shape}; for a piano roll use estimate_key(roll_histogram(roll, lo))")
        hist = np.asarray(notes, np.float64)
    else:
        hist = pitch_class_histogram(notes)
    if not hist.any() or np.ptp(hist) == 0:
        return Key(0, "major", 0.0)
    best = Key(0, "major", -2.0)
    h = hist - hist.mean()
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            p = np.roll(profile, tonic)
            p = p - p.mean()
            r = float(h @ p / np.sqrt((h @ h) * (p @ p)))
            if r > best.score + 1e-12:
                best = Key(tonic, mode, r)
    return best


def transpose(notes: Notes, semitones: int) -> Notes:
    """The notes (not drums) moved by ``semitones``; the same kind of note list as given. Pitches pushed
    out of 0-127 are dropped."""
    if isinstance(notes, Score):
        # the key signatures no longer hold
        return replace(notes, table=transpose(notes.table, semitones), key_signatures=[])
    arr = notes_to_array(notes).copy()
    pitched = arr["channel"] != DRUM_CHANNEL
    arr["pitch"][pitched] += int(semitones)
    arr = sort_notes(arr[(arr["pitch"] >= 0) & (arr["pitch"] <= 127)])
    return arr if isinstance(notes, np.ndarray) else array_to_notes(arr)


def transpose_to_c(notes: Notes, key: Key | None = None) -> tuple[Notes, int]:
    """Move a major piece to C major and a minor piece to A minor (key: ``key``, else estimated); returns
    the moved notes and the shift in semitones."""
    shift = (key or estimate_key(notes)).shift_to_c
    return transpose(notes, shift), shift


def transpose_roll(roll: np.ndarray, semitones: int) -> np.ndarray:
    """A piano roll moved up by ``semitones`` columns; what leaves the range is dropped."""
    out = np.zeros_like(roll)
    k = int(semitones)
    if k >= 0:
        out[..., k:] = roll[..., :roll.shape[-1] - k] if k < roll.shape[-1] else 0
    else:
        out[..., :k] = roll[..., -k:]
    return out


def normalize_tempo(notes: Notes, tempo_map: TempoMap | None = None, bpm: float = 120.0) -> Notes:
    """The notes re-timed at a constant ``bpm``: each keeps its beats (its own, else from ``tempo_map``, a
    Score's own map, or 120 bpm) and gets seconds = beats * 60 / bpm. A Score comes back with the constant
    tempo map."""
    if not bpm > 0:
        raise ValueError(f"bpm must be > 0, not {bpm}")
    if isinstance(notes, Score):
        tm = TempoMap.constant(bpm)
        table = normalize_tempo(notes.table, tempo_map or notes.tempo_map, bpm)
        return replace(notes, table=table, tempo_map=tm, tempo_changes=1,
                       length=float(notes.tempo_map.beats_at(notes.length)) * 60.0 / bpm)
    arr = notes_to_array(notes, tempo_map).copy()
    arr["start"], arr["end"] = arr["start_beat"] * 60.0 / bpm, arr["end_beat"] * 60.0 / bpm
    return arr if isinstance(notes, np.ndarray) else array_to_notes(arr)
