"""The RNN-RBM of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012) and of the deeplearning.net tutorial.

Frame t is drawn from an RBM with weights ``W`` (V, H) and biases set by the RNN state ``u_{t-1}``
(Eqs. 1-2; the RNN and what the models of music share: :mod:`engine.models.recurrent`)::

    b_v^(t) = b_v + u_{t-1} @ W_uv        b_h^(t) = b_h + u_{t-1} @ W_uh

Training (the tutorial's cost): for each real frame, CD-k in its RBM (the tutorial: k = 15) gives the
gradient of ``log P(v_t | u_{t-1})`` with respect to ``W`` and to the frame's biases, ``dL/db_v^(t) = v_t -
v*_t`` and ``dL/db_h^(t) = sigmoid(W v_t + b_h^(t)) - sigmoid(W v*_t + b_h^(t))``; those are backpropagated
through time into ``W_uv``, ``W_uh``, the RNN and ``u_0`` (autograd does that part; the RBM part, where the
time goes, is written by hand as in :mod:`engine.models.rbm`: all B*T chains of a batch run as one batch of
big matmuls). Gradients are averaged over the real frames of the batch. With ``exact`` (tiny models) the
model expectations are exact sums over the hidden states, so the gradient is the exact one. The tutorial's
improvements are here: a learned ``u_0``, pre-training the RBM on single frames (``pretrain_epochs``),
pre-training the RNN by the cross-entropy of independent notes (``rnn_pretrain_epochs``, the paper's
initialisation), gradient clipping and Adam or Nesterov momentum (``grad_clip``, ``optimizer`` of the
trainer).

Generation: each frame is ``gibbs_steps`` of block Gibbs in its RBM (the tutorial: 25), from the empty frame.
The likelihood needs each frame's partition function: :func:`engine.evaluation.ais.ais_frames` estimates
them all at once, and :meth:`RNNRBM.log_partition_exact` sums them for tiny models.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import param
from engine.models.sampling import Bernoulli16, sample_bernoulli
from engine.models.recurrent import FrameRNN, FrameRNNConfig, bernoulli_log_prob
from engine.models.rtrbm import bernoulli_into, hidden_states

#: exact log Z and exact gradients sum over 2^n_hidden hidden states per frame
MAX_EXACT_HIDDEN = 16


@dataclass
class RNNRBMConfig(FrameRNNConfig):
    n_hidden: int = param(150, "Hidden units of each frame's RBM (the tutorial: 150).", min=1, max=100_000)
    rnn_pretrain_epochs: float = param(0.0, "Epochs that then pre-train the RNN alone (W_uv and the RNN) to "
                                       "predict each note independently by cross-entropy, as the paper "
                                       "initialises it, before the whole model trains.", min=0.0, max=10_000.0)
    k: int = param(15, "Gibbs steps of contrastive divergence per update (the tutorial: CD-15).", min=1,
                   max=1000)
    exact: bool = param(False, "Tiny models only: exact expectations of each frame's RBM (a sum over all "
                        "2^n_hidden hidden states) instead of CD; for checking gradients.")

    def validate(self) -> None:
        if self.exact and self.n_hidden > MAX_EXACT_HIDDEN:
            raise ValueError(f"exact gradients enumerate 2^n_hidden states: at most {MAX_EXACT_HIDDEN} hidden "
                             f"units, not {self.n_hidden}")


class RNNRBM(FrameRNN):
    kind = "rnnrbm"
    exact_likelihood = False

    def __init__(self, config: RNNRBMConfig, generator: torch.Generator | None = None) -> None:
        super().__init__(config, generator)
        self._bern = Bernoulli16()  # the training chains' sampler
        V, H, R = config.n_visible, config.n_hidden, config.n_recurrent
        self.W = nn.Parameter(torch.randn(V, H, generator=generator) * config.init_std)
        self.b_h = nn.Parameter(torch.zeros(H))
        self.W_uh = nn.Parameter(torch.randn(R, H, generator=generator) * config.init_std)

    # ----- each frame's RBM -----
    def biases(self, u: Tensor | None, n: int | None = None) -> tuple[Tensor, Tensor]:
        """The visible and hidden biases of the RBMs of states ``u`` (N, R): (N, V), (N, H); None: the static
        biases, expanded to ``n`` rows when given."""
        if u is None:
            if n is None:
                return self.b_v, self.b_h
            return self.b_v.expand(n, -1), self.b_h.expand(n, -1)
        return torch.addmm(self.b_v, u, self.W_uv), torch.addmm(self.b_h, u, self.W_uh)

    def hidden_probs(self, v: Tensor, c: Tensor, out: Tensor | None = None) -> Tensor:
        return torch.sigmoid_(torch.addmm(c, v, self.W, out=out))

    def visible_mean(self, h: Tensor, b: Tensor, out: Tensor | None = None) -> Tensor:
        return torch.sigmoid_(torch.addmm(b, h, self.W.T, out=out))

    def neg_free_energy(self, v: Tensor, b: Tensor, c: Tensor) -> Tensor:
        """-F(v) = v.b + sum_j softplus(c_j + v.W_j), per row (each row its own biases)."""
        return (v * b).sum(-1) + F.softplus(torch.addmm(c, v, self.W)).sum(-1)

    def log_partition_exact(self, b: Tensor, c: Tensor, chunk: int = 256) -> Tensor:
        """log Z of each row's RBM by summing over the hidden states (tiny models): (N,). Differentiable."""
        H = self.config.n_hidden
        if H > MAX_EXACT_HIDDEN:
            raise ValueError(f"exact log Z enumerates 2^n_hidden states: at most {MAX_EXACT_HIDDEN} hidden units, "
                             f"not {H}; use AIS")
        hs = hidden_states(H, b.dtype, b.device)
        hW = hs @ self.W.T  # (S, V)
        out = []
        for i in range(0, len(b), chunk):
            bi, ci = b[i:i + chunk], c[i:i + chunk]
            terms = ci @ hs.T + F.softplus(bi[:, None, :] + hW[None]).sum(-1)
            out.append(torch.logsumexp(terms, 1))
        return torch.cat(out) if out else b.new_zeros(0)

    def frame_log_prob(self, v: Tensor, u: Tensor | None, log_z: Tensor | None = None) -> Tensor:
        """log P(v | u) per row: ``-F(v) - log Z``, with ``log_z`` given (from AIS) or exact (tiny models)."""
        b, c = self.biases(u, len(v))
        if log_z is None:
            log_z = self.log_partition_exact(b, c)
        return self.neg_free_energy(v, b, c) - log_z

    def _exact_stats(self, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Exact model expectations of each row's RBM: E[v] (N, V), E[h] (N, H) and sum over rows of E[v h^T]."""
        hs = hidden_states(self.config.n_hidden, b.dtype, b.device)
        pre = b[:, None, :] + (hs @ self.W.T)[None]  # (N, S, V)
        pi = torch.softmax(c @ hs.T + F.softplus(pre).sum(-1), 1)  # P(h = state s) per row
        ev = torch.sigmoid(pre)
        Ev = torch.einsum("ns,nsv->nv", pi, ev)
        return Ev, pi @ hs, torch.einsum("ns,nsv,sh->vh", pi, ev, hs)

    def _cd_chain(self, v0: Tensor, p0: Tensor, b: Tensor, c: Tensor, k: int, generator: torch.Generator | None,
                  ) -> tuple[Tensor, Tensor]:
        """k steps of block Gibbs from the data: the last visible sample and its hidden probabilities."""
        bern = self._bern
        h = bern(p0, generator, out=torch.empty_like(p0))
        probs, mean, v = torch.empty_like(p0), torch.empty_like(v0), torch.empty_like(v0)
        for step in range(k):
            if step:
                h = bern(self.hidden_probs(v, c, out=probs), generator, out=h)
            v = bern(self.visible_mean(h, b, out=mean), generator, out=v)
        return v, self.hidden_probs(v, c, out=probs)

    @property
    def rnn_phase(self) -> bool:
        cfg = self.config
        return cfg.pretrain_epochs <= self._epoch < cfg.pretrain_epochs + cfg.rnn_pretrain_epochs

    def training_step(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None) -> None:
        """Write the CD-k estimate of -d/dθ of the mean log P(v_t | u_{t-1}) over the real frames into ``.grad``
        (the module docstring); in the static phase, of the RBM with its static biases alone; in the RNN
        phase, of the cross-entropy of independent notes with logits ``b_v + u_{t-1} @ W_uv`` (b_v held)."""
        self._zero_grad()
        if self.rnn_phase:
            with torch.enable_grad():
                vf, u = self.training_frames(v, mask, generator)
                logits = torch.addmm(self.b_v.detach(), u, self.W_uv)
                (-bernoulli_log_prob(vf, logits).mean()).backward()
            return
        with torch.enable_grad():
            vf, u = self.training_frames(v, mask, generator, static=self.static_phase)
            b, c = self.biases(u, len(vf))
        N = len(vf)
        with torch.no_grad():
            bd, cd = b.detach(), c.detach()
            p0 = self.hidden_probs(vf, cd)
            if self.config.exact:
                Ev, Eh, Evh = self._exact_stats(bd, cd)
            else:
                Ev, Eh = self._cd_chain(vf, p0, bd, cd, self.config.k, generator)
                Evh = Ev.T @ Eh
            s = -1.0 / N
            self.W.grad = (vf.T @ p0).sub_(Evh).mul_(s)
            g_b = (vf - Ev).mul_(s)
            g_c = p0.sub_(Eh).mul_(s)
        torch.autograd.backward([b, c], [g_b, g_c])

    @torch.no_grad()
    def monitors(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None,
                 ) -> dict[str, float]:
        """Per frame, on the first ``monitor_sequences`` chunks: the cross-entropy of a mean-field
        reconstruction (the tutorial's monitor) and a stochastic pseudo-negative-log-likelihood
        (V * -log P(v_i | v_-i) for one random note i of each frame)."""
        v, mask = self._monitor_batch(v, mask)
        vf, u = self.frames(v, mask)
        b, c = self.biases(u, len(vf))
        recon = self.visible_mean(self.hidden_probs(vf, c), b)
        xent = -(vf * torch.log(recon.clamp_min(1e-7)) + (1 - vf) * torch.log((1 - recon).clamp_min(1e-7)))
        V = vf.shape[1]
        rows = torch.arange(len(vf), device=vf.device)
        i = torch.randint(V, (len(vf),), generator=generator, device=vf.device)
        flipped = vf.clone()
        flipped[rows, i] = 1 - flipped[rows, i]
        pll = -V * F.logsigmoid(self.neg_free_energy(vf, b, c) - self.neg_free_energy(flipped, b, c))
        return {"recon_xent": xent.sum(1).mean().item(), "pseudo_nll_per_frame": pll.mean().item()}

    # ----- sampling -----
    def sample_frame(self, u: Tensor, steps: int, temperature: float, generator: torch.Generator | None,
                     fixed: Tensor | None = None, clamp: Tensor | None = None, every: bool = False,
                     ) -> Iterator[tuple[int, Tensor, Tensor]]:
        """``steps`` of block Gibbs in each row's RBM (energies divided by ``temperature``) from the empty
        frame, the clamped notes held at their values."""
        b, c = self.biases(u, len(u))
        W = self.W
        if temperature != 1.0:
            b, c, W = b / temperature, c / temperature, W / temperature
        v = torch.zeros_like(b)
        if clamp is not None:
            v = torch.where(clamp, fixed, v)
        for step in range(1, steps + 1):
            h = sample_bernoulli(torch.sigmoid(torch.addmm(c, v, W)), generator)
            mean = torch.sigmoid(torch.addmm(b, h, W.T))
            v = sample_bernoulli(mean, generator)
            if clamp is not None:
                v = torch.where(clamp, fixed, v)
                mean = torch.where(clamp, fixed, mean)
            if every or step == steps:
                yield step, mean, v

    @torch.no_grad()
    def frame_marginals(self, u: Tensor, generator: torch.Generator | None, samples: int = 10,
                        steps: int = 50) -> Tensor:
        """P(v_i = 1 | u) estimated by ``samples`` Gibbs chains of ``steps`` steps per row (from the empty
        frame), averaging the visible means over the second half of each chain."""
        n = len(u)
        b, c = self.biases(u.repeat(samples, 1), None)
        v = torch.zeros_like(b)
        h, probs, mean = torch.empty_like(c), torch.empty_like(c), torch.empty_like(b)
        acc, count = torch.zeros_like(b), 0
        for step in range(1, steps + 1):
            h = bernoulli_into(self.hidden_probs(v, c, out=probs), generator, h)
            self.visible_mean(h, b, out=mean)
            v = bernoulli_into(mean, generator, v)
            if step > steps // 2:
                acc += mean
                count += 1
        return (acc / count).view(samples, n, -1).mean(0)
