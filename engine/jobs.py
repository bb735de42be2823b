"""Jobs shared by the CLI and the studio: create, load, save and sample models.

Each is a function ``fn(ctx, ...)`` for :meth:`engine.Engine.submit`; training is
:func:`engine.training.trainer.train` and evaluation :func:`engine.evaluation.evaluate`.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch

from engine import events as ev
from engine.config import config_from_dict
from engine.models import family
from engine.registry import ModelEntry
from engine.training import checkpoint


def create_model(ctx: Any, kind: str, config: dict | None = None, name: str | None = None,
                 seed: int = 0) -> dict:
    fam = family(kind)
    cfg = config_from_dict(fam.config_cls, config or {})
    gen = torch.Generator().manual_seed(seed)
    module = fam.build(cfg, generator=gen).to(ctx.device)
    entry = ModelEntry(ctx.registry.unique_name(name or kind), kind, cfg, module, dirty=True)
    return ctx.registry.add(entry).info()


def load_model(ctx: Any, path: str, name: str | None = None, expected_kind: str | None = None,
               replace: bool = False) -> dict:
    entry = checkpoint.load(path, expected_kind=expected_kind, device=ctx.device, name=name)
    if not replace:
        entry.name = ctx.registry.unique_name(entry.name)
    return ctx.registry.add(entry, replace=replace).info()


def save_model(ctx: Any, model: str, path: str | None = None) -> str:
    entry = ctx.registry[model]
    target = path or entry.path
    if not target:
        raise ValueError(f"{model!r} has never been saved: choose where to save it")
    folder = checkpoint.save(entry, target)
    ctx.registry.changed(model)
    return str(folder)


def model_info(ctx: Any, model: str) -> dict:
    return ctx.registry[model].info()


def sample(ctx: Any, model: str, n_chains: int = 64, steps: int = 1000, every: int = 1,
           init: np.ndarray | None = None, mask: np.ndarray | None = None, seed: int = 0,
           shape: tuple[int, ...] | None = None, start: str = "noise", data: dict | None = None,
           fps: float = 0.0) -> Iterator[ev.Event | ev.Wait | None]:
    """Gibbs chains from noise, from random test examples (``start="data"``) or from ``init`` (with
    ``mask`` clamped); a Frame every ``every`` steps, at most ``fps`` frames a second when fps > 0.

    Returns the final visible means as an (N, *shape) array.
    """
    import time

    entry = ctx.registry[model]
    shape = tuple(shape or entry.data.get("shape") or _squareish(entry.config.n_visible))
    gen = torch.Generator(device=ctx.device).manual_seed(seed)
    if init is None and start == "data":
        from engine.data import cached_dataset

        spec = data or entry.data.get("spec")
        if not spec:
            raise ValueError(f"{model!r} does not say what data it was trained on: start from noise instead")
        pool = cached_dataset(spec)
        pool_x = pool.test if len(pool.test) else pool.train
        idx = torch.randint(len(pool_x), (n_chains,), generator=torch.Generator().manual_seed(seed))
        init = pool_x[idx.numpy()]
    elif start not in ("noise", "data"):
        raise ValueError(f"unknown start {start!r}: use noise or data")
    t_init = None if init is None else torch.as_tensor(np.asarray(init, np.float32))
    t_mask = None if mask is None else torch.as_tensor(np.asarray(mask, bool))
    last = None
    next_frame = time.perf_counter()
    for step, mean in entry.module.gibbs(n_chains, steps, init=t_init, mask=t_mask, every=every,
                                         generator=gen):
        last = mean.float().cpu().numpy().reshape(-1, *shape)
        yield ev.Frame(job=ctx.job, step=step, image=ev.frozen_array(last), label="gibbs")
        yield ev.Progress(job=ctx.job, step=step, total=steps, unit="Gibbs steps")
        if fps > 0:
            next_frame += 1.0 / fps
            wait = next_frame - time.perf_counter()
            if wait > 0:
                yield ev.Wait(wait)
            else:
                next_frame = time.perf_counter()
    return last


def rename_model(ctx: Any, model: str, new: str) -> dict:
    new = new.strip()
    if not new:
        raise ValueError("a model needs a name")
    ctx.registry.rename(model, new)
    return ctx.registry[new].info()


def delete_model(ctx: Any, model: str) -> None:
    ctx.registry.remove(model)


def duplicate_model(ctx: Any, model: str, name: str | None = None) -> dict:
    import copy

    src = ctx.registry[model]
    entry = ModelEntry(ctx.registry.unique_name(name or f"{model} copy"), src.kind, copy.deepcopy(src.config),
                       copy.deepcopy(src.module), copy.deepcopy(src.history), copy.deepcopy(src.trainer),
                       copy.deepcopy(src.data), path=None, dirty=True)
    if hasattr(src.module, "train_state"):
        entry.module.load_train_state(copy.deepcopy(src.module.train_state()))
    return ctx.registry.add(entry).info()


def model_history(ctx: Any, model: str) -> list[dict]:
    return [dict(r) for r in ctx.registry[model].history]


def filters(ctx: Any, model: str, n: int = 100, data: dict | None = None, n_data: int = 500) -> dict:
    """Receptive fields (the first ``n`` weight columns as images) and histograms of the weights and of
    the hidden units' mean activations on data, for the studio's filters panel."""
    from engine.data import cached_dataset

    entry = ctx.registry[model]
    module = entry.module
    if not hasattr(module, "standard_params"):
        raise ValueError(f"{entry.kind} models have no filters to show")
    p = module.standard_params()
    W = p.W.detach().float().cpu()
    shape = tuple(entry.data.get("shape") or ())
    if len(shape) != 2 or shape[0] * shape[1] != W.shape[0]:
        shape = _squareish(W.shape[0])
    fields = W[:, :n].T.reshape(-1, *shape)
    lo = fields.flatten(1).min(1).values[:, None, None]
    hi = fields.flatten(1).max(1).values[:, None, None]
    fields = (fields - lo) / (hi - lo).clamp_min(1e-12)
    w_counts, w_edges = np.histogram(W.numpy(), bins=60)
    out = {"filters": fields.numpy(), "weight_hist": (w_counts, w_edges), "hidden_hist": None,
           "shape": shape, "n_hidden": int(W.shape[1])}
    spec = data or entry.data.get("spec")
    if spec:
        try:
            X = torch.from_numpy(cached_dataset(spec).train[:n_data]).to(p.W.device)
        except ValueError:
            X = None
        if X is not None and X.shape[1] == W.shape[0]:
            with torch.no_grad():
                h = module.hidden_probs(X, p).mean(0).float().cpu().numpy()
            out["hidden_hist"] = np.histogram(h, bins=40, range=(0.0, 1.0))
    return out


def _squareish(n: int) -> tuple[int, int]:
    import math

    h = int(math.sqrt(n))
    while n % h:
        h -= 1
    return (h, n // h)
