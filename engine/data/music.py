"""Music datasets: the four polyphonic benchmarks of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012) with
their official train/valid/test splits, and any folder of MIDI files.

Each piece is a binary piano roll (T_i, D): frame t, column k is 1 when pitch ``lo + k`` sounds (``lo``-``hi``
default 21-108, the 88 piano keys, the benchmark files' own columns). Pieces have different lengths, so the
splits are :class:`~engine.data.sequences.Sequences` (one (F, D) float32 array of all frames plus offsets),
not (N, T, D) arrays: whole pieces, nothing padded or cut; see that module for how a trainer batches them
(``seqs[idx].padded()`` gives (B, T_max, D) and a mask). With ``window: T`` in the spec the splits are
instead (M, T, D) arrays of windows cut inside each piece (``stride``: default T, no overlap), for models
that need equal lengths; pieces shorter than T then give none.

Benchmarks (``jsb_chorales``, ``nottingham``, ``piano_midi_de``, ``musedata``): ``{root}/polyphonic/<name>.npz``
(format in shared/data/SOURCES.md, read with ``allow_pickle=False``). Spec keys: ``lo``, ``hi`` (notes outside
are dropped), ``transpose`` (move each piece to C major / A minor by its estimated key, see
:mod:`engine.music.pianoroll`), ``limit`` (first N training pieces), ``window``, ``stride``, ``root``. The
validation split is the official one, so ``valid`` (hold out N training examples, elsewhere) is refused.

A folder of MIDI files (``midi_folder``): ``path`` (a folder, searched recursively for .mid/.midi/.kar, or
one file; relative paths are tried under the data root), a grid: ``steps_per_beat`` (default 2, eighth notes;
or "quarter", "eighth", "sixteenth") on the files' own beats, or ``dt`` seconds per frame (then
``normalize_tempo``: a bpm, or true for 120, re-times each piece at that constant tempo first, as the
RNN-RBM tutorial does), ``transpose``, ``lo``, ``hi``, ``limit``, ``window``, ``stride``. Drums are left out.
Splits: each file goes to test, valid or train by a hash of its path inside the folder (``test_fraction``
and ``valid_fraction``, 0.1 each), so a file keeps its split when files are added. Unreadable files and
files without notes in range are skipped and listed in ``meta["skipped"]``; a folder with no usable file is
an error.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from engine.data import Dataset, DataError, missing_file
from engine.data.sequences import Sequences

#: name -> (file under the data root, title, frames per quarter note where known)
POLYPHONIC: dict[str, tuple[str, str, int | None]] = {
    "jsb_chorales": ("polyphonic/jsb_chorales.npz", "JSB Chorales", 1),
    "nottingham": ("polyphonic/nottingham.npz", "Nottingham", 2),
    "piano_midi_de": ("polyphonic/piano_midi_de.npz", "Piano-midi.de", None),
    "musedata": ("polyphonic/musedata.npz", "MuseData", None),
}
SPLITS = ("train", "valid", "test")
MIDI_SUFFIXES = {".mid", ".midi", ".kar", ".smf"}
LO, HI = 21, 108


def _int(spec: dict, key: str, default: int) -> int:
    try:
        return int(spec.get(key, default) if spec.get(key) is not None else default)
    except (TypeError, ValueError):
        raise DataError(f"{spec.get('name')}: {key} must be a whole number, not {spec.get(key)!r}") from None


def _range(spec: dict) -> tuple[int, int]:
    lo, hi = _int(spec, "lo", LO), _int(spec, "hi", HI)
    if not 0 <= lo <= hi <= 127:
        raise DataError(f"{spec.get('name')}: pitch range lo={lo} hi={hi} must satisfy 0 <= lo <= hi <= 127")
    return lo, hi


def read_polyphonic(path: str | Path, split: str, lo: int = LO, hi: int = HI) -> Sequences:
    """One split of a benchmark npz as piano rolls (float32, columns ``lo``..``hi``; notes outside dropped)."""
    path = Path(path)
    if not path.is_file():
        raise missing_file(path, f"polyphonic music file {path.name}")
    try:
        with np.load(path, allow_pickle=False) as z:
            notes = z[f"{split}_notes"].astype(np.int64)
            fo = z[f"{split}_frame_offsets"].astype(np.int64)
            so = z[f"{split}_seq_offsets"].astype(np.int64)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path} is not a readable polyphonic music npz (expected {split}_notes, "
                        f"{split}_frame_offsets, {split}_seq_offsets): {exc}") from None
    if len(fo) < 1 or fo[-1] != len(notes) or len(so) < 1 or so[-1] != len(fo) - 1:
        raise DataError(f"{path}: the {split} offsets do not match its notes; the file is damaged")
    frame_of_note = np.repeat(np.arange(len(fo) - 1), np.diff(fo))
    inside = (notes >= lo) & (notes <= hi)
    roll = np.zeros((len(fo) - 1, hi - lo + 1), np.float32)
    roll[frame_of_note[inside], notes[inside] - lo] = 1
    return Sequences(roll, so)


def _transpose_all(seqs: Sequences, lo: int) -> tuple[Sequences, list[int]]:
    from engine.music.pianoroll import estimate_key, roll_histogram, transpose_roll

    rolls, shifts = [], []
    for roll in seqs:
        shift = estimate_key(roll_histogram(roll, lo)).shift_to_c
        rolls.append(transpose_roll(roll, shift))
        shifts.append(shift)
    return Sequences.from_list(rolls, seqs.dim), shifts


def _shape(splits: dict[str, Sequences], spec: dict) -> dict[str, Any]:
    """The splits as the spec asks: whole pieces, or windows of ``window`` frames."""
    window = _int(spec, "window", 0)
    if window < 0:
        raise DataError(f"{spec.get('name')}: window must be >= 0 (0: whole pieces)")
    if not window:
        return dict(splits)
    stride = _int(spec, "stride", window)
    if stride < 1:
        raise DataError(f"{spec.get('name')}: stride must be >= 1")
    out = {k: s.windows(window, stride) for k, s in splits.items()}
    if not len(out["train"]):
        raise DataError(f"{spec.get('name')}: no training piece has {window} frames; choose a smaller window")
    return out


def load_polyphonic(spec: dict) -> Dataset:
    from engine.settings import data_root

    name = spec.get("name")
    if name not in POLYPHONIC:
        raise DataError(f"unknown polyphonic set {name!r}; known: {', '.join(POLYPHONIC)}")
    if spec.get("valid"):
        raise DataError(f"{name} comes with its official validation split; 'valid' (holding out training "
                        "pieces) is not used for it")
    rel, title, spb = POLYPHONIC[name]
    path = data_root(spec.get("root")) / rel
    if not path.is_file():
        raise missing_file(path, f"{title} ({rel})")
    lo, hi = _range(spec)
    splits = {k: read_polyphonic(path, k, lo, hi) for k in SPLITS}
    limit = _int(spec, "limit", 0)
    if limit:
        splits["train"] = splits["train"][:limit]
    meta: dict[str, Any] = {"lo": lo, "hi": hi, "title": title, "steps_per_beat": spb, "transposed": False,
                            "source": "Boulanger-Lewandowski, Bengio & Vincent (ICML 2012)",
                            "lengths": {k: s.lengths.tolist() for k, s in splits.items()}}
    if spec.get("transpose"):
        meta["shifts"] = {}
        for k in SPLITS:
            splits[k], meta["shifts"][k] = _transpose_all(splits[k], lo)
        meta["transposed"] = True
    out = _shape(splits, spec)
    return Dataset(name, out["train"], out["test"], out["valid"], (1, hi - lo + 1), spec, meta=meta)


def _split_of(rel: str, test_fraction: float, valid_fraction: float) -> str:
    u = zlib.crc32(rel.encode("utf-8")) / 2 ** 32
    return "test" if u < test_fraction else "valid" if u < test_fraction + valid_fraction else "train"


def midi_files(path: Path) -> list[Path]:
    """The MIDI files in a folder (recursively, sorted), or the file itself."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    return [path]


