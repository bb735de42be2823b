"""What the models of polyphonic music share: a frame distribution whose biases an RNN sets from the past.

Boulanger-Lewandowski, Bengio & Vincent ("Modeling Temporal Dependencies in High-Dimensional Sequences",
ICML 2012) model a piano roll ``v_1..v_T`` (binary frames of ``n_visible`` notes) one frame at a time. An RNN
reads the frames (Eq. 3, or a GRU)::

    u_t = tanh(b_u + W_uu u_{t-1} + W_vu v_t),        u_0 learned (the tutorial's list of improvements)

and frame t is drawn from a distribution whose biases depend on ``u_{t-1}`` (Eqs. 1-2)::

    b_v^(t) = b_v + W_uv u_{t-1}        b_h^(t) = b_h + W_uh u_{t-1}

an RBM (:mod:`engine.models.rnnrbm`), a NADE (:mod:`engine.models.rnnnade`), or independent notes (the
per-note RNN baseline, :mod:`engine.models.note_rnn`). So ``log P(v_1..v_T) = sum_t log P(v_t | u_{t-1})``.

:class:`FrameRNN` holds the RNN (``torch.nn.RNN``/``GRU``: ``weight_ih_l0`` is W_vu^T, ``weight_hh_l0`` W_uu^T,
their two biases sum to b_u), ``u0``, ``b_v`` and ``W_uv`` (row vectors: ``b_v^(t) = b_v + u_{t-1} @ W_uv``),
the trainer hooks for padded batches with a mask (``takes_masks``: pieces of different lengths), the
static pre-training phase (the frame model alone on single frames, the tutorial's "pre-training on
shuffled frames") and generation: :meth:`FrameRNN.generate` continues primed pieces frame by frame and can
clamp any notes to given values (re-harmonisation). A subclass defines the frame distribution.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import param

CELLS = ("tanh", "gru")


@dataclass
class FrameRNNConfig:
    n_visible: int = param(88, "Notes per frame (88: the piano keys A0-C8, or the data's lo-hi range).", min=1,
                           max=100_000)
    n_recurrent: int = param(100, "Units of the RNN that reads the past (the tutorial: 100).", min=1,
                             max=100_000)
    cell: str = param("tanh", "The RNN: the paper's tanh units (Eq. 3) or a GRU.", choices=CELLS)
    init_std: float = param(0.01, "Standard deviation of the initial weights.", min=0.0, max=10.0)
    pretrain_epochs: float = param(0.0, "Epochs of pre-training first: the frame model alone (its static "
                                   "biases, no RNN) on single frames, as the tutorial suggests.", min=0.0,
                                   max=10_000.0)
    dropout: float = param(0.0, "Training only: the chance that each unit of the RNN's state is dropped where it "
                           "sets the frame model's biases (a guard against overfitting small sets such as JSB).",
                           min=0.0, max=0.95)
    monitor_sequences: int = param(20, "Chunks of the monitor batch used for the curves.", min=1, max=100_000)


class MusicFrame(NamedTuple):
    """One item of :meth:`FrameRNN.generate`."""

    index: int  # which new frame: 0 is the first one after the prime
    step: int  # Gibbs step; ``gibbs_steps`` on the frame's final item (exact samplers yield only that one)
    mean: Tensor  # each note's probability, (n_seqs, V); clamped notes hold their values
    sample: Tensor  # the binary frame, (n_seqs, V); on the final item, the frame the piece continues from


def logit(p: Tensor, eps: float = 1e-3) -> Tensor:
    q = p.clamp(eps, 1 - eps)
    return torch.log(q / (1 - q))


class FrameRNN(nn.Module):
    """A sequence of binary frames, each from a distribution biased by an RNN of the past (module docstring)."""

    kind = ""
    #: the trainer hands it sequences (B, T, V) ...
    takes_sequences = True
    #: ... padded, with a (B, T) mask of the real frames
    takes_masks = True
    #: whether :meth:`frame_log_prob` is exact (the RNN-RBM's needs its partition functions, see AIS)
    exact_likelihood = True

    def __init__(self, config: FrameRNNConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        V, R = config.n_visible, config.n_recurrent
        if config.cell == "tanh":
            self.rnn: nn.RNNBase = nn.RNN(V, R, nonlinearity="tanh", batch_first=True)
        else:
            self.rnn = nn.GRU(V, R, batch_first=True)
        with torch.no_grad():
            for name, p in self.rnn.named_parameters():
                if name.startswith("weight"):
                    p.copy_(torch.randn(p.shape, generator=generator) * config.init_std)
                else:
                    p.zero_()
        self.u0 = nn.Parameter(torch.zeros(R))
        self.b_v = nn.Parameter(torch.zeros(V))
        self.W_uv = nn.Parameter(torch.randn(R, V, generator=generator) * config.init_std)
        self._epoch = 0.0

    # ----- what subclasses define -----
    def frame_log_prob(self, v: Tensor, u: Tensor | None) -> Tensor:
        """log P(v | u) per row of frames ``v`` (N, V) given states ``u`` (N, R) (None: the static biases).
        Differentiable."""
        raise NotImplementedError

    def sample_frame(self, u: Tensor, steps: int, temperature: float, generator: torch.Generator | None,
                     fixed: Tensor | None = None, clamp: Tensor | None = None, every: bool = False,
                     ) -> Iterator[tuple[int, Tensor, Tensor]]:
        """Draw one frame per row of ``u``: yields ``(step, mean, sample)``, the last with step ``steps``.
        Where ``clamp`` (n, V) is True the notes are ``fixed``, and the others are drawn given them."""
        raise NotImplementedError

    def frame_marginals(self, u: Tensor, generator: torch.Generator | None, samples: int = 100,
                        steps: int = 50) -> Tensor:
        """P(v_i = 1 | u) for each row of ``u``: (N, V), exact or a Monte Carlo estimate."""
        raise NotImplementedError

    # ----- the RNN -----
    def _as_seqs(self, x: Tensor | np.ndarray) -> Tensor:
        t = torch.as_tensor(x).to(self.b_v.device, self.b_v.dtype)
        return t.unsqueeze(0) if t.ndim == 2 else t

    def _h0(self, n: int) -> Tensor:
        return self.u0.expand(1, n, -1).contiguous()

    def states(self, v: Tensor) -> Tensor:
        """The state each frame is drawn given, ``u_{t-1}`` (``u_0`` for the first): (B, T, R)."""
        v = self._as_seqs(v)
        out, _ = self.rnn(v, self._h0(v.shape[0]))
        return torch.cat([self.u0.expand(v.shape[0], 1, -1), out[:, :-1]], 1)

    def advance(self, v: Tensor, u: Tensor) -> Tensor:
        """The next state after frames ``v`` (n, V) from states ``u`` (n, R)."""
        return self.rnn(v[:, None], u[None].contiguous())[1][0]

    def visible_bias(self, u: Tensor | None) -> Tensor:
        return self.b_v if u is None else torch.addmm(self.b_v, u, self.W_uv)

    def frames(self, v: Tensor, mask: Tensor | None = None, static: bool = False) -> tuple[Tensor, Tensor | None]:
        """The real frames (N, V) of padded sequences and the states they are drawn given (None: static)."""
        v = self._as_seqs(v)
        if mask is None:
            return v.reshape(-1, v.shape[-1]), None if static else self.states(v).reshape(-1, self.config.n_recurrent)
        mask = mask.to(v.device, torch.bool).reshape(v.shape[:2])
        return v[mask], None if static else self.states(v)[mask]

    def log_prob(self, v: Tensor | np.ndarray, mask: Tensor | None = None) -> Tensor:
        """sum_t log P(v_t | v_<t) per sequence, (B,): exact for the models with ``exact_likelihood``."""
        v = self._as_seqs(v)
        B, T, V = v.shape
        mask = torch.ones(B, T, dtype=torch.bool, device=v.device) if mask is None else mask.to(v.device, torch.bool)
        lp = torch.zeros(B, T, dtype=v.dtype, device=v.device)
        vf, u = self.frames(v, mask)
        lp[mask] = self.frame_log_prob(vf, u)
        return lp.sum(1)

    # ----- training (called by engine.training.trainer) -----
    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on the weight matrices, never on biases or the initial state."""
        decay = [p for n, p in self.named_parameters() if p.ndim == 2]
        rest = [p for n, p in self.named_parameters() if p.ndim != 2]
        return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]

    @torch.no_grad()
    def begin_training(self, data: Tensor, generator: torch.Generator | None) -> None:
        """Fresh start: the visible biases from the mean frame (its logit)."""
        frames = torch.as_tensor(data).reshape(-1, self.config.n_visible).to(self.b_v)
        self.b_v.copy_(logit(frames.mean(0)))

    def set_progress(self, epoch: float, progress: float) -> None:
        self._epoch = float(epoch)

    @property
    def static_phase(self) -> bool:
        return self._epoch < self.config.pretrain_epochs

    def _zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def training_step(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None) -> None:
        """Write -d/dθ of the mean log P(v_t | past) over the real frames into ``.grad`` (autograd: the
        likelihood is exact); in the static phase, of the frame model with its static biases alone."""
        self._zero_grad()
        with torch.enable_grad():
            vf, u = self.training_frames(v, mask, generator, static=self.static_phase)
            loss = -self.frame_log_prob(vf, u).mean()
            loss.backward()

    def training_frames(self, v: Tensor, mask: Tensor | None, generator: torch.Generator | None,
                        static: bool = False) -> tuple[Tensor, Tensor | None]:
        """:meth:`frames` with the states through :meth:`drop`: what a training step fits."""
        vf, u = self.frames(v, mask, static=static)
        return vf, self.drop(u, generator)

    def drop(self, u: Tensor | None, generator: torch.Generator | None) -> Tensor | None:
        """``u`` with each unit zeroed with probability ``dropout`` and the rest scaled up to keep its mean
        (inverted dropout; the trainer's generator draws, so a resumed run draws the same)."""
        p = self.config.dropout
        if u is None or not p:
            return u
        keep = torch.rand(u.shape, generator=generator, device=u.device) >= p
        return u * keep / (1 - p)

    def after_update(self) -> None:
        pass

    def _monitor_batch(self, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        n = self.config.monitor_sequences
        v = self._as_seqs(v)[:n]
        return v, None if mask is None else mask[:n]

    @torch.no_grad()
    def monitors(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None,
                 ) -> dict[str, float]:
        """Negative log-likelihood per frame (nats) of the first ``monitor_sequences`` chunks."""
        v, mask = self._monitor_batch(v, mask)
        vf, u = self.frames(v, mask)
        return {"nll_per_frame": -self.frame_log_prob(vf, u).mean().item()}

    def train_state(self) -> dict[str, Tensor]:
        return {}

    def load_train_state(self, state: dict[str, Tensor]) -> None:
        pass

    # ----- generation -----
    @torch.inference_mode()
    def generate(self, n_seqs: int = 1, n_frames: int = 64, gibbs_steps: int = 25,
                 prime: Tensor | np.ndarray | None = None, generator: torch.Generator | None = None,
                 every_gibbs: bool = False, feed_mean: bool = False, *, fixed: Tensor | np.ndarray | None = None,
                 mask: Tensor | np.ndarray | None = None, temperature: float = 1.0) -> Iterator[MusicFrame]:
        """Draw ``n_frames`` new frames of ``n_seqs`` pieces, one at a time.

        ``prime`` ((P, V) or (n_seqs, P, V) frames) is read by the RNN first and the pieces continue after
        it. ``mask`` ((n_frames, V) or (n_seqs, n_frames, V) bools) clamps the notes where it is True to
        ``fixed`` (the same shape): the other notes of a frame are drawn given them (exactly for the
        note RNN, by Gibbs sampling with the clamped notes fixed for the RNN-RBM, by importance resampling
        for the RNN-NADE), a frame with every note clamped is just read. So re-harmonising bars t0..t1 of a
        piece outside a pitch range is ``prime=roll[:t0]``, ``fixed=roll[t0:t1]``, ``mask`` True outside the
        range. ``gibbs_steps``: Gibbs steps per frame (the RNN-RBM; the tutorial uses 25), ``temperature``
        divides the log-probabilities (below 1: safer, above 1: wilder). Yields :class:`MusicFrame` when each
        frame is done, or each Gibbs step with ``every_gibbs``; the sampled frame feeds the RNN, or its
        means with ``feed_mean``. The signature begins like the RTRBM's, so a video job can drive it too.
        """
        if gibbs_steps < 1:
            raise ValueError("generating a frame needs at least one Gibbs step")
        if not temperature > 0:
            raise ValueError(f"temperature must be above 0, not {temperature}")
        V = self.config.n_visible
        u = self.u0.expand(n_seqs, -1)
        if prime is not None and len(self._as_seqs(prime)[0]):
            p = self._as_seqs(prime)
            if p.shape[0] == 1 and n_seqs > 1:
                p = p.expand(n_seqs, -1, -1)
            elif p.shape[0] != n_seqs:
                raise ValueError(f"{p.shape[0]} primed pieces for {n_seqs} pieces")
            _, last = self.rnn(p.contiguous(), self._h0(n_seqs))
            u = last[0]
        if (mask is None) != (fixed is None):
            raise ValueError("clamping needs both mask and fixed")
        if mask is not None:
            mask = torch.as_tensor(mask).to(self.b_v.device, torch.bool)
            fixed = self._as_seqs(fixed)
            mask = mask.unsqueeze(0) if mask.ndim == 2 else mask
            if mask.shape[-2:] != (n_frames, V) or fixed.shape[-2:] != (n_frames, V):
                raise ValueError(f"mask and fixed must be ({n_frames}, {V}) for {n_frames} new frames of {V} notes")
            mask, fixed = mask.expand(n_seqs, -1, -1), fixed.expand(n_seqs, -1, -1)
        for index in range(n_frames):
            clamp = None if mask is None else mask[:, index]
            fx = None if fixed is None else fixed[:, index]
            if clamp is not None and bool(clamp.all()):
                mean = sample = fx
                yield MusicFrame(index, gibbs_steps, mean, sample)
            else:
                if clamp is not None and not bool(clamp.any()):
                    clamp = fx = None
                for step, mean, sample in self.sample_frame(u, gibbs_steps, temperature, generator, fx, clamp,
                                                            every_gibbs):
                    yield MusicFrame(index, step, mean, sample)
            u = self.advance(mean if feed_mean else sample, u)

    def sample_pieces(self, n_seqs: int, n_frames: int, gibbs_steps: int = 25,
                      prime: Tensor | np.ndarray | None = None, generator: torch.Generator | None = None,
                      **kwargs: Any) -> Tensor:
        """:meth:`generate`, collected: the binary frames, (n_seqs, n_frames, V)."""
        frames = [f.sample for f in self.generate(n_seqs, n_frames, gibbs_steps, prime, generator, **kwargs)
                  if f.step == gibbs_steps]
        return torch.stack(frames, 1)


def bernoulli_log_prob(v: Tensor, logits: Tensor) -> Tensor:
    """sum_i log P(v_i) of independent notes with these logits, per row."""
    return (v * logits - F.softplus(logits)).sum(-1)
