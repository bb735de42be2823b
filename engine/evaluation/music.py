"""Evaluation of the models of polyphonic music as in the published tables (Boulanger-Lewandowski, Bengio &
Vincent, ICML 2012): the negative log-likelihood per time step of a split, ``-(1/F) sum_t log P(v_t | v_<t)``
over all F frames of its pieces (each piece read whole, from ``u_0``), and the expected frame-level accuracy
(Bay, Ehmann & Downie 2009), ``E[TP] / (E[TP] + E[FP] + E[FN])`` summed over all frames, with the
expectations under each frame's predictive distribution given the true past.

The NLL is exact for the RNN-NADE, the note RNN and the recurrent Ladder (:mod:`engine.models.ladder`,
whose "state" of a frame is its predictive logits). The RNN-RBM's needs the partition function of every
frame's RBM: estimated by AIS, all frames at once (:func:`engine.evaluation.ais.ais_frames`), and reported
with an interval of +/- 3 standard errors (the frames' AIS errors are independent, so the error of the mean
is ``sqrt(sum_t se_t^2) / F``); tiny RNN-RBMs (at most 16 hidden units) are summed exactly. AIS's log Z is
a stochastic lower bound, so with too few runs or temperatures the NLL comes out optimistic; reverse AIS
from the test frames themselves (``ais_reverse``) errs the other way, and the two bracket the true figure. The accuracy
needs each note's marginal probability: exact for the note RNN and the ladder, averaged over exact draws of
the lower notes for the RNN-NADE, and over Gibbs chains for the RNN-RBM.
"""
from __future__ import annotations

import math
import time
from typing import Any, Iterator

import numpy as np
import torch

from engine import events as ev
from engine.data import Dataset, load_dataset
from engine.data.sequences import Sequences
from engine.evaluation.ais import ais_frames
from engine.models.ladder import RLadder
from engine.models.recurrent import FrameRNN

#: padded frames per batch of pieces when computing the RNN states
BATCH_FRAMES = 50_000


