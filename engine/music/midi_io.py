"""Standard MIDI files in and out: a file becomes a :class:`Score` (a note list with its tempo map), and a note
list becomes a type-1 file.

Reading. Types 0, 1 and 2, any number of tracks, any ticks per beat (or SMPTE time division), running status
(kept across meta and sysex events, as many writers expect), sysex and every meta event (the ones that matter
are read: tempo, time and key signature, track name; the others are skipped by their length), unknown chunks
skipped, RIFF-wrapped (RMID) files unwrapped. Events after an end-of-track event inside its chunk still count
(mido and players read them); bytes there that are not events (padding) are ignored with a warning. The
bytes are parsed here rather than with ``mido.MidiFile``: mido builds one object per event and only parsing
the 1034 Nottingham files took it 10.2 s where this reader took 2.5 s for everything (2 busy cores), and a
parser of our own can say exactly what is wrong with a broken file. Note times on 60 random files (odd ticks
per beat, up to 300 tempo changes) differ from exact arithmetic and from pretty_midi by < 1e-13 s.
Both figures: ``benchmarks/midi_read.py``.

Timing. Tempo events of every track form one tempo map (type 0 and 1; a type-2 file's tracks are laid one
after the other). Beats are ticks / ticks-per-beat (quarter notes); seconds come from the tempo map piecewise,
from the last tempo change on, so the error does not grow with the number of events (< 1e-9 s). Several tempo
events at the same tick: the last one counts. A tempo of 0 is ignored (with a warning).

Notes. A note_on with velocity > 0 opens a note; a note_off, or a note_on with velocity 0, ends one. Notes
are paired within a track, per channel and pitch, first in first out: a note-off ends the *earliest* open
note of its pitch. So overlapping notes of the same pitch keep their own starts, and the common "new note_on
before the old note's note_off at the same tick" of repeated notes pairs as meant. A note-off with no open
note is ignored; a note still open at the end is ended at the end of the file (last event of any track);
both are counted in :attr:`Score.warnings`. Zero-length notes (on and off at the same tick) are kept.
A note's program is its track's last program change on its channel before the note (the usual case: each
part sets its instrument in its own track); if its track has none, the last program change on that channel
in any track (a conductor track setting every channel's instrument); else 0. Notes on channel 10 (index
:data:`DRUM_CHANNEL`) are drums: :attr:`Score.drums`, kept apart from :attr:`Score.notes`.

Writing (:func:`write_midi`, with mido). A type-1 file: track 0 holds the tempo map, time and key signatures;
then one track per channel, with a program change wherever the program of the next note differs. Seconds are
the truth: a note's ticks are ``round(tempo_map.beats_at(seconds) * ticks_per_beat)``, so a file read and
written again with its own tempo map and ticks per beat gives back the same notes. Within a tick, note-offs
come before program changes and note-ons (repeated notes), and a zero-length note's off after its on. Only
overlaps that the first-in-first-out rule can express survive a round trip (a long note that starts before a
short note of the same pitch and ends after it cannot be written in any MIDI file). A velocity of 0 is
written as 1 (a note_on of velocity 0 would be a note-off). The file is written to a temporary file and
renamed, so a failed write leaves the old file as it was.

Malformed files (empty, not MIDI, bad header, bad chunk lengths, truncated, an event cut short, running
status with no status) raise :class:`MidiError` with one line naming the file and the problem.
"""
from __future__ import annotations

import bisect
import os
import struct
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from engine.data import DataError

DRUM_CHANNEL = 9  # "channel 10" counted from 1
DEFAULT_TEMPO = 500_000  # microseconds per quarter note: 120 bpm
DEFAULT_TICKS_PER_BEAT = 480
MAX_FILE_BYTES = 256 * 2 ** 20

#: one row per note; every reader's and writer's note list in columns
NOTE_DTYPE = np.dtype([("pitch", np.int16), ("start", np.float64), ("end", np.float64),
                       ("start_beat", np.float64), ("end_beat", np.float64), ("velocity", np.int16),
                       ("channel", np.int16), ("program", np.int16), ("track", np.int32)])

_MAJOR_KEYS = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR_KEYS = ["Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"]
# data bytes after the status byte of system messages (not allowed in files, but seen, and skippable)
_SYSTEM_LENGTH = {0xF1: 1, 0xF2: 2, 0xF3: 1}


