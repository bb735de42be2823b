"""The RNN-NADE of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012): the RNN-RBM with each frame's RBM
replaced by a NADE (Larochelle & Murray, AISTATS 2011), so the likelihood is exact and sampling is exact
and fast.

Frame t's notes are drawn in order, lowest pitch first, each given the ones below it::

    h_i = sigmoid(b_h^(t) + sum_{j<i} v_j W_j)          P(v_i = 1 | v_<i) = sigmoid(b_v,i^(t) + h_i . U_i)

with ``W`` (V, H) the input weights, ``U`` (V, H) the output weights, and the biases set by the RNN state
as in the RNN-RBM (``b_v^(t) = b_v + u_{t-1} @ W_uv``, ``b_h^(t) = b_h + u_{t-1} @ W_uh``; the RNN:
:mod:`engine.models.recurrent`). Training maximises the exact log-likelihood by backpropagation through
the NADE and through time.

Cost: the hidden pre-activation changes only at the notes that sound, so a frame with K notes has K + 1
distinct hidden vectors. :func:`nade_logits` computes those (a cumulative sum over the sounding notes'
rows of ``W``) and every note's logit from the hidden vector of its segment, one (N, K + 1, H) x (H, V)
matmul, instead of the textbook V sigmoid layers per frame: polyphony is at most 4 in JSB chorales and 15
in MuseData, against 88 notes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import param
from engine.models.recurrent import FrameRNN, FrameRNNConfig, bernoulli_log_prob


@dataclass
class RNNNADEConfig(FrameRNNConfig):
    n_hidden: int = param(150, "Hidden units of each frame's NADE.", min=1, max=100_000)
    proposals: int = param(64, "Re-harmonising: frames drawn per frame with some notes clamped, one of them "
                           "kept by importance resampling.", min=1, max=100_000)


def nade_logits(v: Tensor, b: Tensor, c: Tensor, W: Tensor, U: Tensor) -> Tensor:
    """The logit of P(v_i = 1 | v_<i) for every note of every row of ``v`` (N, V), each row with its own
    biases ``b`` (N, V) and ``c`` (N, H): (N, V). Differentiable (see the module docstring for how)."""
    N, V = v.shape
    on = v > 0.5
    K = int(on.sum(1).max()) if N else 0
    # the sounding notes of each row in pitch order, padded with index V (a zero row of W)
    idx = torch.where(on, torch.arange(V, device=v.device), V).sort(1).values[:, :K]
    W_pad = torch.cat([W, W.new_zeros(1, W.shape[1])])
    A = torch.cat([c[:, None, :], c[:, None, :] + W_pad[idx].cumsum(1)], 1)  # (N, K + 1, H)
    L = torch.sigmoid(A) @ U.T  # (N, K + 1, V): every note's logit from every segment's hidden vector
    seg = (on.cumsum(1) - on.long()).clamp_max(K)  # notes sounding below each note: its segment
    return L.gather(1, seg[:, None, :]).squeeze(1) + b


class RNNNADE(FrameRNN):
    kind = "rnnnade"

    def __init__(self, config: RNNNADEConfig, generator: torch.Generator | None = None) -> None:
        super().__init__(config, generator)
        V, H, R = config.n_visible, config.n_hidden, config.n_recurrent
        self.W = nn.Parameter(torch.randn(V, H, generator=generator) * config.init_std)
        self.U = nn.Parameter(torch.randn(V, H, generator=generator) * config.init_std)
        self.b_h = nn.Parameter(torch.zeros(H))
        self.W_uh = nn.Parameter(torch.randn(R, H, generator=generator) * config.init_std)

    def biases(self, u: Tensor | None, n: int) -> tuple[Tensor, Tensor]:
        if u is None:
            return self.b_v.expand(n, -1), self.b_h.expand(n, -1)
        return torch.addmm(self.b_v, u, self.W_uv), torch.addmm(self.b_h, u, self.W_uh)

    def frame_log_prob(self, v: Tensor, u: Tensor | None) -> Tensor:
        b, c = self.biases(u, len(v))
        return bernoulli_log_prob(v, nade_logits(v, b, c, self.W, self.U))

    # ----- sampling -----
    def _ancestral(self, b: Tensor, c: Tensor, generator: torch.Generator | None, temperature: float = 1.0,
                   fixed: Tensor | None = None, clamp: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """One exact draw per row, note by note: the frames (n, V), each note's probability given the notes
        below it (n, V), and the log-probability of the clamped notes' values (n,): the importance weight
        of a draw that took them as given."""
        n, V = b.shape
        a = c.clone()
        v, p = torch.empty_like(b), torch.empty_like(b)
        log_w = b.new_zeros(n)
        uniform = torch.empty_like(b).uniform_(generator=generator)
        for i in range(V):
            logit_i = torch.addmv(b[:, i], torch.sigmoid(a), self.U[i])
            if temperature != 1.0:
                logit_i = logit_i / temperature
            p_i = torch.sigmoid(logit_i)
            x = (uniform[:, i] < p_i).to(b.dtype)
            if clamp is not None:
                ci = clamp[:, i]
                x = torch.where(ci, fixed[:, i], x)
                log_w += torch.where(ci, x * logit_i - F.softplus(logit_i), 0.0)
            v[:, i], p[:, i] = x, p_i
            a.addr_(x, self.W[i])
        return v, p, log_w

    def sample_frame(self, u: Tensor, steps: int, temperature: float, generator: torch.Generator | None,
                     fixed: Tensor | None = None, clamp: Tensor | None = None, every: bool = False,
                     ) -> Iterator[tuple[int, Tensor, Tensor]]:
        """An exact draw, note by note (no Gibbs steps: one item, step ``steps``). With clamped notes,
        ``proposals`` draws that take the clamped values as given, one kept with probability proportional
        to the clamped notes' probability under the NADE (sampling-importance-resampling: exact as the
        number of proposals grows); the mean is the weighted average of the proposals."""
        b, c = self.biases(u, len(u))
        if clamp is None:
            v, p, _ = self._ancestral(b, c, generator, temperature)
            yield steps, p, v
            return
        n, P = len(u), self.config.proposals
        rep = lambda t: t.repeat_interleave(P, 0)  # noqa: E731
        v, _, log_w = self._ancestral(rep(b), rep(c), generator, temperature, rep(fixed), rep(clamp))
        w = torch.softmax(log_w.view(n, P), 1)
        r = torch.rand(n, 1, generator=generator, device=w.device, dtype=w.dtype)
        pick = (w.cumsum(1) < r).sum(1).clamp_max(P - 1)  # inverse CDF: multinomial is slow on busy cores
        v = v.view(n, P, -1)
        yield steps, (w[:, :, None] * v).sum(1), v[torch.arange(n, device=v.device), pick]

    @torch.no_grad()
    def frame_marginals(self, u: Tensor, generator: torch.Generator | None, samples: int = 10,
                        steps: int = 50) -> Tensor:
        """P(v_i = 1 | u), Rao-Blackwellised: each note's probability given the notes below it, averaged over
        ``samples`` exact draws of those notes."""
        b, c = self.biases(u.repeat(samples, 1), samples * len(u))
        _, p, _ = self._ancestral(b, c, generator)
        return p.view(samples, len(u), -1).mean(0)
