"""Evaluation of teacher-forced vs professor-forced generators (Goyal, Lamb et al., NIPS 2016), and the data
of the studio's behaviour view.

* test NLL per frame, teacher-forced: each piece (or video) read whole from ``u_0``, as
  :mod:`engine.evaluation.music` measures it;
* the hidden-state gap, as the paper measures it (Sec. 3): for each free-running hidden state, the distance to
  the nearest teacher-forced hidden state of the same time step (over a set of data sequences), averaged over
  runs and steps. Both start from ``u_0`` and run for the training length T;
  ``gap_data``, the same distance for teacher-forced states of another split's sequences (validation, or
  training when measuring on validation), is its floor: where a generator whose runs were as typical as real
  pieces would land;
* the long-horizon distance: statistics of free runs 4x the training length against the data's — for music,
  notes per frame, pitch classes and note lengths; for video (frames with a 2-D ``shape``), mean brightness and
  the number of blobs (4-connected regions above 0.5) per frame — each a histogram, compared by total variation
  distance (0: the same, 1: disjoint), and ``long_horizon`` their mean.

:func:`evaluate_professor` and :func:`behaviour` are jobs (``fn(ctx, ...)``); :func:`measure` is the same
evaluation without the engine, for benchmarks. They work for any model of :mod:`engine.models.recurrent`.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from engine import events as ev
from engine.data import Dataset
from engine.data.music import LO
from engine.data.sequences import Sequences
from engine.evaluation.music import frame_states
from engine.models.professor import Rollout
from engine.models.recurrent import FrameRNN

NOTES_BINS = 16  # notes per frame 0..15, the last bin "15 or more"
LENGTH_BINS = 16  # note lengths 1..16 frames, the last "16 or more"
BRIGHTNESS_BINS = 25
BRIGHTNESS_MAX = 0.5  # mean brightness above this lands in the last bin
BLOB_BINS = 10


# ----- running the generator -----
@torch.no_grad()
def rollout(model: FrameRNN, n: int, T: int, generator: torch.Generator | None) -> Rollout:
    """``n`` free runs of ``T`` frames from ``u_0``, each sampled frame fed back."""
    if hasattr(model, "free_run"):
        return model.free_run(n, T, generator)
    u = model.u0.expand(n, -1)
    states, probs, samples = [], [], []
    for _ in range(T):
        states.append(u)
        *_, (_, p, s) = model.sample_frame(u, 1, 1.0, generator)
        probs.append(p)
        samples.append(s)
        u = model.advance(s, u)
    return Rollout(torch.stack(states, 1), torch.stack(probs, 1), torch.stack(samples, 1))


@torch.no_grad()
def teacher_states(model: FrameRNN, v: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The state each frame of ``v`` (B, T, V) is drawn given, teacher-forced from ``u_0``: (B, T, R)."""
    return model.states(torch.as_tensor(v).to(model.b_v))


def as_sequences(split: np.ndarray | Sequences, dim: int) -> Sequences:
    return split if isinstance(split, Sequences) else Sequences.from_list(list(np.asarray(split)), dim)


def training_length(dataset: Dataset, seq_chunk: int = 0, split: str = "test") -> int:
    """T: the length the model was trained on (``seq_chunk``, or the data's fixed length), at most the median
    length of the split's pieces so that enough of them give windows of T."""
    seqs = as_sequences(getattr(dataset, split), dataset.dim)
    med = int(np.median(seqs.lengths)) if len(seqs) else 1
    T = int(seq_chunk) if seq_chunk else int(seqs.lengths.max())
    return max(1, min(T, med))


def windows(dataset: Dataset, T: int, n: int, split: str = "test") -> np.ndarray:
    """Up to ``n`` non-overlapping windows (n, T, V) of the split, the first windows of each piece first."""
    seqs = as_sequences(getattr(dataset, split), dataset.dim)
    w = seqs.windows(T)
    if not len(w):
        raise ValueError(f"no {split} piece of {dataset.name} has {T} frames")
    return w[:n]