class MidiError(DataError):
    """A MIDI file that cannot be read or written; the message is one line naming the file and the problem."""


class _Bad(Exception):
    """A problem inside a track; :func:`parse_midi` adds the file and the track."""


@dataclass(frozen=True, slots=True)
class Note:
    """One note. ``start``/``end`` in seconds; ``start_beat``/``end_beat`` in quarter notes from the start
    (None where unknown: :func:`write_midi` and the piano roll take seconds as the truth and fill beats in
    from the tempo map). ``channel`` 0-15 (9 is drums), ``program`` 0-127 (General MIDI, 0 = piano)."""

    pitch: int
    start: float
    end: float
    velocity: int = 80
    channel: int = 0
    program: int = 0
    start_beat: float | None = None
    end_beat: float | None = None
    track: int = 0

    @property
    def duration(self) -> float:
        return self.end - self.start


class TempoMap:
    """A piecewise-constant tempo: ``tempos[i]`` microseconds per quarter note from ``beats[i]`` (which is
    ``seconds[i]``) on; the first change is at beat 0. Converts beats <-> seconds, vectorised."""

    def __init__(self, changes: Iterable[tuple[float, float]] = ((0.0, DEFAULT_TEMPO),)) -> None:
        """``changes``: (beat, microseconds per quarter note) pairs; before the first one the tempo is
        120 bpm. Changes at the same beat: the last counts."""
        pairs: dict[float, float] = {}
        for beat, tempo in changes:
            beat, tempo = float(beat), float(tempo)
            if not (np.isfinite(beat) and beat >= 0 and np.isfinite(tempo) and tempo > 0):
                raise ValueError(f"bad tempo change ({beat}, {tempo}): needs a beat >= 0 and a tempo > 0")
            pairs[beat] = tempo
        if 0.0 not in pairs:
            pairs[0.0] = float(DEFAULT_TEMPO)
        beats = np.array(sorted(pairs))
        tempos = np.array([pairs[b] for b in beats])
        # drop changes that do not change the tempo, so equal maps compare equal
        keep = np.concatenate([[True], tempos[1:] != tempos[:-1]])
        self.beats, self.tempos = beats[keep], tempos[keep]
        self.seconds = np.concatenate([[0.0], np.cumsum(np.diff(self.beats) * self.tempos[:-1] / 1e6)])
        for a in (self.beats, self.tempos, self.seconds):
            a.flags.writeable = False

    @classmethod
    def constant(cls, bpm: float = 120.0) -> TempoMap:
        return cls([(0.0, 60e6 / bpm)])

    @classmethod
    def from_seconds(cls, changes: Iterable[tuple[float, float]]) -> TempoMap:
        """From (second, microseconds per quarter) pairs (for SMPTE-timed files, where ticks are seconds)."""
        pairs = sorted((float(s), float(t)) for s, t in changes)
        out: list[tuple[float, float]] = []
        beat, sec, tempo = 0.0, 0.0, float(DEFAULT_TEMPO)
        for s, t in pairs:
            beat += (s - sec) * 1e6 / tempo
            sec, tempo = s, t
            out.append((beat, t))
        return cls(out)

    def seconds_at(self, beats: Any) -> Any:
        """Seconds at ``beats`` (a number or an array)."""
        b = np.asarray(beats, np.float64)
        i = np.searchsorted(self.beats, b, side="right") - 1
        i = np.clip(i, 0, None)
        out = self.seconds[i] + (b - self.beats[i]) * self.tempos[i] / 1e6
        return float(out) if out.ndim == 0 else out

    def beats_at(self, seconds: Any) -> Any:
        """Beats (quarter notes) at ``seconds`` (a number or an array)."""
        s = np.asarray(seconds, np.float64)
        i = np.searchsorted(self.seconds, s, side="right") - 1
        i = np.clip(i, 0, None)
        out = self.beats[i] + (s - self.seconds[i]) * 1e6 / self.tempos[i]
        return float(out) if out.ndim == 0 else out

    def tempo_at(self, beat: float) -> float:
        """Microseconds per quarter note at ``beat``."""
        return float(self.tempos[max(0, int(np.searchsorted(self.beats, beat, side="right")) - 1)])

    def bpm_at(self, beat: float) -> float:
        return 60e6 / self.tempo_at(beat)

    @property
    def changes(self) -> list[tuple[float, float]]:
        """(beat, microseconds per quarter) pairs, the first at beat 0."""
        return [(float(b), float(t)) for b, t in zip(self.beats, self.tempos)]

    @property
    def is_constant(self) -> bool:
        return len(self.tempos) == 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TempoMap) and self.changes == other.changes

    def __hash__(self) -> int:
        return hash(tuple(self.changes))

    def __repr__(self) -> str:
        head = ", ".join(f"({b:g}, {60e6 / t:.6g} bpm)" for b, t in self.changes[:4])
        return f"TempoMap([{head}{', ...' if len(self.tempos) > 4 else ''}])"


