"""One-step-ahead prediction error of sequence models, and the baselines it is judged against.

For each test sequence and each t = 2..T, a predictor gives the expected frame t given the true frames
before it (a temporal model's :meth:`predict_next`: Gibbs chains of step t's RBM from ``v_{t-1}``, seeded
here so that a figure can be reproduced); the error of a sequence is the squared error summed over the
visibles (pixels, channels), averaged over t. :func:`prediction_error` reports its mean and standard deviation over sequences, the
figure of the RTRBM paper's comparison. Baselines, computed by the same code:

* :func:`copy_last` predicts frame t-1: what any model has to beat.
* :func:`rbm_predictor` uses an RBM trained on single frames, with no temporal connections. Knowing
  nothing of time, its best guess of frame t is frame t-1 as it sees it: its mean-field reconstruction
  of ``v_{t-1}`` (``steps=1``; more steps walk to the nearest mode of the RBM, which for sharp frames is
  ``v_{t-1}`` again). It shows what a model of single frames buys over copy-last, so that the gap to the
  temporal models is what their temporal connections add.

Motion capture is modelled in standardised channels; the job also reports each predictor's mean squared
error per channel in the data's original units (each channel's error times its training std, squared, and
averaged over channels, t and sequences: ``<name>_mse_original``, with the units in ``units``).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from engine import events as ev
from engine.data import Dataset, load_dataset
from engine.models.rbm import RBM

#: seqs (B, T, V) -> expected frames 2..T given the true past, (B, T-1, V)
Predictor = Callable[[Tensor], Tensor]


def copy_last(seqs: Tensor) -> Tensor:
    """The baseline of no model: frame t is predicted to be frame t-1."""
    return seqs[:, :-1]


def rbm_predictor(rbm: RBM, steps: int = 1) -> Predictor:
    """A per-frame RBM as a predictor: ``steps`` mean-field updates from ``v_{t-1}`` (module docstring)."""
    @torch.inference_mode()
    def predict(seqs: Tensor) -> Tensor:
        p = rbm.standard_params()
        B, T, V = seqs.shape
        x = seqs[:, :-1].reshape(-1, V).to(p.W)
        for _ in range(steps):
            x = rbm.visible_mean(rbm.hidden_probs(x, p), p)
        return x.view(B, T - 1, V)
    return predict


def as_predictor(model_or_fn: Any, seed: int = 0, **options: Any) -> Predictor:
    """A sequence model (anything with ``predict_next``, called with ``options`` and a generator seeded
    with ``seed``), a per-frame :class:`RBM`, or a predictor function."""
    fn = getattr(model_or_fn, "predict_next", None)
    if fn is not None:
        device = getattr(getattr(model_or_fn, "W", None), "device", "cpu")
        gen = torch.Generator(device=device).manual_seed(seed)
        return lambda seqs: fn(seqs, generator=gen, **options)
    if isinstance(model_or_fn, RBM):
        return rbm_predictor(model_or_fn)
    if callable(model_or_fn):
        return model_or_fn
    raise TypeError(f"cannot predict frames with a {type(model_or_fn).__name__}")


@torch.inference_mode()
def sequence_errors(model_or_fn: Any, test_seqs: Tensor | np.ndarray, batch_size: int = 50, seed: int = 0,
                    **options: Any) -> Tensor:
    """The prediction error of each sequence (squared error summed over visibles, averaged over t = 2..T),
    as float64, shape (N,). ``options`` go to a model's ``predict_next`` (``steps``, ``chains``, ...)."""
    predict = as_predictor(model_or_fn, seed, **options)
    X = torch.as_tensor(test_seqs)
    if X.ndim != 3 or X.shape[1] < 2:
        raise ValueError(f"prediction needs sequences of at least two frames, (N, T, V); got {tuple(X.shape)}")
    out = [_batch_errors(predict, X[i:i + batch_size])[0] for i in range(0, len(X), batch_size)]
    return torch.cat(out)


