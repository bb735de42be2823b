"""The training loop, written once for every model family.

A model family provides ``param_groups(weight_decay)``, ``begin_training(data, gen)``,
``training_step(batch, gen)`` (which fills ``.grad``), ``after_update()``, ``monitors(batch, gen)`` and
``train_state()/load_train_state()``, and optionally ``set_progress(epoch, progress)`` (called before each
update, for models whose recipe changes over the run: static pre-training, a CD-k schedule).
:func:`train` is a job: a generator the engine steps one mini-batch at a time. Examples are indexed on
the first axis, so sequence data (N, T, D) trains like images, a batch of whole sequences per update;
endless data (``Dataset.regenerate``) is drawn afresh at each epoch from that epoch alone. Its whole
state (step, epoch, data order, optimiser buffers, random generator) lives in the registry entry, so a
stopped run resumes bit-exactly where it stopped, with the same curve.

Sequences of different lengths (music, :class:`~engine.data.sequences.Sequences`) are cut into chunks of
at most ``seq_chunk`` frames (0: whole pieces). A model that says ``takes_masks`` gets each batch of chunks
zero-padded to (B, T, D) with a (B, T) bool mask of the real frames, as ``training_step(v, gen, mask=mask)``
and ``monitors(v, gen, mask=mask)``, and ``begin_training`` gets every training frame (F, D); another
sequence model (the RTRBM) gets the (M, seq_chunk, D) windows inside the pieces, and a model of single
frames (an RBM) every frame of every piece.

A model that says ``takes_labels`` gets the class labels of its examples as ``labels=`` (a LongTensor (B,)) in
``training_step`` and ``monitors``, when the dataset has one label per example of the split
(``meta["labels"][split]``, e.g. the digit of each occluded Moving MNIST video); they are taken with the same
permutation as the examples, so resuming stays exact. Regenerated data and chunks of pieces have none.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from engine import events as ev
from engine.config import config_from_dict, config_to_dict, param
from engine.data import Dataset, load_dataset
from engine.data.sequences import Sequences
from engine.registry import ModelEntry
from engine.training import checkpoint

SCHEDULES = ("constant", "linear", "exponential", "cosine")
OPTIMIZERS = ("sgd", "nesterov", "adam")


@dataclass
class TrainConfig:
    epochs: int = param(20, "Train until the model has seen the training set this many times.", min=1,
                        max=100_000)
    batch_size: int = param(100, "Examples per update.", min=1, max=100_000)
    lr: float = param(0.01, "Learning rate.", min=0.0, max=100.0, label="Learning rate")
    lr_schedule: str = param("constant", "How the learning rate changes over the run.", choices=SCHEDULES,
                             label="LR schedule")
    lr_final: float = param(0.01, "Final learning rate as a fraction of lr (decaying schedules).", min=0.0,
                            max=1.0, label="Final LR")
    optimizer: str = param("sgd", "Optimiser: SGD with momentum, SGD with Nesterov momentum, or Adam.",
                           choices=OPTIMIZERS)
    momentum: float = param(0.9, "Momentum (Adam: its beta1; the warm-up is for SGD only).", min=0.0, max=0.999)
    momentum_warmup: int = param(0, "Epochs at momentum 0.5 before the full momentum (Hinton's guide: 5).",
                                 min=0, max=10_000, label="Momentum warm-up")
    weight_decay: float = param(0.0, "L2 penalty on the weights (not the biases).", min=0.0, max=1.0)
    grad_clip: float = param(0.0, "Rescale the gradient whenever its norm exceeds this (0: never): the guard "
                             "of recurrent models against exploding gradients.", min=0.0, max=1e6,
                             label="Gradient clip")
    seq_chunk: int = param(100, "Sequences of different lengths (music): cut each into chunks of at most this "
                           "many frames, each an example that starts from the initial state, as the RNN-RBM "
                           "tutorial trains (0: whole pieces, padded to the longest of a batch).", min=0,
                           max=1_000_000, label="Sequence chunk")
    seed: int = param(0, "Seed of the initial weights, data order and sampling.", min=0, max=2**31 - 1)
    monitor_every: int = param(200, "Updates between monitor points (curves and divergence checks).",
                               min=1, max=1_000_000, label="Monitor every")
    monitor_size: int = param(1000, "Examples used for each monitor.", min=1, max=100_000)
    frame_every: int = param(0, "Updates between snapshots of the model's samples (0: none).", min=0,
                             max=1_000_000, label="Samples every")
    time_budget_s: float = param(0.0, "Stop after this many seconds of training (0: no limit); decaying "
                                 "schedules then follow the clock.", min=0.0, max=1e7,
                                 label="Time budget (s)")

    def validate(self) -> None:
        if self.optimizer == "nesterov" and self.momentum <= 0:
            raise ValueError("Nesterov momentum needs a momentum above 0")


class Diverged(RuntimeError):
    pass


def schedule_factor(kind: str, progress: float, final: float) -> float:
    """The learning-rate multiplier at ``progress`` in [0, 1]."""
    t = min(max(progress, 0.0), 1.0)
    if kind == "constant":
        return 1.0
    if kind == "linear":
        return 1.0 + (final - 1.0) * t
    if kind == "exponential":
        return final ** t if final > 0 else 1.0 - t
    if kind == "cosine":
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t))
    raise ValueError(f"unknown schedule {kind!r}")


def _optimizer_state(opt: torch.optim.Optimizer) -> dict:
    sd = opt.state_dict()
    return {"state": {str(k): v for k, v in sd["state"].items()}, "param_groups": sd["param_groups"]}


def _load_optimizer_state(opt: torch.optim.Optimizer, saved: dict, device: str) -> None:
    state = {int(k): {n: (t.to(device) if isinstance(t, torch.Tensor) else t) for n, t in v.items()}
             for k, v in saved.get("state", {}).items()}
    opt.load_state_dict({"state": state, "param_groups": saved["param_groups"]})


def _restore_rng(gen: torch.Generator, st: dict, seed: int) -> None:
    """The training generator where the checkpoint left it. An exported checkpoint has no generator state, and
    one trained on another kind of device has a state that means nothing here (a CUDA generator's is not a
    CPU one's): both carry on from a seed of their own."""
    state = st.get("rng")
    if state is not None and st.get("rng_device", "cpu") == gen.device.type:
        try:
            gen.set_state(state.cpu())
            return
        except RuntimeError:  # a state of another size: another torch build or kind of generator
            pass
    gen.manual_seed(seed + int(st["step"]))


def _finite(values: dict[str, float]) -> bool:
    return all(math.isfinite(v) for v in values.values())


def _params_finite(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


#: how often (seconds) a training job tells the registry that its model changed
CHANGED_EVERY_S = 2.0


#: a batch: examples, the (B, T) mask of the real frames of padded sequences, the examples' labels (B,)
Batch = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]


class _Tensor:
    """Examples in one tensor, indexed on the first axis, with their labels if given; batches come without a
    mask."""

    def __init__(self, t: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        self.t, self.labels = t, labels

    def __len__(self) -> int:
        return len(self.t)

    def take(self, idx: torch.Tensor) -> Batch:
        return self.t[idx], None, None if self.labels is None else self.labels[idx]

    def head(self, n: int) -> Batch:
        return self.t[:n], None, None if self.labels is None else self.labels[:n]

    def all(self) -> torch.Tensor:
        return self.t


class _Padded:
    """Sequences of different lengths, batched as zero-padded (B, T, D) tensors with a (B, T) mask."""

    def __init__(self, seqs: Sequences, device: str) -> None:
        self.seqs, self.device = seqs, device

    def __len__(self) -> int:
        return len(self.seqs)

    def take(self, idx: torch.Tensor | np.ndarray) -> Batch:
        v, mask = self.seqs.padded(np.asarray(idx.cpu() if isinstance(idx, torch.Tensor) else idx))
        return torch.from_numpy(v).to(self.device), torch.from_numpy(mask).to(self.device), None

    def head(self, n: int) -> Batch:
        return self.take(np.arange(min(n, len(self))))

    def all(self) -> torch.Tensor:
        """Every frame (F, D), for ``begin_training``."""
        return torch.from_numpy(self.seqs.frames).to(self.device)


def _call(fn: Any, batch: Batch, gen: torch.Generator) -> Any:
    v, mask, labels = batch
    extra = {k: x for k, x in (("mask", mask), ("labels", labels)) if x is not None}
    return fn(v, gen, **extra)


def make_optimizer(tc: TrainConfig, groups: list[dict]) -> torch.optim.Optimizer:
    if tc.optimizer == "adam":
        return torch.optim.Adam(groups, lr=tc.lr, betas=(tc.momentum, 0.999))
    return torch.optim.SGD(groups, lr=tc.lr, momentum=tc.momentum, nesterov=tc.optimizer == "nesterov")


def frames_of(module: Any, shape: tuple[int, ...], n: int = 64) -> np.ndarray | None:
    imgs = getattr(module, "chain_images", lambda n: None)(n)
    if imgs is None:
        return None
    return imgs.detach().float().clamp(0, 1).cpu().numpy().reshape(-1, *shape)


def train(ctx: Any, model: str, data: dict | str | Dataset, config: dict | TrainConfig | None = None,
          save_to: str | None = None, save_every: int = 0, until_epoch: float = 0.0,
          ) -> Iterator[ev.Event | None]:
    """Train registry model ``model`` on ``data``; a job (see the module docstring).

    With ``save_to``, a checkpoint is written there every ``save_every`` epochs, at a point where the
    parameters and the trainer's state agree, so it resumes exactly. ``until_epoch`` > 0 pauses the run
    there, resumably, while the learning-rate schedule still spans all ``epochs`` (early stopping on a
    validation score between the pieces, with a decaying schedule).
    """
    entry: ModelEntry = ctx.registry[model]
    tc = config if isinstance(config, TrainConfig) else config_from_dict(TrainConfig, config or {})
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    module = entry.module
    n_vis = getattr(entry.config, "n_visible", dataset.dim)
    if n_vis != dataset.dim:
        raise ValueError(f"{model!r} has {n_vis} visible units but {dataset.name} examples have "
                         f"{dataset.dim} values; create a model of that size")
    device = ctx.device
    module.to(device)
    sequences = bool(getattr(module, "takes_sequences", False))
    masked = sequences and bool(getattr(module, "takes_masks", False))
    if sequences and not dataset.is_sequence:
        raise ValueError(f"{model!r} is a {entry.kind} model, of sequences, but {dataset.name} holds single "
                         "examples; train it on sequence data")

    regenerate = getattr(dataset, "regenerate", None)

    def labels_of(split: str) -> np.ndarray | None:
        """One label per example of ``split``, for a model that takes them (module docstring); else None."""
        if not getattr(module, "takes_labels", False) or (regenerate is not None
                                                           and not dataset.regenerate_keeps_labels):
            return None
        y = (dataset.meta.get("labels") or {}).get(split)
        y = None if y is None else np.asarray(y)
        return y if y is not None and y.ndim == 1 and len(y) == len(getattr(dataset, split)) else None

    def examples(a: np.ndarray | Sequences, labels: np.ndarray | None = None) -> _Tensor | _Padded:
        """What the model trains on: whole sequences (or chunks of them, see the module docstring) for
        sequence models, single frames for the others (a per-frame RBM trains on the frames of sequence
        data); whole examples keep their ``labels``."""
        if isinstance(a, Sequences):
            if not sequences:
                return _Tensor(torch.from_numpy(a.frames).to(device))
            if masked:
                return _Padded(a.chunks(tc.seq_chunk), device)
            if not tc.seq_chunk:
                raise ValueError(f"{model!r} is a {entry.kind} model, of sequences of one length: set seq_chunk "
                                 f"to train it on windows of that many frames of the {dataset.name} pieces")
            return _Tensor(torch.from_numpy(a.windows(tc.seq_chunk)).to(device))
        t = torch.from_numpy(a)
        t = (t if sequences or t.ndim == 2 else t.reshape(-1, t.shape[-1])).to(device)
        y = None if labels is None or len(t) != len(a) else torch.from_numpy(labels.astype(np.int64)).to(device)
        return _Tensor(t, y)

    y_train, y_valid = labels_of("train"), labels_of("valid")
    X = X0 = examples(dataset.train, y_train)
    if not len(X):
        raise ValueError(f"{dataset.name} gives no training examples (pieces shorter than seq_chunk="
                         f"{tc.seq_chunk}?)")
    Xv = examples(dataset.valid[: tc.monitor_size],
                  None if y_valid is None else y_valid[: tc.monitor_size]).head(tc.monitor_size)
    Xm = X.head(tc.monitor_size)  # fixed, also when the training data is regenerated: comparable curves
    data_epoch = 0  # the epoch whose data X holds; epoch 0 trains on dataset.train
    N, B = len(X), min(tc.batch_size, len(X))
    spe = N // B
    total = tc.epochs * spe
    stop = min(total, round(until_epoch * spe)) if until_epoch > 0 else total

    set_progress = getattr(module, "set_progress", None)
    unit = "sequences" if sequences else "examples"

    def epoch_data(epoch: int) -> _Tensor | _Padded:
        """Epoch ``epoch``'s training data: a function of the epoch alone, so a resumed run sees the same."""
        if epoch == 0:
            return X0
        fresh = np.ascontiguousarray(regenerate(epoch), dtype=np.float32)
        if fresh.shape != dataset.train.shape:
            raise ValueError(f"{dataset.name}: regenerate({epoch}) gave shape {fresh.shape}, not "
                             f"{dataset.train.shape}")
        return examples(fresh, y_train)

    st = entry.trainer
    gen = torch.Generator(device=device)
    opt = make_optimizer(tc, module.param_groups(tc.weight_decay))
    fresh_optimizer = False
    if st.get("step", 0) == 0:
        gen.manual_seed(tc.seed)
        module.begin_training(X.all(), gen)
        st.clear()
        st.update(step=0, epoch=0, batch_index=0, elapsed_s=0.0)
        entry.data = dataset.describe()
    else:
        _restore_rng(gen, st, tc.seed)
        if "optimizer" in st and st.get("optimizer_kind", "sgd") == tc.optimizer:
            _load_optimizer_state(opt, st["optimizer"], device)
        else:
            fresh_optimizer = True
    st["train_config"] = config_to_dict(tc)
    st["optimizer_kind"] = tc.optimizer
    step, bi = int(st["step"]), int(st.get("batch_index", 0))
    perm = st.get("perm")
    if perm is not None:  # the epoch's order, on this device (a checkpoint's comes back on the CPU)
        perm, bi = (perm.to(device), bi) if len(perm) == N else (None, 0)
    entry.dirty = True

    def sync_state() -> None:
        st.update(step=step, batch_index=bi, epoch=step / spe, perm=perm, rng=gen.get_state(),
                  rng_device=gen.device.type, optimizer=_optimizer_state(opt), elapsed_s=elapsed())

    def snapshot() -> dict:
        return {"module": copy.deepcopy(module.state_dict()), "model_state": copy.deepcopy(
            module.train_state()), "opt": copy.deepcopy(opt.state_dict()), "step": step, "bi": bi,
            "perm": perm, "rng": gen.get_state(), "history": len(entry.history)}

    def restore(s: dict) -> None:
        module.load_state_dict(s["module"])
        module.load_train_state(s["model_state"])
        opt.load_state_dict(s["opt"])
        gen.set_state(s["rng"])
        del entry.history[s["history"]:]

    def monitor(split: str, Xs: Batch) -> dict[str, float]:
        mg = torch.Generator(device=device).manual_seed(tc.seed + 7919 * step + (split == "valid"))
        return _call(module.monitors, Xs, mg)

    start_elapsed = float(st.get("elapsed_s", 0.0))
    t0 = time.perf_counter()

    def elapsed() -> float:
        return start_elapsed + time.perf_counter() - t0

    good = snapshot()
    last_progress, rate_t, rate_step = 0.0, time.perf_counter(), step
    last_changed = time.perf_counter()
    rate = 0.0
    yield ev.Log(job=ctx.job, message=f"training {model!r} on {dataset.name}: {N} examples, {B} a batch, "
                 f"epochs {step // spe}..{tc.epochs}")
    if fresh_optimizer:
        why = (f"the saved optimiser state is not {tc.optimizer}'s" if "optimizer" in st
               else "no optimiser state was saved for these parameters")
        yield ev.Log(job=ctx.job, message=f"{why}: starting its buffers afresh")
    entry.training = True
    try:
        while step < stop:
            if tc.time_budget_s and elapsed() >= tc.time_budget_s:
                yield ev.Log(job=ctx.job, message=f"time budget of {tc.time_budget_s:.0f} s reached at step {step}")
                break
            if regenerate is not None and step // spe != data_epoch:
                data_epoch = step // spe
                X = epoch_data(data_epoch)
            if perm is None or bi >= spe:
                perm, bi = torch.randperm(N, generator=gen, device=device), 0
            progress = step / total
            if tc.time_budget_s:
                progress = max(progress, elapsed() / tc.time_budget_s)
            if set_progress is not None:
                set_progress(step / spe, progress)
            lr = tc.lr * schedule_factor(tc.lr_schedule, progress, tc.lr_final)
            mom = 0.5 if step < tc.momentum_warmup * spe else tc.momentum
            for g in opt.param_groups:
                g["lr"] = lr
                if "momentum" in g:
                    g["momentum"] = min(mom, tc.momentum)
            _call(module.training_step, X.take(perm[bi * B:(bi + 1) * B]), gen)
            if tc.grad_clip:
                torch.nn.utils.clip_grad_norm_([p for p in module.parameters() if p.grad is not None],
                                               tc.grad_clip)
            opt.step()
            module.after_update()
            step, bi = step + 1, bi + 1

            if step % tc.monitor_every == 0 or step == stop or step % spe == 0:
                values = monitor("train", Xm)
                if not (_finite(values) and _params_finite(module)):
                    bad_step = step
                    restore(good)
                    step, bi, perm = good["step"], good["bi"], good["perm"]
                    sync_state()
                    raise Diverged(f"diverged at step {bad_step}: NaN/Inf in the parameters or monitors; "
                                   f"restored the parameters of step {step}. Try a smaller learning rate.")
                values["lr"] = lr
                epoch = step / spe
                rec = {"step": step, "epoch": epoch, "split": "train", "values": values}
                entry.history.append(rec)
                yield ev.Metrics(job=ctx.job, step=step, epoch=epoch, values=values)
                if len(Xv[0]):
                    vvals = monitor("valid", Xv)
                    entry.history.append({"step": step, "epoch": epoch, "split": "valid", "values": vvals})
                    yield ev.Metrics(job=ctx.job, step=step, epoch=epoch, values=vvals, split="valid")
                good = snapshot()
                sync_state()
                if time.perf_counter() - last_changed > CHANGED_EVERY_S:
                    ctx.registry.changed(model)  # the model library shows the steps trained, live
                    last_changed = time.perf_counter()
                if save_to and save_every and step % (save_every * spe) == 0:
                    checkpoint.save(entry, save_to)
                    yield ev.Log(job=ctx.job, message=f"saved {save_to} at epoch {step // spe}")
            if tc.frame_every and step % tc.frame_every == 0:
                img = frames_of(module, dataset.shape)
                if img is not None:
                    yield ev.Frame(job=ctx.job, step=step, image=ev.frozen_array(img), label="chains")
            now = time.perf_counter()
            if now - last_progress > 0.25 or step == stop:
                if now - rate_t > 1.0:
                    rate = (step - rate_step) * B / (now - rate_t)
                    rate_t, rate_step = now, step
                eta = (total - step) * B / rate if rate else None
                yield ev.Progress(job=ctx.job, step=step, total=total, rate=rate, unit=unit, eta_s=eta,
                                  epoch=step / spe)
                last_progress = now
            else:
                yield None
    finally:  # also when cancelled or diverged: the entry holds the state to resume from
        entry.training = False
        sync_state()
        ctx.registry.changed(model)
    return {"model": model, "step": step, "epoch": step / spe, "elapsed_s": elapsed(),
            "last": entry.history[-1]["values"] if entry.history else {}}