def notes_to_array(notes: Iterable[Note] | np.ndarray, tempo_map: TempoMap | None = None) -> np.ndarray:
    """A note list as a :data:`NOTE_DTYPE` array; missing beats are filled in from ``tempo_map`` (120 bpm)."""
    if isinstance(notes, np.ndarray):
        return notes.astype(NOTE_DTYPE, copy=False)
    notes = list(notes)
    arr = np.zeros(len(notes), NOTE_DTYPE)
    if not notes:
        return arr
    nan = float("nan")
    arr["pitch"] = [n.pitch for n in notes]
    arr["start"] = [n.start for n in notes]
    arr["end"] = [n.end for n in notes]
    arr["velocity"] = [n.velocity for n in notes]
    arr["channel"] = [n.channel for n in notes]
    arr["program"] = [n.program for n in notes]
    arr["track"] = [n.track for n in notes]
    arr["start_beat"] = [nan if n.start_beat is None else n.start_beat for n in notes]
    arr["end_beat"] = [nan if n.end_beat is None else n.end_beat for n in notes]
    tm = tempo_map or TempoMap()
    for col, sec in (("start_beat", "start"), ("end_beat", "end")):
        missing = np.isnan(arr[col])
        if missing.any():
            arr[col][missing] = tm.beats_at(arr[sec][missing])
    return arr


def array_to_notes(arr: np.ndarray) -> list[Note]:
    """:data:`NOTE_DTYPE` rows as :class:`Note` objects."""
    cols = [arr[k].tolist() for k in ("pitch", "start", "end", "velocity", "channel", "program", "start_beat",
                                      "end_beat", "track")]
    return [Note(*row) for row in zip(*cols)]


def sort_notes(arr: np.ndarray) -> np.ndarray:
    """By start, then pitch, end, channel, track."""
    return arr[np.lexsort((arr["track"], arr["channel"], arr["end"], arr["pitch"], arr["start"]))]


