"""The Recurrent Ladder (RLadder) of Prémont-Schwarz, Ilin, Hao, Rasmus, Boney & Valpola ("Recurrent Ladder
Networks", NIPS 2017): a Ladder network (Rasmus et al. 2015) run over time, one pass of its encoder and decoder
per frame, so that each pass refines the last one's interpretation of the sequence.

At step t, level l = 1..L of the encoder is a cell with a state (Sec. 2, Eqs. 1-2)::

    s_t^l = f^l(e_t^{l-1}, d_{t-1}^l, s_{t-1}^l),    e_t^l = the cell's output,    e_t^0 = x_t - x_mean

and the stateless decoder goes back down (Eq. 3)::

    d_t^l = g^l(e_t^l, d_t^{l+1}),    d_t^L = e_t^L (the top turns the ladder round)

so the encoder at t sees its own past and, through the decoder-to-encoder connections d_{t-1}^l -> f^l
(l < L), the top-down interpretation of step t-1. The bottom decoder's output d_t^0 gives the next frame:
``P(x_{t+1,i} = 1 | x_1..x_t) = sigmoid(b_out + d_t^0)_i`` (the first frame: ``sigmoid(b_first)``), so
``log P(x_1..x_T) = sum_t log P(x_t | x_<t)`` exactly, as for the models of :mod:`engine.models.recurrent`;
a softmax on e_t^L classifies the sequence at every step. The cost is ``predict_weight`` x the Bernoulli
NLL per frame plus ``class_weight`` x the softmax cross-entropy per step (the label, when the data has one).

The encoder cells are GRUs or LSTMs whose gates are N(W_x e_t^{l-1}) + W_d d_{t-1}^l + W_h h_{t-1}^l, with N a
layer (or batch) normalisation: dense on the flattened frame (``frame="dense"``: music, small videos), or, with
``frame="conv"``, convolutional (3x3, W_x of stride 2, so each level halves a square frame) under a dense top
cell. Decoder cells (Appendix A), with h(u) = a1 sigmoid(a2 u + a3) + a4 u + a5 per unit (or channel) and
A, B, V, W linear maps (3x3 convolutions on conv levels, after a 2x upsampling on the way down):

* ``g1`` (G1, the Ladder's combinator): u = N(V d^{l+1}); d^l = e^l * v(u) + mu(u) * (1 - v(u)), with mu and
  v two functions h;
* ``g2`` (convG2): u_i = N(A_i d^{l+1} + B_i e^l), i = 1..3; d^l = h_1(u_1) * s + h_2(u_2) * (1 - s),
  s = sigmoid(u_3);
* ``g3`` (convG3): u = relu(h(N(A d^{l+1} + B e^l))); d^l = W_1 u * s + W_2 u * (1 - s), s = sigmoid(W_3 u).

The paper's ablations are switches: ``decoder`` off (no decoder, hence no top-down path and no prediction),
``dec2enc`` off (the encoder cells no longer receive d_{t-1}^l; the decoder still predicts), ``predict`` off
(no bottom decoder, no prediction cost), and ``temporal_baseline`` (levels 1..L-1 feed-forward, e^l =
relu(N(W e^{l-1})), a recurrent cell on top only, no decoder).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import param
from engine.models.recurrent import bernoulli_log_prob, logit

FRAMES = ("dense", "conv")
CELLS = ("gru", "lstm")
DECODER_CELLS = ("g1", "g2", "g3")
NORMS = ("layer", "batch", "none")


@dataclass
class LadderConfig:
    n_visible: int = param(1024, "Values per frame: the pixels of a flattened video frame (occluded Moving MNIST: "
                           "32x32 = 1024) or the notes of a piano roll (88).", min=1, max=1_000_000)
    n_classes: int = param(10, "Classes of the sequences' labels (the digits: 10), predicted at every step from "
                           "the top level; 0: no classifier.", min=0, max=100_000)
    frame: str = param("dense", "dense: every level a GRU/LSTM on the flattened frame; conv: levels 1..L-1 "
                       "convolutional on a square frame, halving it at each level, the top level dense.",
                       choices=FRAMES)
    n_levels: int = param(3, "Levels L of the encoder (the decoder has one more, the prediction at the bottom).",
                          min=1, max=8)
    n_units: int = param(256, "Units of each dense level.", min=1, max=100_000)
    channels: int = param(16, "Channels of each convolutional level (frame=conv).", min=1, max=4096)
    cell: str = param("gru", "The encoder cells (Eqs. 1-2): GRU or LSTM, convolutional on conv levels.",
                      choices=CELLS)
    decoder_cell: str = param("g3", "The decoder cells (Eq. 3, Appendix A): G1 (the Ladder's combinator), "
                              "convG2 or convG3 (dense maps on dense levels).", choices=DECODER_CELLS)
    norm: str = param("layer", "Normalisation of the encoder cells' bottom-up input and of the decoder cells' "
                      "pre-activations: per example (layer), or by the statistics of each batch and step (batch, "
                      "as in the Ladder; needs more than one sequence at a time).", choices=NORMS)
    decoder: bool = param(True, "The decoder, the top-down path; off: no decoder and so no prediction (the "
                          "paper's 'RLadder w/o decoder').")
    dec2enc: bool = param(True, "Decoder-to-encoder connections: d_{t-1}^l feeds encoder cell l at step t (off: "
                          "the paper's ablation).", label="Decoder to encoder")
    predict: bool = param(True, "Predict the next frame at the bottom of the decoder and train on it (off: 'w/o "
                          "prediction task').")
    temporal_baseline: bool = param(False, "The paper's temporal baseline instead: a feed-forward encoder with a "
                                    "recurrent cell on top only, and no decoder.")
    predict_weight: float = param(1.0, "Weight of the prediction cost (Bernoulli NLL per frame).", min=0.0,
                                  max=1e6)
    class_weight: float = param(1.0, "Weight of the classification cost (cross-entropy per step).", min=0.0,
                                max=1e6)
    monitor_sequences: int = param(100, "Sequences of the monitor batch used for the curves.", min=1,
                                   max=100_000)

    @property
    def top_down(self) -> bool:
        return self.decoder and not self.temporal_baseline

    @property
    def predicts(self) -> bool:
        return self.top_down and self.predict

    def validate(self) -> None:
        if not (self.predicts or self.n_classes):
            raise ValueError("this ladder would learn nothing: give it a classifier (n_classes) or the prediction "
                             "task (decoder and predict on, no temporal baseline)")
        if self.frame == "conv":
            side = math.isqrt(self.n_visible)
            if side * side != self.n_visible:
                raise ValueError(f"frame=conv needs square frames; {self.n_visible} values are not")
            if self.n_levels < 2 or side % 2 ** (self.n_levels - 1):
                raise ValueError(f"frame=conv needs at least 2 levels and a side ({side}) divisible by "
                                 f"2^(n_levels - 1)")


class State(NamedTuple):
    """What one step hands the next: each encoder level's state, and the decoder's outputs d_t^l (None where
    there is none)."""

    s: list[Any]
    d: list[Tensor | None]


class Pass(NamedTuple):
    """A sequence read by :meth:`RLadder.run`."""

    enc: list[Tensor]  # e^l, l = 0..L: (B, T, *shape of level l); e^0 is the centred input
    dec: list[Tensor | None]  # d^l, l = 0..L (None where there is no decoder cell)
    next_logits: Tensor | None  # (B, T, D): after step t, the logits of frame t+1
    class_logits: Tensor | None  # (B, T, n_classes)


# ----- building blocks -----
def _norm(kind: str, shape: tuple[int, ...]) -> nn.Module:
    """Layer or batch normalisation of activations of ``shape`` ((n,) or (C, H, W)); batch norm keeps no running
    statistics, so training and evaluation compute the same function."""
    if kind == "none":
        return nn.Identity()
    if kind == "layer":
        return nn.LayerNorm(shape[0]) if len(shape) == 1 else nn.GroupNorm(1, shape[0])
    return (nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d)(shape[0], track_running_stats=False)


def _lateral(shape: tuple[int, ...], n_out: int, bias: bool = True) -> nn.Module:
    """A map within a level: dense, or a 3x3 convolution."""
    return nn.Linear(shape[0], n_out, bias) if len(shape) == 1 else nn.Conv2d(shape[0], n_out, 3, padding=1,
                                                                               bias=bias)


def _downward(src: tuple[int, ...], dst: tuple[int, ...], n_out: int) -> nn.Module:
    """A map from level l+1 (``src``) to level l (``dst``), ``n_out`` units or channels."""
    if len(dst) == 1:
        return nn.Linear(src[0], n_out)
    if len(src) == 1:  # the dense top into the highest conv level
        return nn.Sequential(nn.Linear(src[0], n_out * dst[1] * dst[2]), nn.Unflatten(1, (n_out, *dst[1:])))
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(src[0], n_out, 3, padding=1))


class Elementwise(nn.Module):
    """h(u) = a1 sigmoid(a2 u + a3) + a4 u + a5, with parameters per unit or channel (the Ladder's)."""

    def __init__(self, shape: tuple[int, ...], a1: float = 0.0, a4: float = 1.0) -> None:
        super().__init__()
        a = torch.tensor([a1, 1.0, 0.0, a4, 0.0]).view(5, *[1] * len(shape))
        self.a = nn.Parameter(a.expand(5, shape[0], *[1] * (len(shape) - 1)).clone())

    def forward(self, u: Tensor) -> Tensor:
        a = self.a
        return a[0] * torch.sigmoid(a[1] * u + a[2]) + a[3] * u + a[4]


class G1(nn.Module):
    """G1: u = N(V d); e * v(u) + mu(u) * (1 - v(u)). At first mu(u) = u and v(u) = sigmoid(u)."""

    def __init__(self, src: tuple[int, ...], dst: tuple[int, ...], norm: str) -> None:
        super().__init__()
        self.v, self.norm = _downward(src, dst, dst[0]), _norm(norm, dst)
        self.mu, self.gate = Elementwise(dst), Elementwise(dst, a1=1.0, a4=0.0)

    def forward(self, e: Tensor, d: Tensor) -> Tensor:
        u = self.norm(self.v(d))
        v = self.gate(u)
        return e * v + self.mu(u) * (1 - v)


class G2(nn.Module):
    """convG2: u_i = N(A_i d + B_i e); h_1(u_1) * s + h_2(u_2) * (1 - s), s = sigmoid(u_3)."""

    def __init__(self, src: tuple[int, ...], dst: tuple[int, ...], norm: str) -> None:
        super().__init__()
        n = dst[0]
        self.a, self.b = _downward(src, dst, 3 * n), _lateral(dst, 3 * n, bias=False)
        self.norms = nn.ModuleList(_norm(norm, dst) for _ in range(3))
        self.h1, self.h2 = Elementwise(dst), Elementwise(dst)

    def forward(self, e: Tensor, d: Tensor) -> Tensor:
        u1, u2, u3 = (n(u) for n, u in zip(self.norms, (self.a(d) + self.b(e)).chunk(3, 1)))
        s = torch.sigmoid(u3)
        return self.h1(u1) * s + self.h2(u2) * (1 - s)


class G3(nn.Module):
    """convG3: u = relu(h(N(A d + B e))), as wide as the level above (as level l where that is the dense top
    over conv levels); W_1 u * s + W_2 u * (1 - s), s = sigmoid(W_3 u)."""

    def __init__(self, src: tuple[int, ...], dst: tuple[int, ...], norm: str) -> None:
        super().__init__()
        hidden = (src[0] if len(src) == len(dst) else dst[0], *dst[1:])
        self.a, self.b = _downward(src, dst, hidden[0]), _lateral(dst, hidden[0], bias=False)
        self.norm, self.h = _norm(norm, hidden), Elementwise(hidden)
        self.w = _lateral(hidden, 3 * dst[0])

    def forward(self, e: Tensor, d: Tensor) -> Tensor:
        u = F.relu(self.h(self.norm(self.a(d) + self.b(e))))
        m1, m2, s = self.w(u).chunk(3, 1)
        s = torch.sigmoid(s)
        return m1 * s + m2 * (1 - s)


DECODERS = {"g1": G1, "g2": G2, "g3": G3}


class Cell(nn.Module):
    """An encoder cell (Eqs. 1-2), a GRU or LSTM whose gates are N(W_x e^{l-1}) + W_d d_{t-1}^l + W_h h_{t-1}; its
    output e^l is h. On conv levels the maps are 3x3 convolutions, W_x of stride 2 (half the size below)."""

    def __init__(self, kind: str, src: tuple[int, ...], dst: tuple[int, ...], td: bool, norm: str) -> None:
        super().__init__()
        self.lstm, self.shape = kind == "lstm", dst
        g = (4 if self.lstm else 3) * dst[0]
        conv = len(dst) == 3
        self.x = nn.Conv2d(src[0], g, 3, stride=2, padding=1) if conv else nn.Linear(math.prod(src), g)
        self.norm = _norm(norm, (g, *dst[1:]))
        self.d = _lateral(dst, g, bias=False) if td else None
        self.h = _lateral(dst, g, bias=False)

    def initial(self, B: int, like: Tensor) -> Any:
        h = like.new_zeros(B, *self.shape)
        return (h, h) if self.lstm else h

    def forward(self, e: Tensor, d: Tensor | None, s: Any) -> tuple[Tensor, Any]:
        x = self.norm(self.x(e if len(self.shape) == 3 else e.flatten(1)))
        if self.d is not None:
            x = x + self.d(d)
        if self.lstm:
            h, c = s
            i, f, o, g = (x + self.h(h)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            return h, (h, c)
        xz, xr, xn = x.chunk(3, 1)
        hz, hr, hn = self.h(s).chunk(3, 1)
        z, r = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr)
        h = (1 - z) * torch.tanh(xn + r * hn) + z * s
        return h, h


class FeedForward(nn.Module):
    """A level of the temporal baseline: e^l = relu(N(W e^{l-1})), no state (W a stride-2 convolution on conv
    levels)."""

    def __init__(self, src: tuple[int, ...], dst: tuple[int, ...], norm: str) -> None:
        super().__init__()
        conv = len(dst) == 3
        self.w = nn.Conv2d(src[0], dst[0], 3, stride=2, padding=1) if conv else nn.Linear(math.prod(src), dst[0])
        self.norm, self.conv = _norm(norm, dst), conv

    def initial(self, B: int, like: Tensor) -> None:
        return None

    def forward(self, e: Tensor, d: Tensor | None, s: None) -> tuple[Tensor, None]:
        return F.relu(self.norm(self.w(e if self.conv else e.flatten(1)))), None


def _init_(module: nn.Module, generator: torch.Generator | None) -> None:
    """Weights of the linear maps and convolutions uniform in +-1/sqrt(fan_in) from ``generator``
    (reproducible from the model's seed), their biases 0; the rest as built."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                for name, p in m.named_parameters(recurse=False):
                    if name.startswith("weight"):
                        a = p[0].numel() ** -0.5
                        p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * a)
                    else:
                        p.zero_()


class RLadder(nn.Module):
    """The recurrent Ladder (module docstring): next-frame prediction at the bottom, classification at the top."""

    kind = "ladder"
    #: the trainer hands it sequences (B, T, D) ...
    takes_sequences = True
    #: ... padded, with a (B, T) mask of the real frames (pieces of music)
    takes_masks = True
    #: ... and the sequences' class labels (B,), where the data has them
    takes_labels = True
    #: :meth:`frame_log_prob` is exact (independent Bernoulli units given the past)
    exact_likelihood = True

    def __init__(self, config: LadderConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        config.validate()
        self.config = c = config
        D, L = c.n_visible, c.n_levels
        if c.frame == "conv":
            side = math.isqrt(D)
            self.shapes = [(1, side, side)] + [(c.channels, side >> l, side >> l) for l in range(1, L)]
        else:
            self.shapes = [(D,)] + [(c.n_units,)] * (L - 1)
        self.shapes.append((c.n_units,))
        feeds_back = c.top_down and c.dec2enc
        cells = []
        for l in range(1, L + 1):
            src, dst = self.shapes[l - 1], self.shapes[l]
            if c.temporal_baseline and l < L:
                cells.append(FeedForward(src, dst, c.norm))
            else:
                cells.append(Cell(c.cell, src, dst, feeds_back and l < L, c.norm))
        self.enc = nn.ModuleList(cells)
        #: the lowest level with a decoder cell: 0 when it predicts, L when there is no decoder
        self.lowest = 0 if c.predicts else 1 if c.top_down else L
        self.dec = nn.ModuleDict({str(l): DECODERS[c.decoder_cell](self.shapes[l + 1], self.shapes[l], c.norm)
                                  for l in range(self.lowest, L)})
        self.classify = nn.Linear(c.n_units, c.n_classes) if c.n_classes else None
        if c.predicts:
            self.b_first = nn.Parameter(torch.zeros(D))
            self.b_out = nn.Parameter(torch.zeros(D))
        #: the mean training frame, taken from the input: a constant part of every frame (the occluding bars)
        #: would otherwise move the weights of all its pixels as one and swamp the first encoder cell
        self.register_buffer("x_mean", torch.zeros(D))
        _init_(self, generator)

    # ----- the recurrence -----
    def _as_seqs(self, x: Tensor | np.ndarray) -> Tensor:
        p = next(self.parameters())
        t = torch.as_tensor(x).to(p.device, p.dtype)
        return t.unsqueeze(0) if t.ndim == 2 else t

    def initial_state(self, B: int) -> State:
        """All states and decoder outputs zero, before the first frame."""
        like = next(self.parameters())
        d = [None] + [like.new_zeros(B, *s) if self.config.top_down and self.config.dec2enc else None
                      for s in self.shapes[1:]]
        return State([cell.initial(B, like) for cell in self.enc], d)

    def step(self, x: Tensor, state: State) -> tuple[State, list[Tensor], list[Tensor | None]]:
        """One step on frames ``x`` (B, D): encoder up (Eqs. 1-2), decoder down (Eq. 3). Returns the new state,
        e^0..e^L and d^0..d^L."""
        L = self.config.n_levels
        e: list[Tensor] = [(x - self.x_mean).reshape(len(x), *self.shapes[0])]
        s = []
        for l, cell in enumerate(self.enc, 1):
            out, st = cell(e[-1], state.d[l] if l < L else None, state.s[l - 1])
            e.append(out)
            s.append(st)
        d: list[Tensor | None] = [None] * (L + 1)
        if self.config.top_down:
            d[L] = e[L]
            for l in range(L - 1, self.lowest - 1, -1):
                d[l] = self.dec[str(l)](e[l], d[l + 1])
        fed = [None] + [d[l] if self.config.dec2enc else None for l in range(1, L + 1)]
        return State(s, fed), e, d

    def run(self, v: Tensor | np.ndarray) -> Pass:
        """Read sequences ``v`` ((B, T, D) or (T, D)) from the initial state, one step per frame."""
        v = self._as_seqs(v)
        B, T, _ = v.shape
        L = self.config.n_levels
        state = self.initial_state(B)
        enc: list[list[Tensor]] = [[] for _ in range(L + 1)]
        dec: list[list[Tensor]] = [[] for _ in range(L + 1)]
        nxt, cls = [], []
        for t in range(T):
            state, e, d = self.step(v[:, t], state)
            for l in range(L + 1):
                enc[l].append(e[l])
                if d[l] is not None:
                    dec[l].append(d[l])
            if self.config.predicts:
                nxt.append(self.b_out + d[0].flatten(1))
            if self.classify is not None:
                cls.append(self.classify(e[L]))
        return Pass([torch.stack(x, 1) for x in enc], [torch.stack(x, 1) if x else None for x in dec],
                     torch.stack(nxt, 1) if nxt else None, torch.stack(cls, 1) if cls else None)

    def frame_logits(self, v: Tensor, out: Pass | None = None) -> Tensor:
        """The logits each frame of ``v`` (B, T, D) is drawn with given the frames before it, (B, T, D)."""
        if not self.config.predicts:
            raise ValueError("this ladder does not predict frames (its decoder or prediction task is off)")
        v = self._as_seqs(v)
        out = self.run(v) if out is None else out
        first = self.b_first.expand(len(v), 1, -1)
        return torch.cat([first, out.next_logits[:, :-1]], 1)

    # ----- costs -----
    def losses(self, v: Tensor, mask: Tensor | None = None, labels: Tensor | None = None) -> dict[str, Tensor]:
        """The costs of sequences ``v`` (B, T, D) over their real frames (``mask``, (B, T)): ``nll`` (prediction,
        per frame), ``class_nll`` (per step) and ``class_error`` (at each sequence's last frame) when there
        are ``labels`` (B,), and ``loss``, their weighted sum (absent when there is nothing to train)."""
        c = self.config
        v = self._as_seqs(v)
        B, T, _ = v.shape
        m = (torch.ones(B, T, dtype=torch.bool, device=v.device) if mask is None
             else mask.to(v.device, torch.bool).reshape(B, T))
        out = self.run(v)
        res: dict[str, Tensor] = {}
        terms = []
        if c.predicts:
            res["nll"] = -bernoulli_log_prob(v, self.frame_logits(v, out))[m].mean()
            terms.append(c.predict_weight * res["nll"])
        if out.class_logits is not None and labels is not None:
            y = labels.to(v.device, torch.long).reshape(B)
            ce = F.cross_entropy(out.class_logits.flatten(0, 1), y.repeat_interleave(T), reduction="none")
            res["class_nll"] = ce.view(B, T)[m].mean()
            last = out.class_logits[torch.arange(B, device=v.device), m.sum(1).clamp_min(1) - 1]
            res["class_error"] = (last.argmax(1) != y).float().mean()
            terms.append(c.class_weight * res["class_nll"])
        if terms:
            res["loss"] = torch.stack(terms).sum()
        return res

    # ----- likelihoods (duck-typed like engine.models.recurrent.FrameRNN, for engine.evaluation.music) -----
    def frames(self, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The real frames (N, D) of padded sequences and the logits each is drawn with given its past (N, D)."""
        v = self._as_seqs(v)
        lg = self.frame_logits(v)
        if mask is None:
            return v.reshape(-1, v.shape[-1]), lg.reshape(-1, v.shape[-1])
        mask = mask.to(v.device, torch.bool).reshape(v.shape[:2])
        return v[mask], lg[mask]

    def frame_log_prob(self, v: Tensor, logits: Tensor) -> Tensor:
        """log P(v | past) per row, from the logits :meth:`frames` gives."""
        return bernoulli_log_prob(v, logits)

    def frame_marginals(self, logits: Tensor, generator: torch.Generator | None = None, samples: int = 0,
                        steps: int = 0) -> Tensor:
        """P(v_i = 1 | past) per row: exact."""
        return torch.sigmoid(logits)

    def log_prob(self, v: Tensor | np.ndarray, mask: Tensor | None = None) -> Tensor:
        """sum_t log P(v_t | v_<t) per sequence, (B,): exact."""
        v = self._as_seqs(v)
        lp = bernoulli_log_prob(v, self.frame_logits(v))
        return lp.sum(1) if mask is None else (lp * mask.to(lp.device, lp.dtype).reshape(lp.shape)).sum(1)

    @torch.no_grad()
    def infer(self, frames: Tensor | np.ndarray) -> dict[str, Tensor | None]:
        """What the model makes of ``frames`` ((B, T, D) or (T, D)), step by step: ``prediction`` (B, T, D), after
        step t the probability of each unit of frame t+1, and ``classes`` (B, T, n_classes), the class
        probabilities after step t; None where the model has no decoder or no classifier."""
        out = self.run(frames)
        return {"prediction": None if out.next_logits is None else torch.sigmoid(out.next_logits),
                "classes": None if out.class_logits is None else torch.softmax(out.class_logits, -1)}

    # ----- training (called by engine.training.trainer) -----
    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on the weights of the maps and cells, never on biases, norms or the h(u) parameters."""
        decay = [p for n, p in self.named_parameters() if p.ndim >= 2 and not n.endswith(".a")]
        ids = {id(p) for p in decay}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]

    @torch.no_grad()
    def begin_training(self, data: Tensor, generator: torch.Generator | None) -> None:
        """Fresh start: the input's centre and the output biases (its logit) from the mean frame."""
        mean = torch.as_tensor(data).reshape(-1, self.config.n_visible).to(self.x_mean).mean(0)
        self.x_mean.copy_(mean)
        if self.config.predicts:
            self.b_out.copy_(logit(mean))
            self.b_first.copy_(logit(mean))

    def training_step(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None,
                      labels: Tensor | None = None) -> None:
        """Write the gradient of the weighted costs (:meth:`losses`) into ``.grad``."""
        self.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss = self.losses(v, mask, labels).get("loss")
            if loss is None:
                raise ValueError("this ladder only classifies, and the data has no labels: nothing to train")
            loss.backward()

    def after_update(self) -> None:
        pass

    @torch.no_grad()
    def monitors(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None,
                 labels: Tensor | None = None) -> dict[str, float]:
        """Of the first ``monitor_sequences`` sequences: the prediction NLL per frame (nats) and, with labels,
        the classification cross-entropy per step and the error at the last step."""
        n = self.config.monitor_sequences
        L = self.losses(v[:n], None if mask is None else mask[:n], None if labels is None else labels[:n])
        names = {"nll": "nll_per_frame", "class_nll": "class_nll", "class_error": "class_error"}
        return {names[k]: float(x) for k, x in L.items() if k in names}

    def train_state(self) -> dict[str, Tensor]:
        return {}

    def load_train_state(self, state: dict[str, Tensor]) -> None:
        pass
