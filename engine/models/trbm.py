"""The Temporal RBM (Sutskever & Hinton 2007), as Section 2 of the RTRBM paper describes it.

Frame t and its hidden units form an RBM whose hidden bias comes from the previous hidden states::

    c_t = b_h + sum_{d=1..delay} h_{t-d} W_rec[d-1]        (c_1 = b_h + b_init)

(fewer terms while t <= delay). Exact inference of the binary h's is intractable, so training uses the
paper's heuristic filtering: at each step ``h_t`` is replaced by its mean-field probabilities given
``v_t`` and the earlier inferred ones, ``sigmoid(W v_t + c_t)``; then each step's conditional RBM gets
CD-k with the inferred past treated as data (no gradient through time: that is the RTRBM's addition).
Sampling is Algorithm 2: the hidden states that bias the next frame are the binary samples of the
Gibbs chain that drew this one. Everything else (config, prediction, monitors, trainer hooks) is shared
with :mod:`engine.models.rtrbm`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.config import param
from engine.models.rtrbm import RTRBMConfig, SequenceRBM


@dataclass
class TRBMConfig(RTRBMConfig):
    delay: int = param(1, "How many previous hidden states bias each step's hidden units (a temporal weight "
                       "matrix each).", min=1, max=100)


class TRBM(SequenceRBM):
    """The Temporal RBM with hidden-to-hidden connections of ``delay`` steps."""

    kind = "trbm"

    def __init__(self, config: TRBMConfig, generator: torch.Generator | None = None) -> None:
        H = config.n_hidden
        super().__init__(config, (config.delay, H, H), generator)

    @property
    def history(self) -> int:  # type: ignore[override]
        return self.config.delay

    def _rec_input(self, states: list[Tensor]) -> Tensor:
        c = torch.addmm(self.b_h, states[-1], self.W_rec[0])
        for d in range(1, min(self.config.delay, len(states))):
            c = c.addmm_(states[-1 - d], self.W_rec[d])
        return c

    def _next_state(self, v: Tensor, c: Tensor, h: Tensor) -> Tensor:
        return h  # Algorithm 2: the binary hidden sample that drew this frame

    def _backprop(self, r: Tensor, G: Tensor) -> tuple[Tensor, Tensor | None]:
        return G, None  # the inferred past is treated as data

    def _rec_grad(self, r: Tensor, G: Tensor) -> Tensor:
        T, H = r.shape[1], r.shape[-1]
        out = torch.zeros_like(self.W_rec)
        for d in range(min(self.config.delay, T - 1)):
            out[d] = r[:, :T - 1 - d].reshape(-1, H).T @ G[:, 1 + d:].reshape(-1, H)
        return out