@dataclass(eq=False)
class Score:
    """What a MIDI file holds: its notes (in :attr:`table`, one :data:`NOTE_DTYPE` row each, sorted by start
    and pitch; as :class:`Note` lists in :attr:`notes` and :attr:`drums`) and its timing."""

    table: np.ndarray
    tempo_map: TempoMap = field(default_factory=TempoMap)
    ticks_per_beat: int | None = DEFAULT_TICKS_PER_BEAT  # None for SMPTE-timed files
    #: (beat, numerator, denominator)
    time_signatures: list[tuple[float, int, int]] = field(default_factory=list)
    #: (beat, key): key as mido names it: "C", "F#", "Bbm", ...
    key_signatures: list[tuple[float, str]] = field(default_factory=list)
    tempo_changes: int = 0  # set_tempo events in the file
    midi_type: int = 1
    n_tracks: int = 0
    track_names: list[str] = field(default_factory=list)
    #: things that were odd but readable (unmatched note-offs, notes left open, ignored tempo events)
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    #: seconds of the file's last event (at least the end of the last note)
    length: float = 0.0

    @classmethod
    def from_notes(cls, notes: Iterable[Note] | np.ndarray, tempo_map: TempoMap | None = None,
                   ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT,
                   time_signature: tuple[int, int] | None = (4, 4)) -> Score:
        """A score of hand-made notes (drums are the notes on channel 9); beats filled in from the tempo map."""
        tm = tempo_map or TempoMap()
        arr = sort_notes(notes_to_array(notes, tm))
        ts = [(0.0, *time_signature)] if time_signature else []
        return cls(arr, tm, ticks_per_beat, ts, length=float(arr["end"].max()) if len(arr) else 0.0)

    @property
    def pitched(self) -> np.ndarray:
        """The rows of the notes that are not drums."""
        return self.table[self.table["channel"] != DRUM_CHANNEL]

    @property
    def drum_table(self) -> np.ndarray:
        return self.table[self.table["channel"] == DRUM_CHANNEL]

    @cached_property
    def notes(self) -> list[Note]:
        """The notes that are not drums, sorted by start and pitch."""
        return array_to_notes(self.pitched)

    @cached_property
    def drums(self) -> list[Note]:
        """The notes on channel 10 (percussion: the pitch picks the instrument)."""
        return array_to_notes(self.drum_table)

    @property
    def duration(self) -> float:
        """Seconds to the end of the last note."""
        return float(self.table["end"].max()) if len(self.table) else 0.0

    def to_json(self) -> dict[str, Any]:
        """What ``boltzmann midi inspect --json`` prints."""
        def rows(a: np.ndarray) -> list[list]:
            return [list(r) for r in zip(a["pitch"].tolist(), a["start"].tolist(), a["end"].tolist(),
                                         a["velocity"].tolist(), a["channel"].tolist())]
        return {"notes": rows(self.pitched), "drums": rows(self.drum_table), "tempo_changes": self.tempo_changes,
                "ticks_per_beat": self.ticks_per_beat}

    def summary(self) -> str:
        """A few lines for people."""
        p = self.pitched
        lines = [f"{self.source or 'score'}: type {self.midi_type}, {self.n_tracks} track(s), "
                 + (f"{self.ticks_per_beat} ticks per beat" if self.ticks_per_beat else "SMPTE timing")
                 + f", {self.length:.2f} s",
                 f"notes: {len(p)}" + (f" (pitches {p['pitch'].min()}-{p['pitch'].max()}, channels "
                                       f"{sorted(set(p['channel'].tolist()))}, programs "
                                       f"{sorted(set(p['program'].tolist()))})" if len(p) else ""),
                 f"drums: {len(self.table) - len(p)}",
                 f"tempo: {self.tempo_changes} change(s), {self.tempo_map.bpm_at(0):.2f} bpm at the start"]
        if self.time_signatures:
            lines.append("time signature: " + ", ".join(f"{n}/{d} at beat {b:g}" for b, n, d in
                                                        self.time_signatures[:4]))
        if self.key_signatures:
            lines.append("key signature: " + ", ".join(f"{k} at beat {b:g}" for b, k in self.key_signatures[:4]))
        names = [n for n in self.track_names if n]
        if names:
            lines.append("tracks: " + ", ".join(names[:8]) + (" ..." if len(names) > 8 else ""))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# --- reading ---------------------------------------------------------------------------------------------