def _batch_errors(predict: Predictor, seqs: Tensor, scale: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """Each sequence's squared error summed over visibles, averaged over t, (B,); and with ``scale`` (V,),
    the size of each visible's unit in the original data, its squared error in those units averaged over
    visibles and t, (B,) (else None)."""
    pred = predict(seqs)
    diff = pred - seqs[:, 1:].to(pred.device, pred.dtype)
    err = (diff ** 2).sum(-1).mean(-1).double().cpu()
    if scale is None:
        return err, None
    return err, ((diff.double() * scale.to(diff.device)) ** 2).mean((-2, -1)).cpu()


def prediction_error(model_or_fn: Any, test_seqs: Tensor | np.ndarray, batch_size: int = 50, seed: int = 0,
                     **options: Any) -> tuple[float, float]:
    """(mean, std) over sequences of the one-step-ahead prediction error (module docstring)."""
    e = sequence_errors(model_or_fn, test_seqs, batch_size, seed, **options)
    return e.mean().item(), (e.std().item() if len(e) > 1 else 0.0)


def evaluate_prediction(ctx: Any, model: str, data: dict | str | Dataset | None = None, split: str = "test",
                        n_seqs: int = 0, baselines: tuple[str, ...] = ("copy_last",),
                        rbm_model: str | None = None, rbm_steps: int | None = None, batch_size: int = 50,
                        steps: int | None = None, chains: int = 1, seed: int = 0,
                        ) -> Iterator[ev.Event | None]:
    """A job: the prediction error of sequence model ``model`` on a split, beside baselines.

    ``baselines`` may hold ``copy_last``; ``rbm_model`` names a per-frame RBM in the registry to compare
    with (``rbm_steps`` mean-field steps from the previous frame, default 1). ``n_seqs`` > 0 uses the
    first sequences only; ``steps``, ``chains`` and ``seed`` set the model's predictions. Returns
    ``{"pred_error", "pred_error_std", "<baseline>_error", ...}`` (for data with a per-channel ``std`` in
    its meta, such as motion capture, also ``"<name>_mse_original"`` and ``"units"``) and records the
    model's figure in its history.
    """
    entry = ctx.registry[model]
    module = entry.module
    if not hasattr(module, "predict_next"):
        raise ValueError(f"prediction error is for sequence models; {model!r} is a {entry.kind}")
    spec = data if data is not None else entry.data.get("spec")
    if spec is None:
        raise ValueError("no data given and the model does not say what it was trained on")
    dataset = spec if isinstance(spec, Dataset) else load_dataset(spec)
    X = torch.from_numpy(getattr(dataset, split))
    if X.ndim != 3:
        raise ValueError(f"{dataset.name} holds single examples, not sequences")
    if n_seqs:
        X = X[:n_seqs]
    if not len(X):
        raise ValueError(f"the {split} split of {dataset.name} is empty")
    X = X.to(ctx.device)
    predictors: dict[str, Predictor] = {"pred": as_predictor(module, seed, steps=steps, chains=chains)}
    for name in baselines:
        if name != "copy_last":
            raise ValueError(f"unknown baseline {name!r}: use copy_last, or rbm_model for a per-frame RBM")
        predictors["copy_last"] = copy_last
    if rbm_model is not None:
        rbm = ctx.registry[rbm_model].module
        if not isinstance(rbm, RBM):
            raise ValueError(f"{rbm_model!r} is not an RBM")
        predictors["rbm"] = rbm_predictor(rbm, rbm_steps or 1)
    std = dataset.meta.get("std") if isinstance(dataset.meta, dict) else None
    scale = torch.as_tensor(std, dtype=torch.float64) if std is not None else None
    if scale is not None and scale.shape != (X.shape[-1],):
        raise ValueError(f"{dataset.name}: {scale.numel()} channel stds for {X.shape[-1]} channels")
    t0 = time.perf_counter()
    errors: dict[str, list[tuple[Tensor, Tensor | None]]] = {k: [] for k in predictors}
    total = len(X) * len(predictors)
    done = 0
    for name, predict in predictors.items():
        for i in range(0, len(X), batch_size):
            errors[name].append(_batch_errors(predict, X[i:i + batch_size], scale))
            done += len(X[i:i + batch_size])
            yield ev.Progress(job=ctx.job, step=done, total=total, unit="sequences",
                              rate=done / max(time.perf_counter() - t0, 1e-9), message="prediction error")
    result: dict[str, Any] = {"split": split, "n": len(X), "dataset": dataset.name}
    if scale is not None:
        result["units"] = dataset.meta.get("units", "original units")
    for name, parts in errors.items():
        e = torch.cat([err for err, _ in parts])
        if scale is not None:
            result[f"{name}_mse_original"] = torch.cat([orig for _, orig in parts]).mean().item()
        result[f"{name}_error"] = e.mean().item()
        result[f"{name}_error_std"] = e.std().item() if len(e) > 1 else 0.0
    result["wall_s"] = time.perf_counter() - t0
    entry.history.append({"step": int(entry.trainer.get("step", 0)), "epoch":
                          float(entry.trainer.get("epoch", 0.0)), "split": split,
                          "values": {"pred_error": result["pred_error"]}})
    ctx.registry.changed(model)
    return result