@torch.no_grad()
def frame_states(model: FrameRNN | RLadder, seqs: Sequences, batch_frames: int = BATCH_FRAMES,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Every frame of ``seqs`` (F, V) and the RNN state it is drawn given (F, R), each piece read whole
    from ``u_0``; pieces are batched by length so little is padded. Frames come in piece order."""
    dev = next(model.parameters()).device
    order = np.argsort(seqs.lengths, kind="stable")
    frames, states, rows = [], [], []
    i = 0
    while i < len(order):
        T = int(seqs.lengths[order[i]])
        j = i + 1
        while j < len(order) and (j - i + 1) * int(seqs.lengths[order[j]]) <= max(batch_frames, T):
            j += 1
        idx = order[i:j]
        v, mask = seqs.padded(idx)
        v, mask = torch.from_numpy(v).to(dev), torch.from_numpy(mask).to(dev)
        vf, u = model.frames(v, mask)
        frames.append(vf)
        states.append(u)
        rows.append(np.concatenate([np.arange(seqs.offsets[k], seqs.offsets[k + 1]) for k in idx]))
        i = j
    where = torch.from_numpy(np.argsort(np.concatenate(rows), kind="stable")).to(dev)
    return torch.cat(frames)[where], torch.cat(states)[where]


def measure(model: FrameRNN | RLadder, seqs: Sequences, generator: torch.Generator | None = None, ais_runs: int = 100,
            ais_betas: int = 1000, ais_base: str = "bias", accuracy_samples: int = 10,
            accuracy_steps: int = 50, chunk: int = 2000, ais_reverse: bool = False, ais_refine: float = 0.0,
            ais_refine_betas: int = 0) -> Iterator[tuple[str, int, int]]:
    """NLL per frame and expected accuracy of ``seqs``; a generator yielding ``(stage, done, total)`` and
    returning a dict (see the module docstring): ``nll``, ``nll_lo``, ``nll_hi``, ``accuracy``, ``method``,
    ``n_frames``, ``n_sequences``; with ``ais_reverse`` the RNN-RBM's reverse AIS figures too, ``nll_reverse``
    and its interval ``nll_reverse_lo``, ``nll_reverse_hi``.

    ``ais_refine``: the fraction of frames whose two AIS estimates disagree most in a pilot run of both
    directions get ``ais_refine_betas`` temperatures (default ``10 * ais_betas``) instead of ``ais_betas``.
    The pilot has ``ais_betas`` temperatures too: a frame's disagreement is itself noisy, and a shorter pilot
    finds the hard frames poorly (3 Nottingham test pieces of an RNN-RBM, bias base: the fifth of the frames
    that a pilot picks held 80% of the disagreement at 3000 temperatures with a 1000-temperature pilot, 38%
    with a 100-temperature one). The pilot's chains are not reused, so which frames get more does not bias
    either estimate. Worth it when ``ais_refine_betas`` is many times ``ais_betas``. Reported:
    ``ais_refined`` frames, ``ais_refine_betas`` and ``ais_refined_gap_share``, the part of the pilot's total
    disagreement that sat in the refined frames (None when the pilot's estimates agree on the whole)."""
    from engine.models.rnnrbm import MAX_EXACT_HIDDEN, RNNRBM

    vf, u = frame_states(model, seqs)
    n = len(vf)
    if not n:
        raise ValueError("no frames to evaluate")
    out: dict[str, Any] = {"n_frames": n, "n_sequences": len(seqs)}
    with torch.no_grad():
        if model.exact_likelihood:
            lp = torch.cat([model.frame_log_prob(vf[i:i + chunk], u[i:i + chunk]) for i in range(0, n, chunk)])
            nll = -lp.double().mean().item()
            out.update(method="exact", nll=nll, nll_lo=nll, nll_hi=nll)
        elif isinstance(model, RNNRBM):
            b, c = model.biases(u)
            neg_f = model.neg_free_energy(vf, b, c).double()
            if model.config.n_hidden <= MAX_EXACT_HIDDEN:
                log_z = torch.cat([model.log_partition_exact(b[i:i + chunk], c[i:i + chunk])
                                   for i in range(0, n, chunk)]).double()
                nll = -(neg_f - log_z).mean().item()
                out.update(method="exact", nll=nll, nll_lo=nll, nll_hi=nll)
            else:
                W = model.W.detach()
                rest, hard = torch.arange(n, device=vf.device), None
                if ais_refine:  # a pilot of both directions picks the frames they disagree on most
                    fwd = yield from _drive(ais_frames(W, b, c, ais_runs, ais_betas, generator, ais_base),
                                            "AIS pilot", n)
                    rev = yield from _drive(ais_frames(W, b, c, ais_runs, ais_betas, generator, ais_base, data=vf),
                                            "reverse AIS pilot", n)
                    gap = rev.log_z - fwd.log_z
                    order = np.argsort(-gap, kind="stable")
                    n_hard = min(n, math.ceil(ais_refine * n))
                    share = float(gap[order[:n_hard]].sum() / gap.sum()) if gap.sum() > 0 else None
                    hard, rest = (torch.from_numpy(o.copy()).to(vf.device) for o in (order[:n_hard], order[n_hard:]))
                    out.update(ais_refined=n_hard, ais_refined_gap_share=share,
                               ais_refine_betas=ais_refine_betas or 10 * ais_betas)
                for reverse in (False, True) if ais_reverse else (False,):
                    stage = "reverse AIS" if reverse else "AIS"
                    log_z, se = np.empty(n), np.empty(n)
                    for rows, n_betas, what in ((rest, ais_betas, stage),
                                                (hard, out.get("ais_refine_betas"), f"{stage}, hardest frames")):
                        if rows is None or not len(rows):
                            continue
                        r = yield from _drive(ais_frames(W, b[rows], c[rows], ais_runs, n_betas, generator, ais_base,
                                                         data=vf[rows] if reverse else None), what, len(rows))
                        log_z[rows.cpu().numpy()], se[rows.cpu().numpy()] = r.log_z, r.log_z_se
                    nll = -(neg_f.cpu().numpy() - log_z).mean()
                    err = 3 * math.sqrt(float((se ** 2).sum())) / n
                    key = "nll_reverse" if reverse else "nll"
                    out.update({key: float(nll), f"{key}_lo": float(nll - err), f"{key}_hi": float(nll + err)})
                out.update(method="ais", ais_runs=ais_runs, ais_betas=ais_betas, ais_base=ais_base)
        else:
            raise ValueError(f"no likelihood for a {type(model).__name__}")
        tp = fp = fn = 0.0
        step = max(1, chunk // max(1, accuracy_samples))
        for i in range(0, n, step):
            p = model.frame_marginals(u[i:i + step], generator, accuracy_samples, accuracy_steps).double()
            v = vf[i:i + step].double()
            tp += (v * p).sum().item()
            fp += ((1 - v) * p).sum().item()
            fn += (v * (1 - p)).sum().item()
            yield "accuracy", min(n, i + step), n
        out["accuracy"] = tp / (tp + fp + fn) if tp + fp + fn > 0 else float("nan")
    return out


def _drive(it: Iterator[int], stage: str, total: int) -> Iterator[tuple[str, int, int]]:
    """Run an :func:`ais_frames` generator, reporting its progress as ``(stage, done, total)``; its result."""
    while True:
        try:
            done = next(it)
        except StopIteration as stop:
            return stop.value
        yield stage, done, total


def evaluate_music(ctx: Any, model: str, data: dict | str | Dataset | None = None, split: str = "test",
                   n_seqs: int = 0, ais_runs: int = 100, ais_betas: int = 1000, ais_base: str = "bias",
                   accuracy_samples: int = 10, accuracy_steps: int = 50, seed: int = 0, ais_reverse: bool = False,
                   ais_refine: float = 0.0, ais_refine_betas: int = 0) -> Iterator[ev.Event | None]:
    """A job: NLL per frame (exact, or AIS with its interval) and expected frame-level accuracy of a split of
    music (default: the data the model was trained on; ``n_seqs``: its first N pieces only, 0: all); the AIS
    options are :func:`measure`'s."""
    entry = ctx.registry[model]
    module = entry.module
    if not isinstance(module, FrameRNN) and not (isinstance(module, RLadder) and module.config.predicts):
        raise ValueError(f"frame-level likelihoods are for the models of music (rnnrbm, rnnnade, note_rnn, a "
                         f"predicting ladder); {model!r} is a {entry.kind}")
    spec = data if data is not None else entry.data.get("spec")
    if spec is None:
        raise ValueError("no data given and the model does not say what it was trained on")
    dataset = spec if isinstance(spec, Dataset) else load_dataset(spec)
    seqs = getattr(dataset, split)
    if not isinstance(seqs, Sequences):
        seqs = Sequences.from_list(list(np.asarray(seqs)), dataset.dim)
    if n_seqs:
        seqs = seqs[:n_seqs]
    if seqs.dim != module.config.n_visible:
        raise ValueError(f"{model!r} has {module.config.n_visible} notes but {dataset.name} frames have {seqs.dim}")
    gen = torch.Generator(device=ctx.device).manual_seed(seed)
    t0 = time.perf_counter()
    it = measure(module, seqs, gen, ais_runs, ais_betas, ais_base, accuracy_samples, accuracy_steps,
                 ais_reverse=ais_reverse, ais_refine=ais_refine, ais_refine_betas=ais_refine_betas)
    while True:
        try:
            stage, done, total = next(it)
        except StopIteration as stop:
            result = stop.value
            break
        rate = done / max(time.perf_counter() - t0, 1e-9)
        yield ev.Progress(job=ctx.job, step=done, total=total, rate=rate, unit="frames", message=stage)
    result.update(split=split, dataset=dataset.name, wall_s=time.perf_counter() - t0)
    entry.history.append({"step": int(entry.trainer.get("step", 0)), "epoch": float(entry.trainer.get("epoch", 0.0)),
                          "split": split, "values": {"nll_per_frame": result["nll"]}})
    ctx.registry.changed(model)
    return result