def read_midi(path: str | os.PathLike) -> Score:
    """Read a standard MIDI file. A missing, unreadable or malformed file raises :class:`MidiError`."""
    path = Path(path)
    name = str(path)
    try:
        if path.is_dir():
            raise MidiError(f"{name} is a folder, not a MIDI file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MidiError(f"{name} is {size / 2 ** 20:.0f} MB, too big for a MIDI file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise MidiError(f"MIDI file not found: {name}") from None
    except OSError as exc:
        raise MidiError(f"cannot read {name}: {exc.strerror or exc}") from None
    return parse_midi(data, name)


def parse_midi(data: bytes, name: str = "<bytes>") -> Score:
    """:func:`read_midi` for the bytes of a file; ``name`` goes into the messages."""
    data = bytes(data)
    n = len(data)
    if n == 0:
        raise MidiError(f"{name} is empty, not a MIDI file")
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        data = _unwrap_riff(data, name)
        n = len(data)
    if data[:4] != b"MThd":
        raise MidiError(f"{name} is not a MIDI file (it begins with {data[:4]!r}, not b'MThd')")

    def bad(reason: str) -> MidiError:
        return MidiError(f"{name} is not a readable MIDI file: {reason}")

    if n < 14:
        raise bad(f"the file ends in its header ({n} bytes)")
    hlen = struct.unpack(">I", data[4:8])[0]
    if hlen < 6:
        raise bad(f"the header chunk says it is {hlen} bytes long; it needs 6")
    if 8 + hlen > n:
        raise bad(f"the header chunk says it is {hlen} bytes long but the file has only {n - 8} after it")
    fmt, n_tracks, division = struct.unpack(">HHH", data[8:14])
    if fmt > 2:
        raise bad(f"unknown format {fmt} in the header (0, 1 or 2)")
    smpte: tuple[float, int] | None = None
    if division & 0x8000:
        fps_code = 256 - (division >> 8)
        tpf = division & 0xFF
        fps = {24: 24.0, 25: 25.0, 29: 30000 / 1001, 30: 30.0}.get(fps_code)
        if fps is None or tpf == 0:
            raise bad(f"bad SMPTE time division (frames per second {fps_code}, ticks per frame {tpf})")
        smpte = (fps, tpf)
    elif division == 0:
        raise bad("the header gives 0 ticks per beat")

    notes: list[tuple] = []  # (start_tick, end_tick, pitch, velocity, channel, program or -1, track)
    tempos: list[tuple[int, int]] = []  # (tick, microseconds per quarter), in track order
    programs: list[tuple[int, int, int]] = []  # (tick, channel, program), every track
    info = _Info()
    pos, track, offset, end_tick = 8 + hlen, 0, 0, 0
    while track < n_tracks:
        if pos + 8 > n:
            if pos == n:
                raise bad(f"the header announces {n_tracks} tracks but the file ends after {track}")
            raise bad(f"the file ends in the header of chunk {track + 1} (truncated)")
        cid = data[pos:pos + 4]
        clen = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        if not all(32 <= c < 127 for c in cid):
            raise bad(f"no chunk starts at byte {pos} (found {cid!r}): a chunk length before it is wrong")
        start = pos + 8
        if start + clen > n:
            what = f"track {track + 1}" if cid == b"MTrk" else f"a {cid.decode('ascii')} chunk"
            raise bad(f"{what} says it is {clen} bytes long but only {n - start} bytes are left "
                      "(truncated, or a wrong chunk length)")
        pos = start + clen
        if cid != b"MTrk":
            continue  # the standard says: skip chunks you do not know
        try:
            last = _read_track(data, start, pos, track, offset, notes, tempos, programs, info)
        except _Bad as exc:
            raise bad(f"track {track + 1}: {exc}") from None
        end_tick = max(end_tick, last)
        if fmt == 2:
            offset = last
        track += 1

    return _build_score(notes, tempos, programs, info, fmt, n_tracks, division, smpte, end_tick, name)


def _unwrap_riff(data: bytes, name: str) -> bytes:
    """The MIDI data of an RMID file (a RIFF file with a 'data' chunk)."""
    pos = 12
    while pos + 8 <= len(data):
        cid, clen = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"data":
            return data[pos + 8:pos + 8 + clen]
        pos += 8 + clen + (clen & 1)
    raise MidiError(f"{name} is a RIFF MIDI file without MIDI data (no 'data' chunk)")


@dataclass
class _Info:
    time_signatures: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, num, den)
    key_signatures: list[tuple[int, str]] = field(default_factory=list)
    track_names: list[str] = field(default_factory=list)
    tempo_events: int = 0
    stray_offs: int = 0
    open_notes: list[tuple] = field(default_factory=list)  # (start_tick, pitch, velocity, channel, prog, track)
    warnings: list[str] = field(default_factory=list)