def load_midi_folder(spec: dict) -> Dataset:
    from engine.music.midi_io import MidiError, read_midi
    from engine.music.pianoroll import GRIDS, normalize_tempo, notes_to_roll, transpose_to_c
    from engine.settings import data_root

    given = spec.get("path")
    if not given:
        raise DataError("midi_folder: give 'path', a folder of MIDI files (or one file)")
    path = Path(str(given)).expanduser()
    if not path.is_absolute() and not path.exists():
        path = data_root(spec.get("root")) / path
    if not path.exists():
        raise missing_file(path, "MIDI folder")
    files = midi_files(path)
    if not files:
        raise DataError(f"no MIDI files (.mid, .midi) in {path}; choose a folder that holds some")
    lo, hi = _range(spec)
    dt = spec.get("dt")
    spb: Any = spec.get("steps_per_beat")
    if dt is not None and spb is not None:
        raise DataError("midi_folder: give either dt (seconds per frame) or steps_per_beat, not both")
    try:
        dt = None if dt is None else float(dt)
        if dt is None:
            spb = GRIDS[spb] if isinstance(spb, str) and spb in GRIDS else float(2 if spb is None else spb)
    except (TypeError, ValueError):
        raise DataError(f"midi_folder: steps_per_beat must be a number or one of {', '.join(GRIDS)}; dt a "
                        "number of seconds") from None
    if (dt is not None and not dt > 0) or (dt is None and not spb > 0):
        raise DataError("midi_folder: the grid step must be > 0")
    bpm = spec.get("normalize_tempo")
    bpm = 120.0 if bpm is True else (float(bpm) if bpm else None)
    try:
        test_fraction = float(spec.get("test_fraction", 0.1))
        valid_fraction = float(spec.get("valid_fraction", 0.1))
    except (TypeError, ValueError):
        raise DataError("midi_folder: test_fraction and valid_fraction must be numbers") from None
    if not (0 <= test_fraction and 0 <= valid_fraction and test_fraction + valid_fraction < 1):
        raise DataError("midi_folder: test_fraction + valid_fraction must be below 1")

    rolls: dict[str, list[np.ndarray]] = {k: [] for k in SPLITS}
    names: dict[str, list[str]] = {k: [] for k in SPLITS}
    shifts: dict[str, list[int]] = {k: [] for k in SPLITS}
    skipped: list[list[str]] = []
    base = path if path.is_dir() else path.parent
    for f in files:
        rel = f.relative_to(base).as_posix()
        try:
            score = read_midi(f)
        except MidiError as exc:
            skipped.append([rel, str(exc)])
            continue
        shift = 0
        if spec.get("transpose"):
            score, shift = transpose_to_c(score)
        if dt is not None and bpm:
            score = normalize_tempo(score, bpm=bpm)
        roll = notes_to_roll(score, dt=dt, steps_per_beat=None if dt is not None else spb, lo=lo, hi=hi)
        if not roll.any():
            skipped.append([rel, "no notes in the pitch range"])
            continue
        split = "train" if len(files) == 1 else _split_of(rel, test_fraction, valid_fraction)
        rolls[split].append(roll)
        names[split].append(rel)
        shifts[split].append(shift)
    if not any(rolls.values()):
        first = f": {skipped[0][1]}" if skipped else ""
        raise DataError(f"no usable MIDI file in {path} ({len(skipped)} skipped{first})")
    if not rolls["train"]:
        raise DataError(f"midi_folder: every file of {path} went to valid or test; lower test_fraction and "
                        "valid_fraction")
    limit = _int(spec, "limit", 0)
    if limit:
        for d in (rolls, names, shifts):
            d["train"] = d["train"][:limit]
    splits = {k: Sequences.from_list(v, hi - lo + 1) for k, v in rolls.items()}
    meta: dict[str, Any] = {"lo": lo, "hi": hi, "dt": dt, "steps_per_beat": None if dt is not None else spb,
                            "normalize_tempo": bpm, "transposed": bool(spec.get("transpose")), "files": names,
                            "shifts": shifts, "skipped": skipped,
                            "lengths": {k: s.lengths.tolist() for k, s in splits.items()}}
    out = _shape(splits, spec)
    return Dataset("midi_folder", out["train"], out["test"], out["valid"], (1, hi - lo + 1), spec, meta=meta)
