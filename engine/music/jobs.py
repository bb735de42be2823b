"""Jobs of the piano-roll editor: generate, continue and re-harmonise music with a model of music (rnnrbm,
rnnnade, note_rnn), and the pitch range of a model's notes. Functions ``fn(ctx, ...)`` for
:meth:`engine.Engine.submit`, like :mod:`engine.jobs`.

A roll is a (T, V) array of 0/1 frames whose column k is pitch ``lo + k`` (:func:`pitch_range`: the range of
the data the model was trained on; :func:`engine.music.pianoroll.roll_to_notes` turns a roll into notes).
"""
from __future__ import annotations

import time
from typing import Any, Iterator

import numpy as np
import torch

from engine import events as ev
from engine.data.music import LO
from engine.jobs import Pacer


def pitch_range(ctx: Any, model: str) -> dict[str, int]:
    """The MIDI pitches of a model's notes: ``{"lo", "hi", "n_visible"}`` (column k is pitch lo + k)."""
    entry = ctx.registry[model]
    spec = entry.data.get("spec") or {}
    V = int(entry.config.n_visible)
    lo = int(spec.get("lo", LO))
    hi = lo + V - 1
    return {"lo": lo, "hi": hi, "n_visible": V}


def generate(ctx: Any, model: str, n_frames: int = 64, roll: np.ndarray | None = None,
             mask: np.ndarray | None = None, gibbs_steps: int = 25, temperature: float = 1.0, seed: int = 0,
             every: int = 1, fps: float = 0.0) -> Iterator[ev.Event | ev.Wait | None]:
    """Draw music frame by frame: continue ``roll``, or re-draw the notes of it that ``mask`` frees.

    ``roll`` (T0, V): the piece so far (None: start from nothing). ``mask`` (T0, V) bools, True where a note
    of ``roll`` is kept (default: all kept, so the job continues the piece); the notes where it is False
    are drawn again, given the kept ones of their frame and everything before. Then ``n_frames`` new frames
    follow (0: none, re-harmonise only). Leading frames with every note kept are only read (the prime).
    ``gibbs_steps`` per frame (RNN-RBM; the tutorial's 25), ``temperature`` (below 1: safer, above 1:
    wilder), ``seed``: the same arguments give the same music.

    Yields a Frame (label "roll", ``image`` the roll so far (t + 1, V), ``index`` t, the frame just drawn)
    every ``every`` frames and at the last, at most ``fps`` a second when fps > 0, and Progress; returns
    the whole roll (T0 + n_frames, V) float32.
    """
    entry = ctx.registry[model]
    module = entry.module
    if not hasattr(module, "sample_frame"):
        raise ValueError(f"{model!r} is a {entry.kind} model, not a model of music (rnnrbm, rnnnade, note_rnn)")
    V = int(entry.config.n_visible)
    roll = np.zeros((0, V), np.float32) if roll is None else np.asarray(roll, np.float32)
    if roll.ndim != 2 or roll.shape[1] != V:
        raise ValueError(f"the roll must be (frames, {V}) for {model!r}, not {roll.shape}")
    keep = np.ones(roll.shape, bool) if mask is None else np.asarray(mask, bool)
    if keep.shape != roll.shape:
        raise ValueError(f"mask is {keep.shape} but the roll is {roll.shape}")
    if n_frames < 0 or gibbs_steps < 1 or every < 1:
        raise ValueError("n_frames must be >= 0, gibbs_steps and every >= 1")
    T0 = len(roll)
    free_frames = np.flatnonzero(~keep.all(1))
    start = int(free_frames[0]) if len(free_frames) else T0  # frames before it are the prime
    total = T0 + n_frames
    out = np.zeros((total, V), np.float32)
    out[:T0] = roll
    out[:T0][~keep] = 0
    n_new = total - start
    if n_new == 0:
        return out
    dev = module.b_v.device
    fixed = torch.zeros(n_new, V)
    clamp = torch.zeros(n_new, V, dtype=torch.bool)
    fixed[:T0 - start] = torch.from_numpy(roll[start:])
    clamp[:T0 - start] = torch.from_numpy(keep[start:])
    prime = torch.from_numpy(roll[:start]).to(dev)
    gen = torch.Generator(device=dev).manual_seed(seed)
    t0 = last_progress = time.perf_counter()
    pace = Pacer(fps)
    frames = module.generate(1, n_new, gibbs_steps, prime, gen, fixed=fixed.to(dev), mask=clamp.to(dev),
                             temperature=temperature)
    for f in frames:
        t = start + f.index
        out[t] = f.sample[0].float().cpu().numpy()
        last = f.index == n_new - 1
        if f.index % every == 0 or last:
            yield ev.Frame(job=ctx.job, step=f.step, image=ev.frozen_array(out[:t + 1]), label="roll", index=t)
        now = time.perf_counter()
        if now - last_progress > 0.1 or last:
            last_progress = now
            rate = (f.index + 1) / max(now - t0, 1e-9)
            yield ev.Progress(job=ctx.job, step=f.index + 1, total=n_new, rate=rate, unit="frames",
                              eta_s=(n_new - f.index - 1) / rate)
        yield pace.wait()
    return out