def _vlq(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if pos >= end:
            raise _Bad("an event runs past the end of the track chunk")
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, pos
    raise _Bad(f"a variable-length number longer than 4 bytes at byte {pos}")


def _read_track(data: bytes, pos: int, end: int, track: int, tick: int, notes: list, tempos: list,
                programs: list, info: _Info) -> int:
    """Parse one MTrk chunk ``data[pos:end]``; returns its last tick. The hot loop of reading: kept flat."""
    status = 0
    open_notes: dict[int, list] = {}
    prog = [-1] * 16  # this track's program per channel (-1: no program change in this track yet)
    append = notes.append
    name_seen = False
    eot = -1  # tick of the end-of-track event; -1: not seen yet
    try:
        while pos < end:
            b = data[pos]
            pos += 1
            if b & 0x80:  # a delta time of more than one byte
                d = b & 0x7F
                for _ in range(3):
                    if pos >= end:
                        raise _Bad("the track ends in the middle of a delta time")
                    b = data[pos]
                    pos += 1
                    d = (d << 7) | (b & 0x7F)
                    if b < 0x80:
                        break
                else:
                    raise _Bad(f"a delta time longer than 4 bytes at byte {pos}")
                tick += d
            else:
                tick += b
            if pos >= end:
                raise _Bad("the track ends after a delta time, without its event")
            b = data[pos]
            if b & 0x80:
                pos += 1
                if b >= 0xF0:
                    if b == 0xFF:
                        if pos >= end:
                            raise _Bad("the track ends in a meta event")
                        mtype = data[pos]
                        length, pos = _vlq(data, pos + 1, end)
                        if pos + length > end:
                            raise _Bad(f"a meta event of {length} bytes runs past the end of the track chunk")
                        body = data[pos:pos + length]
                        pos += length
                        if mtype == 0x2F:
                            eot = tick
                            continue
                        if mtype == 0x51:
                            info.tempo_events += 1
                            if length < 3:
                                info.warnings.append(f"track {track + 1}: a tempo event of {length} bytes ignored")
                            else:
                                tempo = (body[0] << 16) | (body[1] << 8) | body[2]
                                if tempo == 0:
                                    info.warnings.append(f"track {track + 1}: a tempo of 0 ignored")
                                else:
                                    tempos.append((tick, tempo))
                        elif mtype == 0x58 and length >= 2:
                            info.time_signatures.append((tick, body[0], 2 ** min(body[1], 10)))
                        elif mtype == 0x59 and length >= 2:
                            sf = body[0] - 256 if body[0] > 127 else body[0]
                            if -7 <= sf <= 7:
                                info.key_signatures.append((tick, (_MINOR_KEYS if body[1] else _MAJOR_KEYS)[sf + 7]))
                        elif mtype == 0x03 and not name_seen:
                            info.track_names.append(body.decode("latin-1").strip("\x00 "))
                            name_seen = True
                        continue
                    if b == 0xF0 or b == 0xF7:
                        length, pos = _vlq(data, pos, end)
                        if pos + length > end:
                            raise _Bad(f"a sysex event of {length} bytes runs past the end of the track chunk")
                        pos += length
                        continue
                    pos += _SYSTEM_LENGTH.get(b, 0)
                    if pos > end:
                        raise _Bad("the track ends in a system message")
                    continue
                status = b
            elif not status:
                raise _Bad(f"a data byte 0x{b:02x} where an event should start (running status with no status)")
            kind = status & 0xF0
            if kind == 0x90 or kind == 0x80:
                if pos + 2 > end:
                    raise _Bad("the track ends in the middle of a note event")
                p = data[pos]
                v = data[pos + 1]
                pos += 2
                if (p | v) & 0x80:
                    raise _Bad(f"a note event cut short at byte {pos - 2} (a status byte where data should be)")
                ch = status & 0x0F
                key = (ch << 7) | p
                if kind == 0x90 and v:
                    waiting = open_notes.get(key)
                    if waiting is None:
                        open_notes[key] = [(tick, v, prog[ch])]
                    else:
                        waiting.append((tick, v, prog[ch]))
                else:
                    waiting = open_notes.get(key)
                    if waiting:
                        s, vel, pr = waiting.pop(0)
                        append((s, tick, p, vel, ch, pr, track))
                    else:
                        info.stray_offs += 1
            elif kind == 0xC0 or kind == 0xD0:
                if pos >= end:
                    raise _Bad("the track ends in the middle of an event")
                v = data[pos]
                pos += 1
                if v & 0x80:
                    raise _Bad(f"an event cut short at byte {pos - 1} (a status byte where data should be)")
                if kind == 0xC0:
                    prog[status & 0x0F] = v
                    programs.append((tick, status & 0x0F, v))
            else:  # 0xA0 aftertouch, 0xB0 control change, 0xE0 pitch bend: two data bytes, unused here
                if pos + 2 > end:
                    raise _Bad("the track ends in the middle of an event")
                if (data[pos] | data[pos + 1]) & 0x80:
                    raise _Bad(f"an event cut short at byte {pos} (a status byte where data should be)")
                pos += 2
    except _Bad:
        if eot < 0:
            raise
        # mido and the players read on after end-of-track, so events there count; bytes that are not
        # events (padding) are ignored
        info.warnings.append(f"track {track + 1}: bytes after its end-of-track event ignored")
        tick = eot  # not the garbage's delta times
    for key, waiting in open_notes.items():
        for s, vel, pr in waiting:
            info.open_notes.append((s, key & 0x7F, vel, key >> 7, pr, track))
    if not name_seen:
        info.track_names.append("")
    return tick


def _build_score(notes: list, tempos: list, programs: list, info: _Info, fmt: int, n_tracks: int,
                 division: int, smpte: tuple[float, int] | None, end_tick: int, name: str) -> Score:
    warnings = list(info.warnings)
    if info.stray_offs:
        warnings.append(f"{info.stray_offs} note-off(s) without a sounding note ignored")
    if info.open_notes:
        warnings.append(f"{len(info.open_notes)} note(s) never ended: ended at the end of the file")
        notes = notes + [(s, end_tick, p, v, ch, pr, tr) for s, p, v, ch, pr, tr in info.open_notes]
    raw = np.array(notes, np.int64).reshape(-1, 7)
    tempos.sort(key=lambda t: t[0])  # stable: at one tick, the last event of the last track counts
    if smpte is None:
        tpb = division
        tm = TempoMap([(t / tpb, tempo) for t, tempo in tempos])

        def beats_of(ticks: np.ndarray) -> np.ndarray:
            return ticks / tpb

        def seconds_of(ticks: np.ndarray) -> np.ndarray:
            return np.asarray(tm.seconds_at(ticks / tpb), np.float64)
    else:
        fps, tpf = smpte
        tpb = None
        tm = TempoMap.from_seconds([(t / (fps * tpf), tempo) for t, tempo in tempos])

        def seconds_of(ticks: np.ndarray) -> np.ndarray:
            return ticks / (fps * tpf)

        def beats_of(ticks: np.ndarray) -> np.ndarray:
            return np.asarray(tm.beats_at(ticks / (fps * tpf)), np.float64)

    arr = np.zeros(len(raw), NOTE_DTYPE)
    if len(raw):
        s, e = raw[:, 0].astype(np.float64), raw[:, 1].astype(np.float64)
        arr["start"], arr["end"] = seconds_of(s), seconds_of(e)
        arr["start_beat"], arr["end_beat"] = beats_of(s), beats_of(e)
        arr["pitch"], arr["velocity"], arr["channel"], arr["track"] = raw[:, 2], raw[:, 3], raw[:, 4], raw[:, 6]
        prog = raw[:, 5].copy()
        unset = np.nonzero(prog < 0)[0]
        if len(unset):
            prog[unset] = _channel_programs(programs, raw[unset, 0], raw[unset, 4])
        arr["program"] = prog
    arr = sort_notes(arr)
    ticks_to_beats = (lambda t: float(beats_of(np.array([float(t)]))[0]))
    return Score(arr, tm, tpb,
                 # type-1 files often repeat the signatures in every track: each one once
                 [(ticks_to_beats(t), num, den) for t, num, den in sorted(set(info.time_signatures))],
                 [(ticks_to_beats(t), k) for t, k in sorted(set(info.key_signatures))],
                 info.tempo_events, fmt, n_tracks, info.track_names, warnings, name,
                 float(seconds_of(np.array([float(end_tick)]))[0]))


def _channel_programs(programs: list, ticks: np.ndarray, channels: np.ndarray) -> np.ndarray:
    """The program of each channel at each tick, from the program changes of every track (0 before any)."""
    out = np.zeros(len(ticks), np.int64)
    by_channel: dict[int, tuple[list[int], list[int]]] = {}
    for t, ch, p in sorted(programs, key=lambda x: x[0]):
        ts, ps = by_channel.setdefault(ch, ([], []))
        ts.append(t)
        ps.append(p)
    for i, (t, ch) in enumerate(zip(ticks.tolist(), channels.tolist())):
        if ch in by_channel:
            ts, ps = by_channel[ch]
            k = bisect.bisect_right(ts, t) - 1
            if k >= 0:
                out[i] = ps[k]
    return out


# --- writing ---------------------------------------------------------------------------------------------

def write_midi(score: Score | Iterable[Note] | np.ndarray, path: str | os.PathLike, *,
               tempo_map: TempoMap | None = None, ticks_per_beat: int | None = None,
               time_signature: tuple[int, int] | None = None) -> Path:
    """Write a type-1 MIDI file: a :class:`Score` (its tempo map, ticks per beat, signatures), or a note list
    (drums are the notes on channel 9) with ``tempo_map`` (default 120 bpm), ``ticks_per_beat`` (480) and
    ``time_signature`` (4/4). Options given override the score's. Returns the path."""
    import mido

    path = Path(path)
    if not isinstance(score, Score):
        score = Score.from_notes(score, tempo_map, ticks_per_beat or DEFAULT_TICKS_PER_BEAT, time_signature or (4, 4))
    tm = tempo_map or score.tempo_map
    tpb = int(ticks_per_beat or score.ticks_per_beat or DEFAULT_TICKS_PER_BEAT)
    if not 1 <= tpb <= 0x7FFF:
        raise MidiError(f"cannot write {path}: ticks per beat must be 1-32767, not {tpb}")
    sigs = [(0.0, *time_signature)] if time_signature else score.time_signatures
    arr = score.table
    _check_writable(arr, path)

    def ticks(seconds: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(tm.beats_at(seconds), np.float64) * tpb).astype(np.int64)

    conductor: list[tuple[int, int, Any]] = []
    for i, (beat, tempo) in enumerate(tm.changes):
        conductor.append((int(round(beat * tpb)), 1, mido.MetaMessage("set_tempo", tempo=int(round(tempo)))))
    for beat, num, den in sigs:
        conductor.append((int(round(beat * tpb)), 0, mido.MetaMessage("time_signature", numerator=int(num),
                                                                       denominator=int(den))))
    for beat, key in score.key_signatures:
        conductor.append((int(round(beat * tpb)), 2, mido.MetaMessage("key_signature", key=key)))
    tracks = [_to_track(conductor, "conductor")]
    on, off = ticks(arr["start"]), ticks(arr["end"])
    for ch in sorted(set(arr["channel"].tolist())):
        rows = np.nonzero(arr["channel"] == ch)[0]
        rows = rows[np.lexsort((arr["pitch"][rows], on[rows]))]
        events: list[tuple[int, int, Any]] = []
        program = None
        for r in rows.tolist():
            a, b, p = int(on[r]), int(off[r]), int(arr["pitch"][r])
            v = int(min(127, max(1, arr["velocity"][r])))
            if arr["program"][r] != program:
                program = int(arr["program"][r])
                events.append((a, 1, mido.Message("program_change", channel=ch, program=program)))
            events.append((a, 2, mido.Message("note_on", channel=ch, note=p, velocity=v)))
            events.append((b, 3 if b == a else 0, mido.Message("note_off", channel=ch, note=p, velocity=0)))
        tracks.append(_to_track(events, "drums" if ch == DRUM_CHANNEL else f"channel {ch + 1}"))
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.extend(tracks)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            mid.save(file=f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _to_track(events: list[tuple[int, int, Any]], name: str) -> Any:
    import mido

    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _check_writable(arr: np.ndarray, path: Path) -> None:
    def fail(i: int, what: str) -> MidiError:
        return MidiError(f"cannot write {path}: note {i} {what}")

    for col, lo, hi in (("pitch", 0, 127), ("channel", 0, 15), ("program", 0, 127), ("velocity", 0, 127)):
        badrows = np.nonzero((arr[col] < lo) | (arr[col] > hi))[0]
        if len(badrows):
            raise fail(int(badrows[0]), f"has {col} {arr[col][badrows[0]]} (it must be {lo}-{hi})")
    badrows = np.nonzero(~(np.isfinite(arr["start"]) & np.isfinite(arr["end"]) & (arr["start"] >= 0)
                           & (arr["end"] >= arr["start"])))[0]
    if len(badrows):
        r = int(badrows[0])
        raise fail(r, f"has start {arr['start'][r]} and end {arr['end'][r]} (needs 0 <= start <= end)")

