"""Music: standard MIDI files in and out (:mod:`engine.music.midi_io`), and note lists to and from binary piano
rolls with the usual preprocessing (:mod:`engine.music.pianoroll`). Datasets of music (the four polyphonic
benchmarks, folders of MIDI files) are in :mod:`engine.data.music`."""
from __future__ import annotations

from engine.music.midi_io import (DRUM_CHANNEL, NOTE_DTYPE, MidiError, Note, Score, TempoMap, array_to_notes,
                                  notes_to_array, parse_midi, read_midi, write_midi)
from engine.music.pianoroll import (GRIDS, Key, estimate_key, normalize_tempo, notes_to_roll, roll_histogram,
                                    roll_to_array, roll_to_notes, transpose, transpose_roll, transpose_to_c)

__all__ = ["DRUM_CHANNEL", "GRIDS", "Key", "MidiError", "NOTE_DTYPE", "Note", "Score", "TempoMap", "array_to_notes",
           "estimate_key", "normalize_tempo", "notes_to_array", "notes_to_roll", "parse_midi", "read_midi",
           "roll_histogram", "roll_to_array", "roll_to_notes", "transpose", "transpose_roll", "transpose_to_c",
           "write_midi"]
