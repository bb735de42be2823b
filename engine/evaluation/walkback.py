"""Evaluation of a Variational Walkback model: its lower bound, an importance-sampled log-likelihood and how
far its transition operator is from reversible.

The generative model is the cooling walk of ``K = ceil(log2 Tmax) + n`` steps (n = N1 unless given):
``p(x) = sum over s_1..s_K of p*(s_K) prod_t p_{T_t}(s_{t-1} | s_t)`` with ``s_0 = x``. The heating walk q
(the operator itself, from x) is its variational posterior, so with the log weight
``log w = log p*(s_K) + sum_t log p_{T_t}(s_{t-1} | s_t) - sum_t log q_{T_t}(s_t | s_{t-1})``:

- the lower bound (Eq. 3.5) is ``E_q[log w] <= log p(x)``;
- the importance-sampling estimate (Eq. 3.10) is ``log (1/M) sum_m w_m`` over M heating walks, a stochastic
  lower bound that tightens as M grows (IWAE);
- reversibility: a reversible operator (detailed balance, as Gibbs sampling of an energy model) makes a
  stationary chain's transitions as likely backwards as forwards. We run the T = 1 chain from cooled
  samples and report the mean of ``log p(s_t | s_{t-1}) - log p(s_{t-1} | s_t)`` per step, the entropy
  production of the chain (nats per step, >= 0 in expectation at stationarity, 0 iff reversible), beside
  the forward and backward NLLs it compares. This is our reading of the measure of Section 3.14.
"""
from __future__ import annotations

import math
import time
from typing import Any, Iterator

import torch

from engine import events as ev
from engine.data import Dataset, load_dataset
from engine.models.walkback import Walkback, temperatures


@torch.no_grad()
def log_weights(model: Walkback, X: torch.Tensor, n_samples: int = 1, n: int | None = None,
                generator: torch.Generator | None = None, chunk: int = 20_000) -> Iterator[torch.Tensor]:
    """Yields the (rows, n_samples) log weights of consecutive chunks of ``X`` (at most ``chunk`` walks a
    batch), so a job can report progress between them."""
    n = model.config.n1 if n is None else n
    rows = max(1, chunk // n_samples)
    for i in range(0, len(X), rows):
        x = X[i:i + rows]
        xs = x.repeat_interleave(n_samples, 0)
        lw, _ = model.walk_log_weights(xs, n, generator)
        yield lw.reshape(len(x), n_samples).double()


def lower_bound(model: Walkback, X: torch.Tensor, n: int | None = None,
                generator: torch.Generator | None = None) -> float:
    """Mean over rows of the one-walk estimate of the Eq. 3.5 lower bound on log p(x), in nats."""
    return torch.cat([lw[:, 0] for lw in log_weights(model, X, 1, n, generator)]).mean().item()


def importance_log_likelihood(model: Walkback, X: torch.Tensor, n_samples: int = 100, n: int | None = None,
                              generator: torch.Generator | None = None) -> float:
    """Mean over rows of ``log (1/M) sum_m w_m`` (Eq. 3.10) with M = ``n_samples`` heating walks."""
    out = [torch.logsumexp(lw, 1) - math.log(n_samples) for lw in log_weights(model, X, n_samples, n, generator)]
    return torch.cat(out).mean().item()


@torch.no_grad()
def reversibility(model: Walkback, n_chains: int = 200, steps: int = 50, n: int | None = None,
                  generator: torch.Generator | None = None) -> dict[str, float]:
    """Entropy production of the T = 1 chain started at cooled samples (see the module docstring)."""
    walk = None
    for walk in model.cool(n_chains, n=n, generator=generator):
        pass
    s = walk.state.clone()
    fwd, bwd = [], []
    for _ in range(steps):
        a, sigma = model.operator(s, 0, 1.0)
        s_new = model.draw(a, sigma, generator)
        fwd.append(model.log_prob(s_new, a, sigma))
        bwd.append(model.transition_log_prob(s, s_new, 0, 1.0))
        s = s_new
    f, b = torch.stack(fwd).double(), torch.stack(bwd).double()
    d = f - b
    return {"entropy_production": d.mean().item(), "entropy_production_se": (d.mean(0).std() / math.sqrt(
        n_chains)).item(), "forward_nll": -f.mean().item(), "backward_nll": -b.mean().item()}


def evaluate_walkback(ctx: Any, model: str, data: dict | str | Dataset | None = None, split: str = "test",
                      n_examples: int = 0, n_samples: int = 100, n: int | None = None, seed: int = 0,
                      reversibility_chains: int = 200, reversibility_steps: int = 50,
                      ) -> Iterator[ev.Event | None]:
    """A job: the Eq. 3.5 bound, the Eq. 3.10 estimate with ``n_samples`` walks per example (0: skip it) and
    the reversibility of a walkback model on the first ``n_examples`` (0: all) examples of a split."""
    entry = ctx.registry[model]
    module = entry.module
    if not isinstance(module, Walkback):
        raise ValueError(f"--method walkback is for walkback models; {model!r} is a {entry.kind}")
    spec = data if data is not None else entry.data.get("spec")
    if spec is None:
        raise ValueError("no data given and the model does not say what it was trained on")
    dataset = spec if isinstance(spec, Dataset) else load_dataset(spec)
    X = torch.from_numpy(getattr(dataset, split)).to(ctx.device)
    if n_examples:
        X = X[:n_examples]
    if not len(X):
        raise ValueError(f"the {split} split of {dataset.name} is empty")
    gen = torch.Generator(device=ctx.device).manual_seed(seed)
    n = module.config.n1 if n is None else n
    t0 = time.perf_counter()
    result: dict[str, Any] = {"method": "walkback", "split": split, "n": len(X), "dataset": dataset.name,
                              "walk_steps": len(temperatures(n, module.config.t_max)), "n_samples": n_samples}
    total = len(X) * (1 + n_samples)
    done = 0
    bound = []
    for lw in log_weights(module, X, 1, n, gen):
        bound.append(lw[:, 0])
        done += len(lw)
        yield ev.Progress(job=ctx.job, step=done, total=total, unit="walks", message="lower bound")
    result[f"{split}_bound"] = torch.cat(bound).mean().item()
    if n_samples:
        est = []
        for lw in log_weights(module, X, n_samples, n, gen):
            est.append(torch.logsumexp(lw, 1) - math.log(n_samples))
            done += lw.numel()
            rate = done / (time.perf_counter() - t0)
            yield ev.Progress(job=ctx.job, step=done, total=total, unit="walks", rate=rate,
                              eta_s=(total - done) / rate, message="importance sampling")
        result[f"{split}_is_ll"] = torch.cat(est).mean().item()
    if reversibility_chains and reversibility_steps:
        result.update(reversibility(module, reversibility_chains, reversibility_steps, n, gen))
    result["wall_s"] = time.perf_counter() - t0
    values = {"walkback_bound_ll": result[f"{split}_bound"]}
    if n_samples:
        values["walkback_is_ll"] = result[f"{split}_is_ll"]
    entry.history.append({"step": int(entry.trainer.get("step", 0)), "epoch":
                          float(entry.trainer.get("epoch", 0.0)), "split": split, "values": values})
    ctx.registry.changed(model)
    return result
