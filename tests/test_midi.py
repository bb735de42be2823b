"""Music data: MIDI files in and out (timing against exact fractions, running status, overlaps, drums,
malformed files), the `boltzmann midi inspect` command, piano rolls, key estimate, tempo normalisation,
variable-length sequences, and the polyphonic benchmark sets with their published sizes."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np
import pytest

from engine.cli import main
from engine.data import LOADERS, DataError, load_dataset
from engine.data.music import POLYPHONIC
from engine.data.sequences import Sequences
from engine.music import (MidiError, Note, Score, TempoMap, estimate_key, normalize_tempo, notes_to_roll,
                          read_midi, roll_to_notes, transpose, transpose_to_c, write_midi)
from engine.music.midi_io import parse_midi
from engine.music.pianoroll import Key, roll_histogram, transpose_roll
from engine.settings import data_root

NOTTINGHAM_MIDI = "nottingham_midi"


# --- helpers -----------------------------------------------------------------------------------------------

def exact_seconds(tick: int, tempos: list[tuple[int, int]], tpb: int) -> Fraction:
    """Seconds at ``tick`` under the tempo events (tick, microseconds per quarter), summed exactly."""
    sec, last, tempo = Fraction(0), 0, 500_000
    for t, us in sorted(tempos, key=lambda x: x[0]):
        if t > tick:
            break
        sec += Fraction((t - last) * tempo, 10 ** 6 * tpb)
        last, tempo = t, us
    return sec + Fraction((tick - last) * tempo, 10 ** 6 * tpb)


def mtrack(events: list[tuple[int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """A track from (absolute tick, message) pairs, in the order given within a tick."""
    track, now = mido.MidiTrack(), 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        track.append(msg.copy(time=tick - now))
        now = tick
    return track


def save(mid: mido.MidiFile, path: Path) -> Path:
    mid.save(str(path))
    return path


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack(">I", len(body)) + body


def smf(tracks: list[bytes], fmt: int = 1, tpb: int = 96) -> bytes:
    """A standard MIDI file from raw track bodies."""
    return chunk(b"MThd", struct.pack(">HHH", fmt, len(tracks), tpb)) + b"".join(chunk(b"MTrk", t) for t in tracks)


def rows(score: Score) -> list[tuple]:
    return [(n.pitch, n.start, n.end, n.velocity, n.channel) for n in score.notes]


# --- reading: timing -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("tpb", [96, 480, 1000, 384, 7])
def test_tempo_changes_give_exact_seconds_and_beats(tmp_path, tpb):
    tempos = [(0, 600_000), (tpb * 2, 300_000), (tpb * 2 + tpb // 3, 1_250_000), (tpb * 5 + 1, 450_000),
              (tpb * 9, 500_000)]
    conductor = mtrack([(t, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempos])
    notes = [(60, 0, tpb), (62, tpb, tpb * 3), (64, tpb * 2 + 1, tpb * 6 + 5), (67, tpb * 4, tpb * 12),
             (72, tpb * 10, tpb * 11)]
    ev = []
    for p, a, b in notes:
        ev += [(a, mido.Message("note_on", note=p, velocity=p)), (b, mido.Message("note_off", note=p))]
    f = save(mido.MidiFile(type=1, ticks_per_beat=tpb, tracks=[conductor, mtrack(ev)]), tmp_path / "t.mid")
    score = read_midi(f)
    assert score.ticks_per_beat == tpb and score.tempo_changes == len(tempos) and score.midi_type == 1
    got = {n.pitch: n for n in score.notes}
    for p, a, b in notes:
        n = got[p]
        assert abs(n.start - float(exact_seconds(a, tempos, tpb))) < 1e-9
        assert abs(n.end - float(exact_seconds(b, tempos, tpb))) < 1e-9
        assert n.start_beat == a / tpb and n.end_beat == b / tpb and n.velocity == p
    assert score.tempo_map.seconds_at(notes[3][1] / tpb) == pytest.approx(got[67].start, abs=1e-12)
    assert score.tempo_map.beats_at(got[67].end) == pytest.approx(12.0, abs=1e-9)


def test_a_thousand_tempo_changes_in_several_tracks_keep_within_a_microsecond(tmp_path):
    rng = np.random.default_rng(3)
    tpb = 384
    tempo_ticks = np.sort(rng.choice(200 * tpb, 1000, replace=False))  # two tracks at one tick: ambiguous
    tempos = [(int(t), int(us)) for t, us in zip(tempo_ticks, rng.integers(150_000, 2_000_000, 1000))]
    # tempo events split over two tracks: a tempo map is global, whichever track holds it
    t0 = mtrack([(t, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempos[::2]])
    t1 = mtrack([(t, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempos[1::2]])
    starts = np.sort(rng.integers(0, 190 * tpb, 300))
    ev, want = [], []
    for i, a in enumerate(starts.tolist()):
        b = a + int(rng.integers(1, 4 * tpb))
        p = 30 + i % 60  # overlapping notes of one pitch are tested elsewhere
        ev += [(a, mido.Message("note_on", note=p, velocity=90)), (b, mido.Message("note_off", note=p))]
        want.append((a, b))
    f = save(mido.MidiFile(type=1, ticks_per_beat=tpb, tracks=[t0, t1, mtrack(ev)]), tmp_path / "many.mid")
    score = read_midi(f)
    assert score.tempo_changes == 1000
    starts_s = np.array(sorted(float(exact_seconds(a, tempos, tpb)) for a, _ in want))
    ends_s = np.array(sorted(float(exact_seconds(b, tempos, tpb)) for _, b in want))
    assert np.abs(np.sort(score.table["start"]) - starts_s).max() < 1e-6
    assert np.abs(np.sort(score.table["end"]) - ends_s).max() < 1e-6


def test_running_status_velocity_zero_and_stray_note_offs_from_raw_bytes(tmp_path):
    body = (b"\x00\x90\x3c\x40"      # tick 0: note_on 60 vel 64
            b"\x00\x40\x41"          # running status: note_on 64 vel 65
            b"\x60\x3c\x00"          # tick 96: note_on 60 vel 0 = note-off
            b"\x00\x40\x00"          # note-off 64
            b"\x00\xff\x01\x03abc"   # a text event
            b"\x30\x43\x50"          # tick 144: running status kept across the meta event: note_on 67
            b"\x81\x00\x80\x43\x40"  # tick 272 (two-byte delta): note_off 67
            b"\x00\x45\x40"          # running note_off 69: nothing sounds, ignored
            b"\x00\xff\x2f\x00")
    f = tmp_path / "rs.mid"
    f.write_bytes(smf([body], fmt=0, tpb=96))
    score = read_midi(f)
    assert score.midi_type == 0
    assert rows(score) == [(60, 0.0, 0.5, 64, 0), (64, 0.0, 0.5, 65, 0), (67, 0.75, pytest.approx(272 / 192), 80, 0)]
    assert any("note-off" in w for w in score.warnings)


def test_overlapping_notes_of_one_pitch_pair_first_in_first_out(tmp_path):
    q = 480
    ev = [(0, mido.Message("note_on", note=60, velocity=10)), (q, mido.Message("note_on", note=60, velocity=20)),
          (2 * q, mido.Message("note_off", note=60)), (3 * q, mido.Message("note_off", note=60)),
          # a repeated note: the new note_on comes before the old note's note_off at the same tick
          (4 * q, mido.Message("note_on", note=62, velocity=30)),
          (5 * q, mido.Message("note_on", note=62, velocity=40)),
          (5 * q, mido.Message("note_off", note=62)), (6 * q, mido.Message("note_off", note=62)),
          # a note left sounding: ended at the end of the file
          (6 * q, mido.Message("note_on", note=64, velocity=50)), (8 * q, mido.MetaMessage("text", text="end"))]
    f = save(mido.MidiFile(type=0, ticks_per_beat=q, tracks=[mtrack(ev)]), tmp_path / "ov.mid")
    score = read_midi(f)
    assert rows(score) == [(60, 0.0, 1.0, 10, 0), (60, 0.5, 1.5, 20, 0), (62, 2.0, 2.5, 30, 0),
                           (62, 2.5, 3.0, 40, 0), (64, 3.0, 4.0, 50, 0)]
    assert any("never ended" in w for w in score.warnings)


def test_type_0_and_type_1_read_the_same_with_drums_and_programs_apart(tmp_path):
    q = 96
    parts = {0: (40, [60, 64, 67]), 1: (33, [36, 43]), 9: (0, [36, 38, 42])}  # channel: (program, pitches)
    per_channel = {}
    for ch, (prog, pitches) in parts.items():
        ev = [(0, mido.Message("program_change", channel=ch, program=prog))]
        for i, p in enumerate(pitches):
            ev += [(i * q, mido.Message("note_on", channel=ch, note=p, velocity=100 - i)),
                   (i * q + q // 2, mido.Message("note_off", channel=ch, note=p))]
        per_channel[ch] = ev
    tempo = [(0, mido.MetaMessage("set_tempo", tempo=400_000)), (q, mido.MetaMessage("set_tempo", tempo=800_000))]
    type0 = mido.MidiFile(type=0, ticks_per_beat=q,
                          tracks=[mtrack(tempo + [e for ev in per_channel.values() for e in ev])])
    type1 = mido.MidiFile(type=1, ticks_per_beat=q,
                          tracks=[mtrack(tempo)] + [mtrack(ev) for ev in per_channel.values()])
    a, b = read_midi(save(type0, tmp_path / "t0.mid")), read_midi(save(type1, tmp_path / "t1.mid"))
    assert (a.midi_type, b.midi_type, a.n_tracks, b.n_tracks) == (0, 1, 1, 4)
    assert rows(a) == rows(b) and len(a.notes) == 5
    assert {(n.channel, n.program) for n in b.notes} == {(0, 40), (1, 33)}
    assert [n.pitch for n in b.drums] == [36, 38, 42] and {n.channel for n in b.drums} == {9}
    assert all(n.channel != 9 for n in b.notes)
    assert b.drums[2].start == pytest.approx(0.4 + 0.8)  # a drum hit is timed like any note
    out = b.to_json()
    assert len(out["notes"]) == 5 and len(out["drums"]) == 3 and out["drums"][0][4] == 9


def test_program_changes_in_a_conductor_track_apply_to_other_tracks(tmp_path):
    conductor = mtrack([(0, mido.Message("program_change", channel=2, program=71)),
                        (480, mido.Message("program_change", channel=2, program=72))])
    notes = mtrack([(0, mido.Message("note_on", channel=2, note=70, velocity=80)),
                    (240, mido.Message("note_off", channel=2, note=70)),
                    (480, mido.Message("note_on", channel=2, note=71, velocity=80)),
                    (720, mido.Message("note_off", channel=2, note=71))])
    score = read_midi(save(mido.MidiFile(type=1, tracks=[conductor, notes]), tmp_path / "p.mid"))
    assert [n.program for n in score.notes] == [71, 72]


def test_sysex_unusual_meta_unknown_chunks_and_riff_are_read_through(tmp_path):
    q = 120
    ev = [(0, mido.MetaMessage("copyright", text="(c) nobody")), (0, mido.MetaMessage("smpte_offset")),
          (0, mido.MetaMessage("key_signature", key="Bbm")), (0, mido.MetaMessage("time_signature", numerator=7,
                                                                                     denominator=8)),
          (0, mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01])),
          (0, mido.MetaMessage("sequencer_specific", data=[0, 0, 0x41, 1, 2, 3])),
          (0, mido.UnknownMetaMessage(type_byte=0x60, data=[1, 2, 3, 4, 5])),
          (0, mido.MetaMessage("marker", text="A")), (0, mido.MetaMessage("cue_marker", text="go")),
          (0, mido.Message("control_change", control=64, value=127)), (0, mido.Message("pitchwheel", pitch=-300)),
          (0, mido.Message("aftertouch", value=3)), (0, mido.Message("polytouch", note=60, value=3)),
          (0, mido.Message("note_on", note=60, velocity=99)), (q, mido.Message("sysex", data=[1] * 300)),
          (q, mido.Message("note_off", note=60))]
    mid = mido.MidiFile(type=1, ticks_per_beat=q, tracks=[mtrack([(0, mido.MetaMessage("track_name", name="Piano"))]
                                                                 + ev)])
    path = save(mid, tmp_path / "odd.mid")
    score = read_midi(path)
    assert rows(score) == [(60, 0.0, 0.5, 99, 0)]
    assert score.key_signatures == [(0.0, "Bbm")] and score.time_signatures == [(0.0, 7, 8)]
    assert score.track_names == ["Piano"]
    # an escape (F7) event, a system message and a chunk of an unknown kind before the track
    raw = path.read_bytes()
    body = b"\x00\xf7\x03\x01\x02\x03\x00\xf6\x00\x90\x40\x50\x60\x40\x00\x00\xff\x2f\x00"
    weird = raw[:14] + chunk(b"XFIH", b"\x01\x02\x03") + chunk(b"MTrk", body)
    weird = weird[:10] + struct.pack(">H", 1) + weird[12:]
    (tmp_path / "w.mid").write_bytes(weird)
    assert rows(read_midi(tmp_path / "w.mid")) == [(64, 0.0, 0.4, 80, 0)]  # 96 ticks of 120 a beat
    riff = b"RMID" + b"data" + struct.pack("<I", len(raw)) + raw
    (tmp_path / "r.rmi").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    assert rows(read_midi(tmp_path / "r.rmi")) == rows(score)


def test_events_after_end_of_track_count_and_padding_there_is_ignored():
    eot = b"\x00\xff\x2f\x00"
    late = b"\x00\x90\x3c\x40" + eot + b"\x60\x80\x3c\x00"  # the note-off comes after end-of-track
    assert rows(parse_midi(smf([late]), "late")) == [(60, 0.0, 0.5, 64, 0)]
    padded = b"\x00\x90\x3c\x40\x60\x80\x3c\x00" + eot + b"\x00\x00\x00\xff\xff"
    score = parse_midi(smf([padded]), "padded")
    assert rows(score) == [(60, 0.0, 0.5, 64, 0)] and any("end-of-track" in w for w in score.warnings)


def test_smpte_time_division_counts_ticks_as_seconds(tmp_path):
    # 25 frames per second, 40 ticks per frame: 1000 ticks a second
    body = b"\x00\x90\x3c\x40" + vlq(250) + b"\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    data = chunk(b"MThd", struct.pack(">HHBB", 0, 1, 256 - 25, 40)) + chunk(b"MTrk", body)
    score = parse_midi(data, "smpte")
    assert score.ticks_per_beat is None and rows(score) == [(60, 0.0, 0.25, 64, 0)]
    assert score.notes[0].end_beat == pytest.approx(0.5)  # 120 bpm


def test_type_2_tracks_play_one_after_the_other():
    a = b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"  # one beat
    score = parse_midi(smf([a, a], fmt=2, tpb=96), "t2")
    assert [(n.start, n.end) for n in score.notes] == [(0.0, 0.5), (0.5, 1.0)]


def test_every_nottingham_file_reads_fast_and_matches_mido(tmp_path):
    files = sorted((data_root() / NOTTINGHAM_MIDI).glob("*.mid"))
    assert len(files) == 1034, f"expected the 1034 Nottingham MIDI files in {data_root() / NOTTINGHAM_MIDI}"
    t = time.perf_counter()
    scores = [read_midi(f) for f in files]
    elapsed = time.perf_counter() - t
    assert elapsed < 20, f"reading the 1034 files took {elapsed:.1f} s"
    assert sum(len(s.table) for s in scores) == 356269  # the note-ons SOURCES.md counts
    assert all(s.ticks_per_beat == 1024 and s.n_tracks == 2 and not s.warnings for s in scores)
    for f, s in list(zip(files, scores))[::100]:  # mido's own reading, timed by mido, for a sample
        mid = mido.MidiFile(f)
        want = []
        for tr in mid.tracks:
            tick, sounding = 0, {}
            for m in tr:
                tick += m.time
                if m.type == "note_on" and m.velocity:
                    sounding.setdefault(m.note, []).append(tick)
                elif m.type in ("note_on", "note_off") and sounding.get(m.note):
                    a = sounding[m.note].pop(0)
                    want.append((m.note, mido.tick2second(a, 1024, 500_000), mido.tick2second(tick, 1024, 500_000)))
        got = sorted((p, a, b) for p, a, b, _, _ in rows(s))
        assert len(got) == len(want)
        assert np.abs(np.array(got) - np.array(sorted(want))).max() < 1e-9


# --- malformed files -----------------------------------------------------------------------------------------

@pytest.fixture
def good_bytes(tmp_path) -> bytes:
    ev = []
    for i, p in enumerate([60, 62, 64, 65]):
        ev += [(i * 96, mido.Message("note_on", note=p, velocity=80)), (i * 96 + 90, mido.Message("note_off", note=p))]
    mid = mido.MidiFile(type=1, ticks_per_beat=96, tracks=[mtrack([(0, mido.MetaMessage("set_tempo", tempo=450_000))]),
                                                           mtrack(ev)])
    return save(mid, tmp_path / "good.mid").read_bytes()


def _cases(good: bytes) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    track2 = good.index(b"MTrk", 20)
    length2 = struct.unpack(">I", good[track2 + 4:track2 + 8])[0]

    def with_length(n: int) -> bytes:
        return good[:track2 + 4] + struct.pack(">I", n) + good[track2 + 8:]

    return {
        "empty": b"",
        "random bytes": rng.integers(0, 256, 2000, dtype=np.uint8).tobytes(),
        "text": b"This is not a MIDI file at all.\n" * 10,
        "header too short": b"MThd\x00\x00\x00\x02\x00\x01",
        "header length too small": b"MThd\x00\x00\x00\x02\x00\x01\x00\x01\x00\x60" + good[14:],
        "truncated": good[: len(good) - 7],
        "truncated in the header": good[:11],
        "chunk length too long": with_length(length2 + 50),
        "chunk length too short": with_length(length2 - 3),
        "missing track": good[:10] + struct.pack(">H", 3) + good[12:],
        "zero ticks per beat": good[:12] + b"\x00\x00" + good[14:],
        "unknown format": good[:8] + b"\x00\x07" + good[10:],
        "running status without status": smf([b"\x00\x3c\x40\x00\xff\x2f\x00"]),
        "five-byte delta": smf([b"\x81\x81\x81\x81\x01\x90\x3c\x40\x00\xff\x2f\x00"]),
        "note cut short": smf([b"\x00\x90\x3c"]),
        "meta runs past the chunk": smf([b"\x00\xff\x01\x20abc"]),
    }


def test_malformed_files_raise_one_clear_line(tmp_path, good_bytes):
    for what, data in _cases(good_bytes).items():
        f = tmp_path / f"{what.replace(' ', '_')}.mid"
        f.write_bytes(data)
        with pytest.raises(MidiError) as err:
            read_midi(f)
        msg = str(err.value)
        assert "\n" not in msg and str(f) in msg and len(msg) < 300, (what, msg)
        assert isinstance(err.value, ValueError) and isinstance(err.value, DataError)
        assert f.read_bytes() == data  # reading changes nothing
    with pytest.raises(MidiError, match="not found"):
        read_midi(tmp_path / "nothing.mid")
    with pytest.raises(MidiError, match="folder"):
        read_midi(tmp_path)


def test_every_cut_and_random_damage_gives_midierror_or_a_score(good_bytes):
    for n in range(len(good_bytes)):  # every truncation is caught, none crashes
        with pytest.raises(MidiError):
            parse_midi(good_bytes[:n], "cut")
    rng = np.random.default_rng(1)
    for _ in range(300):
        b = bytearray(good_bytes)
        for i in rng.integers(0, len(b), 3):
            b[i] = int(rng.integers(0, 256))
        try:
            parse_midi(bytes(b), "damaged")
        except MidiError as exc:
            assert "\n" not in str(exc)


# --- writing -------------------------------------------------------------------------------------------------

def test_write_then_read_gives_the_same_notes_tempo_and_signatures(tmp_path):
    tm = TempoMap([(0, 500_000), (4, 400_000), (10.5, 750_000), (20, 312_500)])
    notes = [Note(60, 0.0, 0.5, 100, 0, 0), Note(64, 0.25, 1.0, 1, 0, 0),
             Note(60, 0.5, 0.75, 127, 0, 0),  # repeated right after the first 60
             Note(48, float(tm.seconds_at(3.5)), float(tm.seconds_at(11.0)), 64, 1, 33),
             Note(50, float(tm.seconds_at(12.0)), float(tm.seconds_at(12.0)), 64, 1, 33),  # zero length
             Note(67, float(tm.seconds_at(9.0)), float(tm.seconds_at(21.25)), 80, 0, 41),  # program change mid-track
             Note(67, float(tm.seconds_at(10.0)), float(tm.seconds_at(22.0)), 81, 0, 41),  # FIFO overlap
             Note(36, 0.0, 0.125, 120, 9, 0), Note(42, 0.5, 0.625, 90, 9, 0)]  # times on ticks: round trips exactly
    score = Score.from_notes(notes, tm, ticks_per_beat=384, time_signature=(6, 8))
    path = write_midi(score, tmp_path / "out.mid")
    back = read_midi(path)
    assert back.midi_type == 1 and back.ticks_per_beat == 384 and back.tempo_map == tm
    assert back.time_signatures == [(0.0, 6, 8)]
    key = ("pitch", "velocity", "channel", "program")
    for a, b in ((score.pitched, back.pitched), (score.drum_table, back.drum_table)):
        assert len(a) == len(b)
        for k in key:
            assert np.array_equal(a[k], b[k]), k
        for k in ("start", "end", "start_beat", "end_beat"):
            assert np.abs(a[k] - b[k]).max() < 1e-9, k
    # a real file, written again with its own timing, reads back the same
    f = data_root() / NOTTINGHAM_MIDI / "jigs1.mid"
    orig = read_midi(f)
    again = read_midi(write_midi(orig, tmp_path / "jigs1.mid"))
    assert rows(again) == rows(orig) and again.key_signatures == orig.key_signatures


def test_write_a_plain_note_list_and_fail_without_touching_the_old_file(tmp_path):
    path = write_midi([Note(60, 0.0, 1.0, 0), Note(72, 1.0, 1.5, 90, program=19)], tmp_path / "n.mid")
    back = read_midi(path)
    assert back.ticks_per_beat == 480 and back.tempo_map == TempoMap.constant(120)
    assert rows(back) == [(60, 0.0, 1.0, 1, 0), (72, 1.0, 1.5, 90, 0)]  # velocity 0 is written as 1
    assert [n.program for n in back.notes] == [0, 19] and [n.end_beat for n in back.notes] == [2.0, 3.0]
    before = path.read_bytes()
    for bad in ([Note(128, 0, 1)], [Note(60, 1.0, 0.5)], [Note(60, 0, 1, channel=16)], [Note(60, -1, 1)]):
        with pytest.raises(MidiError, match="cannot write"):
            write_midi(bad, path)
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.mid"]  # no temporary file left


# --- the command line ----------------------------------------------------------------------------------------

def test_cli_midi_inspect_json_and_exit_2_on_a_malformed_file(tmp_path, capsys, good_bytes):
    f = tmp_path / "g.mid"
    f.write_bytes(good_bytes)
    assert main(["midi", "inspect", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"notes", "drums", "tempo_changes", "ticks_per_beat"}
    assert out["ticks_per_beat"] == 96 and out["tempo_changes"] == 1 and out["drums"] == []
    assert out["notes"][0] == [60, 0.0, pytest.approx(90 / 96 * 0.45), 80, 0] and len(out["notes"]) == 4
    assert main(["midi", "inspect", str(f)]) == 0
    assert "notes: 4" in capsys.readouterr().out
    bad = tmp_path / "bad.mid"
    bad.write_bytes(good_bytes[:40])
    assert main(["midi", "inspect", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "truncated" in lines[0]


# --- piano rolls -----------------------------------------------------------------------------------------------

def _grid_notes(rng: np.random.Generator, n: int, spb: int) -> list[Note]:
    """Random notes on a grid of 1/spb beats, never two of one pitch touching (a binary roll would merge them)."""
    out, free = [], {}
    for _ in range(n):
        p = int(rng.integers(21, 109))
        a = max(int(rng.integers(0, 64)), free.get(p, 0))
        b = a + int(rng.integers(1, 8))
        free[p] = b + 1
        out.append(Note(p, a / spb * 0.5, b / spb * 0.5, 80, start_beat=a / spb, end_beat=b / spb))
    return out


def test_beat_grid_round_trip_and_tempo_map(tmp_path):
    rng = np.random.default_rng(5)
    for spb, grid in ((2, "eighth"), (4, "sixteenth")):
        notes = _grid_notes(rng, 60, spb)
        roll = notes_to_roll(notes, steps_per_beat=grid)
        assert roll.dtype == np.uint8 and roll.shape == (max(round(n.end_beat * spb) for n in notes), 88)
        back = roll_to_notes(roll, steps_per_beat=spb)
        key = sorted((n.pitch, n.start_beat, n.end_beat) for n in notes)
        assert sorted((n.pitch, n.start_beat, n.end_beat) for n in back) == key
    # beats, not seconds, decide the frames: a tempo change does not move notes on the beat grid
    tm = TempoMap([(0, 500_000), (2, 1_000_000)])
    score = Score.from_notes([Note(60, tm.seconds_at(1.0), tm.seconds_at(3.0)), Note(62, tm.seconds_at(3.0),
                                                                                      tm.seconds_at(3.5))], tm)
    roll = notes_to_roll(score, steps_per_beat=2)
    assert roll[:, 60 - 21].tolist() == [0, 0, 1, 1, 1, 1, 0] and roll[:, 62 - 21].tolist() == [0] * 6 + [1]
    plain = [Note(n.pitch, n.start, n.end) for n in score.notes]  # seconds only: beats from the tempo map
    assert np.array_equal(notes_to_roll(plain, steps_per_beat=2, tempo_map=tm), roll)
    back = roll_to_notes(roll, steps_per_beat=2, tempo_map=tm)
    assert [(n.pitch, n.start, n.end) for n in back] == [(60, 0.5, 2.0), (62, 2.0, 2.5)]


def test_fixed_dt_rolls_range_drums_and_the_tutorial_rule():
    notes = [Note(60, 0.0, 0.3), Note(60, 0.2, 0.9), Note(20, 0.0, 1.0), Note(109, 0.0, 1.0),
             Note(38, 0.0, 2.0, channel=9), Note(72, 0.61, 0.65)]
    roll = notes_to_roll(notes, dt=0.3)
    assert roll.shape == (3, 88)  # the drum (to 2.0 s) and the out-of-range notes leave no trace
    assert roll[:, 60 - 21].tolist() == [1, 1, 1]  # overlapping notes of one pitch: their union
    assert roll[:, 72 - 21].tolist() == [0, 0, 1]  # shorter than a frame: kept, one frame
    tutorial = notes_to_roll(notes, dt=0.3, snap="ceil")  # frames ceil(start/dt) .. ceil(end/dt)
    assert tutorial[:, 72 - 21].sum() == 0 and tutorial[:, 60 - 21].tolist() == [1, 1, 1]  # the short note is lost
    assert notes_to_roll(notes, dt=0.3, n_frames=5).shape == (5, 88)
    assert notes_to_roll(notes, dt=0.3, lo=60, hi=72).shape == (3, 13)
    back = roll_to_notes(roll, dt=0.3)
    assert [(n.pitch, n.start, n.end, n.start_beat) for n in back] == [
        (60, 0.0, pytest.approx(0.9), 0.0), (72, pytest.approx(0.6), pytest.approx(0.9), pytest.approx(1.2))]
    assert notes_to_roll([], dt=0.1).shape == (0, 88)
    with pytest.raises(ValueError, match="either dt"):
        notes_to_roll(notes)


C_MAJOR_TUNE = [60, 64, 67, 72, 67, 65, 64, 62, 60, 59, 62, 67, 65, 64, 62, 60]
A_MINOR_TUNE = [57, 60, 64, 69, 68, 64, 71, 69, 60, 62, 64, 65, 64, 62, 59, 57, 56, 57]


def _tune(pitches: list[int], shift: int = 0) -> list[Note]:
    return [Note(p + shift, i * 0.5, i * 0.5 + (1.0 if i in (0, len(pitches) - 1) else 0.5))
            for i, p in enumerate(pitches)]


def test_key_estimate_and_transposition_to_c_major_or_a_minor():
    c, a = estimate_key(_tune(C_MAJOR_TUNE)), estimate_key(_tune(A_MINOR_TUNE))
    assert (c.name, a.name) == ("C major", "A minor") and c.score > 0.6 and a.score > 0.6
    for shift in range(-6, 6):
        for tune, mode in ((C_MAJOR_TUNE, "major"), (A_MINOR_TUNE, "minor")):
            notes = _tune(tune, shift)
            key = estimate_key(notes)
            assert key.mode == mode and key.tonic == ((0 if mode == "major" else 9) + shift) % 12
            moved, by = transpose_to_c(notes)
            # the smaller move: -6..+5 semitones (a tune in F# goes down 6, to the C below)
            assert -6 <= by <= 5 and (by + shift) % 12 == 0
            assert [n.pitch for n in moved] == [p + shift + by for p in tune]
    assert Key(2, "major").shift_to_c == -2 and Key(4, "minor").shift_to_c == 5 and Key(6, "major").shift_to_c == -6
    # drums do not move, pitches pushed out of 0-127 are dropped, the kind of note list is kept
    mixed = [Note(126, 0, 1), Note(36, 0, 1, channel=9), Note(60, 1, 2)]
    up = transpose(mixed, 3)
    assert isinstance(up, list) and [(n.pitch, n.channel) for n in up] == [(36, 9), (63, 0)]
    score = Score.from_notes(_tune(C_MAJOR_TUNE, 2))
    moved, by = transpose_to_c(score)
    assert isinstance(moved, Score) and by == -2 and sorted(n.pitch for n in moved.notes) == sorted(C_MAJOR_TUNE)
    # on piano rolls: frames per pitch class
    roll = notes_to_roll(_tune(C_MAJOR_TUNE, 5), dt=0.5)
    assert estimate_key(roll_histogram(roll)).shift_to_c == -5
    assert np.array_equal(transpose_roll(roll, -5), notes_to_roll(_tune(C_MAJOR_TUNE), dt=0.5, n_frames=len(roll)))


def test_tempo_normalisation_makes_a_fixed_dt_a_fixed_note_value():
    tm = TempoMap([(0, 400_000), (3, 900_000), (5, 600_000)])
    beats = [(0, 1), (1, 3.5), (3, 4), (4.5, 7), (6, 8)]
    notes = [Note(60 + i, tm.seconds_at(a), tm.seconds_at(b), start_beat=a, end_beat=b)
             for i, (a, b) in enumerate(beats)]
    score = Score.from_notes(notes, tm)
    flat = normalize_tempo(score, bpm=120)
    assert flat.tempo_map.is_constant and flat.tempo_map.bpm_at(0) == 120
    assert [(n.start, n.end) for n in flat.notes] == [(a * 0.5, b * 0.5) for a, b in beats]
    # a 0.25 s step at 120 bpm is an eighth note: the same roll as the beat grid of the original
    assert np.array_equal(notes_to_roll(flat, dt=0.25), notes_to_roll(score, steps_per_beat=2))
    assert not np.array_equal(notes_to_roll(score, dt=0.25), notes_to_roll(score, steps_per_beat=2))
    as_list = normalize_tempo([Note(60, tm.seconds_at(3), tm.seconds_at(5))], tm, bpm=60)
    assert (as_list[0].start, as_list[0].end) == (pytest.approx(3.0), pytest.approx(5.0))


# --- variable-length sequences -------------------------------------------------------------------------------

def test_sequences_index_pad_and_window():
    rng = np.random.default_rng(0)
    parts = [rng.random((n, 3)).astype(np.float32) for n in (5, 2, 7, 1)]
    s = Sequences.from_list(parts)
    assert len(s) == 4 and s.ndim == 3 and s.shape == (4, 7, 3) and s.n_frames == 15
    assert np.array_equal(s[2], parts[2]) and np.array_equal(s[-1], parts[3])
    sub = s[np.array([2, 0])]
    assert isinstance(sub, Sequences) and np.array_equal(sub[0], parts[2]) and np.array_equal(sub[1], parts[0])
    assert s[1:3].lengths.tolist() == [2, 7] and s[[True, False, False, True]].lengths.tolist() == [5, 1]
    x, mask = s.padded()
    assert x.shape == (4, 7, 3) and mask.sum() == 15 and (x[~mask] == 0).all()
    for i, p in enumerate(parts):
        assert np.array_equal(x[i, :len(p)], p)
    x, mask = s.padded([2, 3], length=4)
    assert x.shape == (2, 4, 3) and mask.sum(1).tolist() == [4, 1] and np.array_equal(x[0], parts[2][:4])
    w = s.windows(2)
    assert w.shape == (2 + 1 + 3, 2, 3) and np.array_equal(w[0], parts[0][:2]) and np.array_equal(w[3], parts[2][:2])
    assert s.windows(5, 1).shape == (1 + 3, 5, 3)
    with pytest.raises(TypeError, match="padded"):
        np.asarray(s)


# --- datasets ---------------------------------------------------------------------------------------------------

# SOURCES.md: sequences, frames and note events of train / valid / test
PUBLISHED = {
    "jsb_chorales": ((229, 76, 77), (13807, 4602, 4725), (53824, 17811, 18367)),
    "nottingham": ((694, 173, 170), (176561, 45513, 44463), (699403, 180192, 177421)),
    "piano_midi_de": ((87, 12, 25), (75911, 8540, 19036), (231089, 27623, 56067)),
    "musedata": ((524, 135, 124), (245202, 82755, 64339), (856543, 287893, 211857)),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_polyphonic_sets_load_with_the_published_sizes(name):
    d = load_dataset(name)
    seqs, frames, events = PUBLISHED[name]
    splits = (d.train, d.valid, d.test)
    assert tuple(len(s) for s in splits) == seqs
    assert tuple(s.n_frames for s in splits) == frames
    assert tuple(int(s.frames.sum()) for s in splits) == events
    assert d.is_sequence and d.dim == 88 and d.shape == (1, 88) and d.train.dtype == np.float32
    assert set(np.unique(d.train.frames).tolist()) <= {0.0, 1.0}
    assert d.describe()["n_train"] == seqs[0]


def test_polyphonic_options_and_a_missing_file(tmp_path):
    d = load_dataset({"name": "jsb_chorales", "window": 16, "stride": 8, "limit": 10})
    assert isinstance(d.train, np.ndarray) and d.train.shape[1:] == (16, 88) and d.is_sequence
    jsb = load_dataset({"name": "jsb_chorales", "lo": 43, "hi": 96, "transpose": True})
    assert jsb.dim == 54 and len(jsb.meta["shifts"]["train"]) == 229
    assert jsb.train.n_frames == 13807  # transposing moves notes, never frames
    with pytest.raises(DataError) as err:
        load_dataset({"name": "nottingham", "root": str(tmp_path)})
    msg = str(err.value)
    assert "nottingham.npz" in msg and str(tmp_path) in msg and "BOLTZMANN_DATA" in msg and "\n" not in msg
    with pytest.raises(DataError, match="official validation"):
        load_dataset({"name": "musedata", "valid": 10})
    assert {"jsb_chorales", "nottingham", "piano_midi_de", "musedata", "midi_folder"} <= set(LOADERS)
    assert set(POLYPHONIC) == set(PUBLISHED)


def test_a_folder_of_midi_files_becomes_a_dataset(tmp_path):
    d = load_dataset({"name": "midi_folder", "path": NOTTINGHAM_MIDI, "limit": 0})
    assert len(d.train) + len(d.valid) + len(d.test) == 1034 and d.meta["skipped"] == []
    assert 0.05 < len(d.test) / 1034 < 0.15 and 0.05 < len(d.valid) / 1034 < 0.15
    assert d.dim == 88 and d.meta["steps_per_beat"] == 2
    # a small folder with a broken file, a file without notes and a sub-folder
    (tmp_path / "sub").mkdir()
    write_midi(_tune(C_MAJOR_TUNE, 2), tmp_path / "a.mid")
    write_midi(_tune(A_MINOR_TUNE), tmp_path / "sub" / "b.midi")
    write_midi([Note(36, 0, 1, channel=9)], tmp_path / "drums.mid")
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00")
    (tmp_path / "notes.txt").write_text("not music")
    d = load_dataset({"name": "midi_folder", "path": str(tmp_path), "transpose": True, "dt": 0.25,
                      "normalize_tempo": 120, "test_fraction": 0, "valid_fraction": 0})
    assert len(d.train) == 2 and sorted(d.meta["files"]["train"]) == ["a.mid", "sub/b.midi"]
    assert sorted(s[0] for s in d.meta["skipped"]) == ["broken.mid", "drums.mid"]
    a = d.train[d.meta["files"]["train"].index("a.mid")]
    assert np.array_equal(a, notes_to_roll(_tune(C_MAJOR_TUNE), dt=0.25).astype(np.float32))
    with pytest.raises(DataError, match="MIDI folder not found"):
        load_dataset({"name": "midi_folder", "path": str(tmp_path / "nowhere")})


def test_the_music_modules_do_not_load_qt():
    code = ("import sys, engine.music, engine.data.music, engine.music.pianoroll\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)
