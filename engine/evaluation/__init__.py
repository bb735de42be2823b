"""Log-likelihood evaluation: exact log Z for small RBMs, AIS for the rest, and the average test LL."""
from __future__ import annotations

import math
import time
from typing import Any, Iterator

import torch

from engine import events as ev
from engine.data import Dataset, load_dataset
from engine.evaluation.ais import AISResult, ais, betas
from engine.evaluation.exact import log_partition_exact
from engine.models.rbm import StandardParams, free_energy

__all__ = ["AISResult", "ais", "betas", "log_partition_exact", "average_log_likelihood", "evaluate"]


@torch.no_grad()
def average_log_likelihood(p: StandardParams, X: torch.Tensor, log_z: float, chunk: int = 2000) -> float:
    """Mean over rows of log p(v) = -F(v) - log Z, in float64."""
    pd = StandardParams(p.W.double(), p.b.double(), p.c.double(),
                        None if p.sigma is None else p.sigma.double())
    total = 0.0
    for i in range(0, len(X), chunk):
        total += -free_energy(pd, X[i:i + chunk].double().to(pd.W.device)).sum().item()
    return total / len(X) - log_z


def evaluate(ctx: Any, model: str, method: str = "ais", data: dict | str | Dataset | None = None,
             split: str = "test", n_runs: int = 100, n_betas: int = 14500, seed: int = 0,
             ) -> Iterator[ev.Event | None]:
    """A job: log Z (exact or AIS) and the average log-likelihood of a data split."""
    entry = ctx.registry[model]
    if not hasattr(entry.module, "standard_params"):
        raise ValueError(f"log-likelihood evaluation is for RBMs; {model!r} is a {entry.kind}")
    spec = data if data is not None else entry.data.get("spec")
    if spec is None:
        raise ValueError("no data given and the model does not say what it was trained on")
    dataset = spec if isinstance(spec, Dataset) else load_dataset(spec)
    X = torch.from_numpy(getattr(dataset, split)).to(ctx.device)
    if not len(X):
        raise ValueError(f"the {split} split of {dataset.name} is empty")
    p = entry.module.standard_params()
    t0 = time.perf_counter()
    result: dict[str, Any] = {"method": method, "split": split, "n": len(X), "dataset": dataset.name}
    if method == "exact":
        log_z = log_partition_exact(p)
        result.update(log_z=log_z, log_z_err=0.0)
    elif method == "ais":
        train = torch.from_numpy(dataset.train).to(ctx.device)
        gen = torch.Generator(device=ctx.device).manual_seed(seed)
        it = ais(p, train, n_runs=n_runs, n_betas=n_betas, generator=gen)
        n_total = len(betas(n_betas)) - 1
        while True:
            try:
                k = next(it)
            except StopIteration as stop:
                r: AISResult = stop.value
                break
            rate = k / (time.perf_counter() - t0)
            yield ev.Progress(job=ctx.job, step=k, total=n_total, rate=rate, unit="temperatures",
                              eta_s=(n_total - k) / rate, message="AIS")
        result.update(log_z=r.log_z, log_z_err=r.log_z_err, log_z_lo=r.log_z_lo, log_z_hi=r.log_z_hi,
                      n_runs=r.n_runs, n_betas=r.n_betas)
    else:
        raise ValueError(f"unknown method {method!r}: use ais or exact")
    ll = average_log_likelihood(p, X, result["log_z"])
    result[f"{split}_ll"] = ll
    if method == "ais":
        result[f"{split}_ll_lo"] = ll + result["log_z"] - result["log_z_hi"]
        hi = result["log_z_lo"]
        result[f"{split}_ll_hi"] = ll + result["log_z"] - hi if math.isfinite(hi) else float("inf")
    result["wall_s"] = time.perf_counter() - t0
    entry.history.append({"step": int(entry.trainer.get("step", 0)), "epoch":
                          float(entry.trainer.get("epoch", 0.0)), "split": split,
                          "values": {f"{method}_ll": ll}})
    ctx.registry.changed(model)
    return result