# ----- the measures -----
@torch.no_grad()
def test_nll(model: FrameRNN, seqs: Sequences) -> float:
    """Teacher-forced NLL per frame (nats), each piece read whole from ``u_0``."""
    vf, u = frame_states(model, seqs)
    lp = torch.cat([model.frame_log_prob(vf[i:i + 4096], u[i:i + 4096]) for i in range(0, len(vf), 4096)])
    return -lp.double().mean().item()


def hidden_state_gap(teacher: torch.Tensor | np.ndarray, free: torch.Tensor | np.ndarray) -> float:
    """Mean over free runs and steps of the distance from each free-running state (M, T, R) to its nearest
    teacher-forced state (N, T, R) of the same step."""
    a, b = torch.as_tensor(free).double(), torch.as_tensor(teacher).double()
    d = torch.cdist(a.transpose(0, 1), b.transpose(0, 1))  # (T, M, N)
    return d.min(-1).values.mean().item()


def data_gap(model: FrameRNN, dataset: Dataset, teacher: torch.Tensor | np.ndarray, n: int, split: str,
             ) -> float | None:
    """The gap left by up to ``n`` real windows of another split (validation; training when ``split`` is the
    validation one) read teacher-forced, against ``teacher`` (N, T, R): the floor a generator whose runs were as
    typical as real pieces would reach. None when that split has no piece of T frames."""
    other = "train" if split == "valid" else "valid"
    if not len(getattr(dataset, other, ())):
        return None
    try:
        w = windows(dataset, teacher.shape[1], n, other)
    except ValueError:
        return None
    return hidden_state_gap(torch.as_tensor(teacher).cpu(), teacher_states(model, w).cpu())


def _hist(x: np.ndarray, bins: int, lo: float = 0.0, hi: float | None = None) -> np.ndarray:
    """Counts of ``x`` in ``bins`` bins over [lo, hi) (integers 0..bins-1 when hi is None), overflow in the last."""
    if hi is None:
        return np.bincount(np.clip(np.asarray(x, np.int64), 0, bins - 1), minlength=bins).astype(np.float64)
    idx = np.clip(((np.asarray(x) - lo) / (hi - lo) * bins).astype(np.int64), 0, bins - 1)
    return np.bincount(idx, minlength=bins).astype(np.float64)


def note_lengths(rolls: list[np.ndarray]) -> np.ndarray:
    """The length of every note (a run of consecutive frames a pitch is on) in the rolls (T, V)."""
    out = []
    for r in rolls:
        on = np.asarray(r) > 0.5
        pad = np.zeros((1, on.shape[1]), bool)
        d = np.diff(np.concatenate([pad, on, pad]).astype(np.int8), axis=0)
        starts, ends = np.nonzero(d.T == 1), np.nonzero(d.T == -1)
        out.append(ends[1] - starts[1])  # both in (pitch, time) order, so they pair up
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def music_statistics(rolls: list[np.ndarray], lo: int = LO) -> dict[str, np.ndarray]:
    """Histograms of notes per frame, pitch classes (column k is pitch lo + k) and note lengths."""
    frames = np.concatenate([np.asarray(r) > 0.5 for r in rolls])
    classes = (lo + np.arange(frames.shape[1])) % 12
    return {"notes_per_frame": _hist(frames.sum(1), NOTES_BINS),
            "pitch_class": np.bincount(classes, weights=frames.sum(0), minlength=12).astype(np.float64),
            "note_length": _hist(note_lengths(rolls) - 1, LENGTH_BINS)}


