"""The per-note RNN baseline: the RNN of :mod:`engine.models.recurrent` with independent notes in each
frame, ``P(v_i^(t) = 1 | past) = sigmoid(b_v + u_{t-1} @ W_uv)_i`` (the "RNN" row of Boulanger-Lewandowski
et al.'s Table 1). Exact likelihood, exact sampling; what the RNN-RBM and RNN-NADE add is the dependence
between the notes of a frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from engine.config import param
from engine.models.sampling import sample_bernoulli
from engine.models.recurrent import CELLS, FrameRNN, FrameRNNConfig, bernoulli_log_prob


@dataclass
class NoteRNNConfig(FrameRNNConfig):
    n_recurrent: int = param(150, "Units of the RNN that reads the past.", min=1, max=100_000)
    cell: str = param("tanh", "The RNN: tanh units or a GRU.", choices=CELLS)


class NoteRNN(FrameRNN):
    kind = "note_rnn"

    def logits(self, u: Tensor | None) -> Tensor:
        return self.visible_bias(u)

    def frame_log_prob(self, v: Tensor, u: Tensor | None) -> Tensor:
        return bernoulli_log_prob(v, self.logits(u).expand_as(v))

    def sample_frame(self, u: Tensor, steps: int, temperature: float, generator: torch.Generator | None,
                     fixed: Tensor | None = None, clamp: Tensor | None = None, every: bool = False,
                     ) -> Iterator[tuple[int, Tensor, Tensor]]:
        """Independent notes: clamping some changes nothing for the others."""
        p = torch.sigmoid(self.logits(u) / temperature)
        v = sample_bernoulli(p, generator)
        if clamp is not None:
            v, p = torch.where(clamp, fixed, v), torch.where(clamp, fixed, p)
        yield steps, p, v

    @torch.no_grad()
    def frame_marginals(self, u: Tensor, generator: torch.Generator | None, samples: int = 10,
                        steps: int = 50) -> Tensor:
        return torch.sigmoid(self.logits(u))
