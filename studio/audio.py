"""Sound for the piano roll: a small additive synthesizer (numpy), WAV export (stdlib ``wave``) and playback.

:func:`render` turns notes (beats) at a tempo into mono float PCM: each note is a few sine partials with a
short attack, a piano-like decay to a sustain level while held and a short release after its end, loud by its
velocity.
:class:`Player` moves a playhead on a timer (from the wall clock, so it keeps time whatever the repaint rate)
and, where an audio output device exists, plays the rendered PCM through QtMultimedia's ``QAudioSink``.
QtMultimedia is imported only when playback starts, and any failure there (no libpulse0, no device) means
silent playback with a message, never an error. A MIDI output port is not offered.
"""
from __future__ import annotations

import wave
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal

SAMPLE_RATE = 44_100
ATTACK_S, RELEASE_S = 0.005, 0.12
#: silence after the last note's release, so a file does not end abruptly
TAIL_S = RELEASE_S
#: (harmonic, amplitude) of the partials
PARTIALS = ((1, 1.0), (2, 0.45), (3, 0.22), (4, 0.1))
GAIN = 0.18
#: the level a held note decays to (a struck string fades further; an editor wants to hear held notes)
SUSTAIN = 0.35
SILENT_MESSAGE = "No audio output device: playing silently"


def length_frames(end_s: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Samples of a rendering whose last note ends at ``end_s`` seconds."""
    return int(np.ceil((max(end_s, 0.0) + TAIL_S) * sample_rate))


def render(notes: Iterable[Any], bpm: float, start_beat: float = 0.0, end_beat: float | None = None,
           sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 PCM in [-1, 1] of the notes (``start``/``end`` in beats, ``pitch``, ``velocity``) from
    ``start_beat`` to ``end_beat`` (default: the end of the last note, plus the release)."""
    notes = [n for n in notes if n.end > start_beat and (end_beat is None or n.start < end_beat)]
    spb = 60.0 / bpm
    if end_beat is None:
        end_s = max((n.end for n in notes), default=start_beat) * spb - start_beat * spb
        total = length_frames(end_s, sample_rate)
    else:
        total = int(np.ceil((end_beat - start_beat) * spb * sample_rate))
    out = np.zeros(max(total, 0), np.float64)
    for n in notes:
        t0 = (n.start - start_beat) * spb
        dur = max(n.end - n.start, 0.0) * spb
        a = int(round(t0 * sample_rate))
        skip = max(0, -a)  # a note that began before start_beat sounds from its middle
        n_samples = int(round((dur + RELEASE_S) * sample_rate))
        if n_samples <= skip or a + skip >= len(out):
            continue
        t = np.arange(skip, min(n_samples, len(out) - a)) / sample_rate
        f = 440.0 * 2 ** ((n.pitch - 69) / 12)
        wave_ = sum(amp * np.sin(2 * np.pi * f * k * t) for k, amp in PARTIALS if f * k < sample_rate / 2)
        env = np.minimum(1.0, t / ATTACK_S) * (SUSTAIN + (1 - SUSTAIN) * np.exp(-t * (2.0 + f / 500.0)))
        env *= np.clip(1.0 - (t - dur) / RELEASE_S, 0.0, 1.0)  # release after the note's end
        out[a + skip:a + skip + len(t)] += GAIN * (n.velocity / 127.0) * env * wave_
    return np.tanh(out).astype(np.float32)  # soft limit: chords never clip harshly


def write_wav(path: str | Path, pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """16-bit mono WAV of float PCM in [-1, 1]."""
    path = Path(path)
    data = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(data)
    return path


def _audio_output() -> tuple[Any, Any] | None:
    """QtMultimedia and the default output device, or None where there is none (or QtMultimedia cannot load)."""
    try:
        from PySide6 import QtMultimedia
    except Exception:  # ImportError, or a missing system library (libpulse0)
        return None
    device = QtMultimedia.QMediaDevices.defaultAudioOutput()
    if device.isNull() or not QtMultimedia.QMediaDevices.audioOutputs():
        return None
    return QtMultimedia, device


class Player(QObject):
    """Plays notes from a beat on, optionally looping a region; the playhead moves on a timer."""

    #: the playhead moved (beats)
    position_changed = Signal(float)
    #: playback started (True) or stopped (False)
    playing_changed = Signal(bool)
    #: something the user should know, e.g. that there is no sound device
    message = Signal(str)

    def __init__(self, parent: QObject | None = None, tick_ms: int = 30) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.notes: list[Any] = []
        self.bpm = 120.0
        self.start_beat = 0.0
        self.end_beat = 0.0
        self.loop: tuple[float, float] | None = None
        self.position = 0.0
        self.silent = False
        self._sink: Any = None
        self._buffer: Any = None
        self._qtm: Any = None

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def play(self, notes: Iterable[Any], bpm: float, start_beat: float, end_beat: float,
             loop: tuple[float, float] | None = None) -> None:
        """Play from ``start_beat``; stop at ``end_beat``, or go round ``loop`` (start, end) forever."""
        self.stop()
        self.notes, self.bpm = list(notes), float(bpm)
        self.loop = loop if loop and loop[1] > loop[0] else None
        if self.loop and not self.loop[0] <= start_beat < self.loop[1]:
            start_beat = self.loop[0]
        self.start_beat, self.end_beat = float(start_beat), float(end_beat)
        self.position = self.start_beat
        out = _audio_output()
        self.silent = out is None
        if out is None:
            self.message.emit(SILENT_MESSAGE)
        else:
            self._qtm, device = out
            self._start_audio(device)
        self.clock.start()
        self.timer.start()
        self.playing_changed.emit(True)
        self.position_changed.emit(self.position)

    def stop(self) -> None:
        if self._sink is not None:
            self._sink.stop()
            self._sink = None
            self._buffer = None
        if self.timer.isActive():
            self.timer.stop()
            self.playing_changed.emit(False)

    def _start_audio(self, device: Any = None) -> None:
        """Render from the playhead to the end (or the loop's end) and hand it to a QAudioSink."""
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        qtm = self._qtm
        if device is None:
            device = qtm.QMediaDevices.defaultAudioOutput()
        end = self.loop[1] if self.loop else self.end_beat
        pcm = render(self.notes, self.bpm, self.position, max(end, self.position))
        fmt = qtm.QAudioFormat()
        fmt.setSampleRate(SAMPLE_RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(qtm.QAudioFormat.SampleFormat.Int16)
        if self._sink is not None:
            self._sink.stop()
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._sink = qtm.QAudioSink(device, fmt, self)
        self._sink.start(self._buffer)

    def _tick(self) -> None:
        beat = self.start_beat + self.clock.elapsed() / 1000.0 * self.bpm / 60.0
        if self.loop and beat >= self.loop[1]:
            # round the loop: restart the clock (and the sound) at its start
            self.start_beat = self.position = self.loop[0]
            self.clock.restart()
            if self._sink is not None:
                self._start_audio()
            self.position_changed.emit(self.position)
            return
        self.position = beat
        self.position_changed.emit(beat)
        if not self.loop and beat >= self.end_beat:
            self.stop()