def count_blobs(frames: torch.Tensor | np.ndarray, chunk: int = 2000) -> np.ndarray:
    """4-connected regions of pixels above 0.5 in each frame (N, H, W), by max-label propagation."""
    frames = np.asarray(frames)
    if len(frames) > chunk:
        return np.concatenate([count_blobs(frames[i:i + chunk], chunk) for i in range(0, len(frames), chunk)])
    on = torch.as_tensor(frames) > 0.5
    N, H, W = on.shape
    idx = torch.arange(1, H * W + 1, dtype=torch.float32).reshape(1, H, W).expand(N, -1, -1)
    lab = torch.where(on, idx, torch.zeros(()))
    while True:
        p = F.pad(lab, (1, 1, 1, 1))
        nb = torch.stack([p[:, 1:-1, 1:-1], p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]])
        new = torch.where(on, nb.max(0).values, torch.zeros(()))
        if torch.equal(new, lab):
            break
        lab = new
    return ((lab == idx) & on).flatten(1).sum(1).numpy()


def video_statistics(videos: np.ndarray, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Histograms of each frame's mean brightness and number of blobs; ``videos`` (N, T, H*W) in [0, 1]."""
    frames = np.asarray(videos, np.float32).reshape(-1, *shape)
    return {"brightness": _hist(frames.mean((1, 2)), BRIGHTNESS_BINS, 0.0, BRIGHTNESS_MAX),
            "blobs": _hist(count_blobs(frames), BLOB_BINS)}


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Half the L1 distance between two histograms, normalised (1 when either is empty)."""
    if p.sum() <= 0 or q.sum() <= 0:
        return 1.0
    return 0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum())


def statistics_distance(samples: dict[str, np.ndarray], data: dict[str, np.ndarray]) -> dict[str, float]:
    """Each statistic's total-variation distance, and ``long_horizon``: their mean."""
    out = {k: total_variation(samples[k], data[k]) for k in data}
    out["long_horizon"] = float(np.mean(list(out.values())))
    return out


def is_video(dataset: Dataset) -> bool:
    return len(dataset.shape) == 2 and min(dataset.shape) > 1 and not isinstance(dataset.train, Sequences)


def long_horizon(model: FrameRNN, dataset: Dataset, T: int, n: int, generator: torch.Generator | None,
                 horizon: int = 4, split: str = "test") -> dict[str, float]:
    """Statistics of ``n`` free runs of ``horizon * T`` frames against those of the split."""
    run = rollout(model, n, horizon * T, generator)
    seqs = as_sequences(getattr(dataset, split), dataset.dim)
    if is_video(dataset):
        shape = tuple(dataset.shape)
        data = video_statistics(seqs.frames[None], shape)
        samp = video_statistics(run.probs.float().cpu().numpy(), shape)  # the means, as the video view shows
    else:
        lo = int(dataset.meta.get("lo", dataset.spec.get("lo", LO)))
        data = music_statistics(seqs.to_list(), lo)
        samp = music_statistics(list(run.samples.float().cpu().numpy()), lo)
    return statistics_distance(samp, data)


def measure(model: FrameRNN, dataset: Dataset, seq_chunk: int = 0, split: str = "test", n_seqs: int = 100,
            horizon: int = 4, seed: int = 0) -> dict[str, Any]:
    """Test NLL, hidden-state gap and long-horizon distance (module docstring) of ``model`` on ``dataset``;
    ``seq_chunk``: the training length (0: the data's own), ``n_seqs``: data windows (at most) and free runs
    used."""
    gen = torch.Generator(device=model.b_v.device).manual_seed(seed)
    seqs = as_sequences(getattr(dataset, split), dataset.dim)
    T = training_length(dataset, seq_chunk, split)
    w = windows(dataset, T, n_seqs, split)
    tf = teacher_states(model, w)
    free = rollout(model, len(w), T, gen).states
    out: dict[str, Any] = {"nll": test_nll(model, seqs), "gap": hidden_state_gap(tf, free), "length": T,
                           "n_windows": len(w), "horizon": horizon * T,
                           "gap_data": data_gap(model, dataset, tf, n_seqs, split)}
    stats = long_horizon(model, dataset, T, n_seqs, gen, horizon, split)  # free runs need no data windows
    out["long_horizon"] = stats.pop("long_horizon")
    out["statistics"] = stats
    return out


def _model_and_data(ctx: Any, model: str, data: dict | str | Dataset | None) -> tuple[FrameRNN, Dataset, int]:
    entry = ctx.registry[model]
    if not isinstance(entry.module, FrameRNN):
        raise ValueError(f"{model!r} is a {entry.kind} model, not a recurrent generator of frames")
    spec = data if data is not None else entry.data.get("spec")
    if spec is None:
        raise ValueError("no data given and the model does not say what it was trained on")
    from engine.data import cached_dataset

    dataset = spec if isinstance(spec, Dataset) else cached_dataset(spec)
    if dataset.dim != entry.config.n_visible:
        raise ValueError(f"{model!r} has {entry.config.n_visible} units but {dataset.name} frames have {dataset.dim}")
    chunk = int(entry.trainer.get("train_config", {}).get("seq_chunk", 0) or 0)
    return entry.module, dataset, chunk


def evaluate_professor(ctx: Any, model: str, data: dict | str | Dataset | None = None, split: str = "test",
                       n_seqs: int = 100, horizon: int = 4, seq_chunk: int | None = None, seed: int = 0,
                       ) -> Iterator[ev.Event | None]:
    """A job: :func:`measure` on a split (default: the data the model was trained on, at its training length)."""
    module, dataset, chunk = _model_and_data(ctx, model, data)
    t0 = time.perf_counter()
    yield ev.Progress(job=ctx.job, step=0, total=1, unit="evaluations", message="professor forcing measures")
    with torch.no_grad():
        out = measure(module, dataset, chunk if seq_chunk is None else seq_chunk, split, n_seqs, horizon, seed)
    out.update(split=split, dataset=dataset.name, wall_s=time.perf_counter() - t0)
    return out


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``x`` (N, R) projected on their two principal axes (numpy SVD): (projection (N, 2), the axes
    (2, R), the fraction of the variance each explains (2,))."""
    x = np.asarray(x, np.float64)
    c = x - x.mean(0)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    axes = np.zeros((2, x.shape[1]))
    axes[:min(2, len(vt))] = vt[:2]
    var = s ** 2
    explained = np.zeros(2)
    explained[:min(2, len(var))] = (var / max(var.sum(), 1e-300))[:2]
    return (c @ axes.T).astype(np.float32), axes.astype(np.float32), explained


def behaviour(ctx: Any, model: str, data: dict | str | Dataset | None = None, n_seqs: int = 4, length: int = 0,
              split: str = "test", seed: int = 0) -> dict[str, Any]:
    """The behaviour view's data: hidden states of ``n_seqs`` data windows read teacher-forced and of
    ``n_seqs`` free runs, both from ``u_0`` for ``length`` steps (0: the training length), and their 2-D PCA
    projection (axes fitted on both together).

    Returns ``{"teacher": (n, T, R), "free": (n, T, R), "projection": {"teacher": (n, T, 2), "free":
    (n, T, 2)}, "explained": (2,), "time": (T,), "gap": float, "gap_data": float | None}``, numpy float32
    arrays (``gap_data``: :func:`data_gap`).
    """
    module, dataset, chunk = _model_and_data(ctx, model, data)
    T = int(length) or training_length(dataset, chunk, split)
    w = windows(dataset, T, n_seqs, split)
    gen = torch.Generator(device=module.b_v.device).manual_seed(seed)
    with torch.no_grad():
        tf = teacher_states(module, w).float().cpu().numpy()
        fr = rollout(module, n_seqs, T, gen).states.float().cpu().numpy()
    R = tf.shape[-1]
    proj, _, explained = pca_2d(np.concatenate([tf.reshape(-1, R), fr.reshape(-1, R)]))
    k = tf.shape[0] * T
    return {"teacher": tf, "free": fr,
            "projection": {"teacher": proj[:k].reshape(-1, T, 2), "free": proj[k:].reshape(-1, T, 2)},
            "explained": explained.astype(np.float32), "time": np.arange(T), "gap": hidden_state_gap(tf, fr),
            "gap_data": data_gap(module, dataset, tf, n_seqs, split)}
