"""Reading MIDI files: speed and timing accuracy of ``engine.music.midi_io``.

* the time to read every file of a folder (default: shared/data/nottingham_midi, 1034 files), with our
  parser and with ``mido.MidiFile`` (which only parses; it pairs no notes and converts no times);
* timing accuracy on ``--random`` generated files (ticks per beat 7 to 32767, up to 300 tempo changes,
  up to 5 tracks, note-offs as note_off or note_on velocity 0): note starts and ends against exact
  rational arithmetic, and against pretty_midi where it is installed (it is not a dependency).

    python benchmarks/midi_read.py [--folder DIR] [--random 60]
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from _common import machine, result


def random_file(rng: random.Random, path: Path) -> tuple[int, list[tuple[int, int]]]:
    """A random type-1 file without overlapping notes of one pitch (where readers may differ by design)."""
    import mido

    tpb = rng.choice([7, 24, 96, 120, 384, 480, 960, 1000, 32767])
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    conductor, tempos, tick = mido.MidiTrack(), [], 0
    for _ in range(rng.randint(0, 300)):
        d = rng.randint(1, tpb * 2)
        tick += d
        tempo = rng.randint(200_000, 1_500_000)
        conductor.append(mido.MetaMessage("set_tempo", tempo=tempo, time=d))
        tempos.append((tick, tempo))
    mid.tracks.append(conductor)
    for _ in range(rng.randint(1, 5)):
        ch = rng.choice([0, 1, 2, 3, 15])
        events = []
        for pitch in rng.sample(range(30, 100), 10):
            t = 0
            for _ in range(rng.randint(1, 30)):
                t += rng.randint(0, tpb)
                d = rng.randint(1, tpb * 3)
                events += [(t, 1, pitch, rng.randint(1, 127)), (t + d, 0, pitch, 0)]
                t += d
        track, now = mido.MidiTrack(), 0
        for t, on, p, v in sorted(events):
            if on:
                msg = mido.Message("note_on", channel=ch, note=p, velocity=v, time=t - now)
            elif rng.random() < 0.5:
                msg = mido.Message("note_on", channel=ch, note=p, velocity=0, time=t - now)
            else:
                msg = mido.Message("note_off", channel=ch, note=p, time=t - now)
            track.append(msg)
            now = t
        mid.tracks.append(track)
    mid.save(str(path))
    return tpb, tempos


def exact_seconds(tick: int, tempos: list[tuple[int, int]], tpb: int) -> Fraction:
    sec, last, tempo = Fraction(0), 0, 500_000
    for t, us in tempos:
        if t > tick:
            break
        sec += Fraction((t - last) * tempo, 10 ** 6 * tpb)
        last, tempo = t, us
    return sec + Fraction((tick - last) * tempo, 10 ** 6 * tpb)


def main() -> None:
    import mido

    from engine.music import read_midi
    from engine.settings import data_root

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", default=str(data_root() / "nottingham_midi"))
    p.add_argument("--random", type=int, default=60, help="random files for the accuracy check")
    args = p.parse_args()

    files = sorted(Path(args.folder).glob("*.mid"))
    t = time.perf_counter()
    n_notes = sum(len(read_midi(f).table) for f in files)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    for f in files:
        mido.MidiFile(f)
    mido_s = time.perf_counter() - t

    try:
        import pretty_midi
    except ImportError:
        pretty_midi = None
    rng = random.Random(1)
    worst_exact = worst_pm = 0.0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.random):
            path = Path(tmp) / f"{k}.mid"
            tpb, tempos = random_file(rng, path)
            score = read_midi(path)
            mid = mido.MidiFile(path)
            starts = sorted(score.table["start"].tolist())
            want = []
            for track in mid.tracks:
                tick = 0
                for msg in track:
                    tick += msg.time
                    if msg.type == "note_on" and msg.velocity:
                        want.append(float(exact_seconds(tick, tempos, tpb)))
            worst_exact = max(worst_exact, max((abs(a - b) for a, b in zip(starts, sorted(want))), default=0.0))
            checked += len(starts)
            if pretty_midi is not None:
                pm = pretty_midi.PrettyMIDI(str(path))
                ref = sorted((n.pitch, n.start, n.end) for i in pm.instruments for n in i.notes)
                got = sorted((n.pitch, n.start, n.end) for n in score.notes)
                assert len(ref) == len(got), path
                diffs = [max(abs(a[1] - b[1]), abs(a[2] - b[2])) for a, b in zip(ref, got)]
                worst_pm = max(worst_pm, max(diffs, default=0.0))
    result({"files": len(files), "notes": n_notes, "read_s": round(ours_s, 3),
            "mido_parse_only_s": round(mido_s, 3), "random_files": args.random, "random_notes": checked,
            "max_start_error_vs_exact_s": worst_exact,
            "max_error_vs_pretty_midi_s": worst_pm if pretty_midi is not None else None, **machine()})


if __name__ == "__main__":
    main()
