"""The Recurrent Temporal RBM of Sutskever, Hinton & Taylor ("The Recurrent Temporal Restricted Boltzmann
Machine", NIPS 2008), and the machinery it shares with the TRBM (:mod:`engine.models.trbm`).

A sequence ``v_1..v_T`` is modelled one frame at a time: frame t is drawn from an RBM (weights ``W``,
visible bias ``b_v``) whose hidden bias is *dynamic*, ``c_t = b_h + W' r_{t-1}`` and ``c_1 = b_h + b_init``,
where ``r`` is the deterministic state of Eq. 9::

    r_1 = sigmoid(W v_1 + b_h + b_init),    r_t = sigmoid(W v_t + b_h + W' r_{t-1})

``r_t = E[h_t | v_1..v_t]`` exactly, so inference is exact and ``log P(v_1..v_T) = sum_t log P(v_t | r_{t-1})``
(Eq. 10). Its gradient has two parts (Sections 4.2-4.3): the gradient of each step's RBM at fixed ``c_t``,
estimated by CD-k, and backpropagation through time of ``dL/dc_t = r_t - E_model[h_t]`` into ``W``, ``W'``,
``b_h`` and ``b_init`` through the ``r``'s that made ``c_t`` (Eqs. 12-14). Given the ``r``'s, the CD chains
of all B*T steps are independent, so they run as one batch: that is where the time goes, in big matmuls.
Gradients are written by hand into ``.grad`` (like :mod:`engine.models.rbm`), averaged over the frames
of the mini-batch so the learning rate does not depend on the sequence length.

Layout (row vectors, as in the RBM): ``W`` is (V, H), ``W_rec`` is (H, H) with ``c_t = b_h + r_{t-1} @ W_rec``:
``W_rec`` is the paper's ``W'`` transposed, ``W_rec[i, j]`` joins hidden unit i at t-1 to unit j at t.
Visibles are binary or unit-variance Gaussian on standardised data (the paper's Eq. 2, motion capture).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import param
from engine.models.sampling import Bernoulli16, sample_bernoulli

VISIBLE = ("binary", "gaussian")
CD_STARTS = ("previous", "data")
#: the exact (enumerating) gradient sums over 2^n_hidden hidden states per frame
MAX_EXACT_HIDDEN = 16


@dataclass
class RTRBMConfig:
    n_visible: int = param(900, "Visible units per frame (pixels, or motion channels).", min=1, max=1_000_000)
    n_hidden: int = param(400, "Hidden units per frame.", min=1, max=100_000)
    visible: str = param("binary", "Visible units: binary, or real-valued with unit variance on standardised "
                         "data (gaussian, for motion capture).", choices=VISIBLE)
    k: int = param(10, "Gibbs steps of contrastive divergence per update (the paper: CD-10).", min=1, max=1000)
    k_final: int = param(25, "Gibbs steps once k_switch of the run is done (the paper ends with CD-25; "
                         "0: keep k).", min=0, max=1000)
    k_switch: float = param(0.9, "Fraction of the run after which CD uses k_final steps.", min=0.0, max=1.0)
    cd_start: str = param("previous", "Where the CD chain of step t starts: at the previous frame v_{t-1} "
                          "(previous; the first frame at itself), so the negative phase is the model's own "
                          "guess of frame t from the past, or at frame t itself (data, plain CD).",
                          choices=CD_STARTS, label="CD start")
    static_epochs: float = param(0.0, "Epochs of static pre-training first: W and the biases trained as a "
                                 "plain RBM on single frames, no temporal weights (the paper's initialisation "
                                 "of W).", min=0.0, max=10_000.0)
    static_k: int = param(5, "Gibbs steps of the static pre-training (the paper: CD-5).", min=1, max=1000)
    init_std: float = param(0.01, "Standard deviation of the initial weights.", min=0.0, max=10.0)
    predict_steps: int = param(25, "Gibbs steps of a one-step-ahead prediction (curves and evaluation).",
                               min=1, max=10_000)
    monitor_sequences: int = param(10, "Sequences of the monitor batch used for the error curves.", min=1,
                                   max=100_000)
    exact: bool = param(False, "Tiny models only: exact expectations of each step's RBM (a sum over all "
                        "2^n_hidden hidden states) instead of CD; for checking gradients.")

    def validate(self) -> None:
        if self.exact and self.n_hidden > MAX_EXACT_HIDDEN:
            raise ValueError(f"exact gradients enumerate 2^n_hidden states: at most {MAX_EXACT_HIDDEN} hidden "
                             f"units, not {self.n_hidden}")


class GeneratedFrame(NamedTuple):
    """One item of :meth:`SequenceRBM.generate`."""

    index: int  # which new frame: 0 is the first one after the primes
    step: int  # Gibbs step; ``gibbs_steps`` on the frame's final one
    mean: Tensor  # visible means, (n_seqs, V)


def bernoulli_into(p: Tensor, generator: torch.Generator | None, buf: Tensor) -> Tensor:
    """:func:`~engine.models.rbm.sample_bernoulli` drawn into a reused buffer ``buf`` (the same draws).

    At B*T = 1000 rows a fresh tensor per sample costs as much again as the sample (new pages to fault
    in); reusing the chain's buffers halves the sampling time of an update.
    """
    buf.uniform_(generator=generator)
    return torch.lt(buf, p, out=buf)


def hidden_states(n: int, dtype: torch.dtype, device: Any = None) -> Tensor:
    """All 2^n binary vectors of length n, one a row (bit i of the row index is unit i)."""
    idx = torch.arange(1 << n, device=device)
    return ((idx[:, None] >> torch.arange(n, device=device)) & 1).to(dtype)


class SequenceRBM(nn.Module):
    """A chain of RBMs sharing ``W``, ``b_v`` and ``b_h``, whose hidden biases depend on the past.

    Subclasses say how the past makes the bias (:meth:`_rec_input`), what state a generated frame leaves
    (:meth:`_next_state`), and whether the gradient flows back through time (:meth:`_backprop`).
    """

    kind = ""
    #: the trainer hands it whole sequences (B, T, V), not single frames
    takes_sequences = True

    def __init__(self, config: RTRBMConfig, rec_shape: tuple[int, ...],
                 generator: torch.Generator | None) -> None:
        super().__init__()
        self.config = config
        self._bern = Bernoulli16()  # the training chains' sampler
        V, H = config.n_visible, config.n_hidden
        self.W = nn.Parameter(torch.randn(V, H, generator=generator) * config.init_std)
        self.W_rec = nn.Parameter(torch.randn(*rec_shape, generator=generator) * config.init_std)
        self.b_v = nn.Parameter(torch.zeros(V))
        self.b_h = nn.Parameter(torch.zeros(H))
        self.b_init = nn.Parameter(torch.zeros(H))
        self._epoch = 0.0  # told by the trainer (set_progress): static phase and k schedule
        self._progress = 0.0
        self._dream: Tensor | None = None  # the last negative phase's visible means, first sequence

    # ----- what subclasses define -----
    history = 1  # how many past states the bias needs

    def _rec_input(self, states: list[Tensor]) -> Tensor:
        """The dynamic hidden bias of the next step, given the past states (most recent last, non-empty)."""
        raise NotImplementedError

    def _next_state(self, v: Tensor, c: Tensor, h: Tensor) -> Tensor:
        """The state a generated frame ``v`` (drawn with bias ``c``, last hidden sample ``h``) leaves."""
        raise NotImplementedError

    def _backprop(self, r: Tensor, G: Tensor) -> tuple[Tensor, Tensor | None]:
        """From the direct ``dL/dc_t`` (B, T, H) to the total one, and the extra hidden term of dL/dW."""
        raise NotImplementedError

    def _rec_grad(self, r: Tensor, G: Tensor) -> Tensor:
        """dL/dW_rec (summed over the batch) from the states and the total dL/dc."""
        raise NotImplementedError

    # ----- the distribution -----
    @property
    def gaussian(self) -> bool:
        return self.config.visible == "gaussian"

    def _as_seqs(self, x: Tensor | np.ndarray) -> Tensor:
        t = torch.as_tensor(x).to(self.W.device, self.W.dtype)
        return t.unsqueeze(0) if t.ndim == 2 else t

    def hidden_probs(self, v: Tensor, c: Tensor, out: Tensor | None = None) -> Tensor:
        """P(h = 1 | v) of the RBM with hidden bias ``c`` ((H,) or one row per row of v)."""
        return torch.sigmoid_(torch.addmm(c, v, self.W, out=out))

    def visible_mean(self, h: Tensor, out: Tensor | None = None) -> Tensor:
        if self.gaussian:
            return torch.addmm(self.b_v, h, self.W.T, out=out)
        return torch.sigmoid_(torch.addmm(self.b_v, h, self.W.T, out=out))

    def sample_visible(self, mean: Tensor, generator: torch.Generator | None, out: Tensor | None = None,
                       fast: bool = False) -> Tensor:
        """A visible sample; ``fast`` (training chains) draws with 16-bit uniforms."""
        if self.gaussian:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype, out=out)
            return noise.add_(mean)
        if fast:
            return self._bern(mean, generator, out=out)
        return sample_bernoulli(mean, generator) if out is None else bernoulli_into(mean, generator, out)

    def first_bias(self, n: int) -> Tensor:
        return (self.b_h + self.b_init).expand(n, -1)

    def infer(self, v: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
        """The states r (B, T, H) of Eq. 9 and the dynamic hidden bias c (B, T, H) of each step's RBM.

        ``c[:, t]`` depends on frames before t only; ``r[:, t]`` is ``E[h_t | v_1..v_t]`` (for the TRBM,
        the mean-field filtering approximation of it).
        """
        v = self._as_seqs(v)
        B, T, V = v.shape
        A = (v.reshape(B * T, V) @ self.W).view(B, T, -1)
        rs: list[Tensor] = []
        cs: list[Tensor] = []
        for t in range(T):  # the one sequential part of training: T small (B, H) x (H, H) products
            cs.append(self.first_bias(B) if t == 0 else self._rec_input(rs))
            rs.append(torch.sigmoid(A[:, t] + cs[-1]))
        return torch.stack(rs, 1), torch.stack(cs, 1)

    # ----- training (called by engine.training.trainer) -----
    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on the weights (W and the temporal weights), never on biases."""
        return [{"params": [self.W, self.W_rec], "weight_decay": weight_decay},
                {"params": [self.b_v, self.b_h, self.b_init], "weight_decay": 0.0}]

    @torch.no_grad()
    def begin_training(self, data: Tensor, generator: torch.Generator | None) -> None:
        """Fresh start: visible biases from the mean frame (its logit for binary visibles)."""
        frames = self._as_seqs(data[:1000]).reshape(-1, self.config.n_visible)
        mean = frames.mean(0)
        if self.gaussian:
            self.b_v.copy_(mean)
        else:
            q = mean.clamp(1e-3, 1 - 1e-3)
            self.b_v.copy_(torch.log(q / (1 - q)))

    def set_progress(self, epoch: float, progress: float) -> None:
        """Where the run stands (the trainer calls this before each update): picks the phase and k."""
        self._epoch, self._progress = float(epoch), float(progress)

    @property
    def static_phase(self) -> bool:
        return self._epoch < self.config.static_epochs

    def current_k(self) -> int:
        cfg = self.config
        if self.static_phase:
            return cfg.static_k
        return cfg.k_final if cfg.k_final and self._progress >= cfg.k_switch else cfg.k

    def _cd_chain(self, v0: Tensor, p0: Tensor, c: Tensor, k: int, generator: torch.Generator | None,
                  ) -> tuple[Tensor, Tensor, Tensor]:
        """k steps of block Gibbs from the data (hidden probabilities ``p0``): the last visible sample, its
        hidden probabilities, and the last visible means."""
        h = self._bern(p0, generator, out=torch.empty_like(p0))
        probs, mean, v_buf = torch.empty_like(p0), torch.empty_like(v0), torch.empty_like(v0)
        v = v0
        for step in range(k):
            if step:
                h = self._bern(self.hidden_probs(v, c, out=probs), generator, out=h)
            self.visible_mean(h, out=mean)
            v = self.sample_visible(mean, generator, out=v_buf, fast=True)
        return v, self.hidden_probs(v, c, out=probs), mean

    def _exact_stats(self, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Exact model expectations of RBMs with hidden biases ``c`` (N, H), summing over all hidden states:
        sum over rows of E[v], E[h] per row, and the sum over rows of E[v h^T]."""
        hs = hidden_states(self.config.n_hidden, c.dtype, c.device)
        pre = torch.addmm(self.b_v, hs, self.W.T)  # (S, V)
        if self.gaussian:  # integrating v out of exp(-|v - b|^2 / 2 + v.Wh + c.h)
            ev, g = pre, hs @ self.W.T @ self.b_v + ((hs @ self.W.T) ** 2).sum(1) / 2
        else:
            ev, g = torch.sigmoid(pre), F.softplus(pre).sum(1)
        pi = torch.softmax(c @ hs.T + g, dim=1)  # P(h = state s) for each row
        w = pi.sum(0)
        return w @ ev, pi @ hs, ev.T @ (w[:, None] * hs)

    @torch.no_grad()
    def training_step(self, v: Tensor, generator: torch.Generator | None) -> None:
        """Write the estimate of -(1/(B T)) d log P(sequences) / d(params) into ``.grad`` (see the module doc).

        With ``exact`` the model expectations are exact, so the result is the exact gradient (RTRBM) or
        the exact gradient of the TRBM's heuristic objective.
        """
        v = self._as_seqs(v)
        if self.static_phase:
            return self._static_step(v, generator)
        B, T, V = v.shape
        H, N = self.config.n_hidden, B * T
        r, c = self.infer(v)
        vf, rf, cf = v.reshape(N, V), r.view(N, H), c.view(N, H)
        if self.config.exact:
            sum_v, q, vh = self._exact_stats(cf)
        else:
            v0, p0 = vf, rf
            if self.config.cd_start == "previous" and T > 1:
                v0 = torch.cat([v[:, :1], v[:, :-1]], 1).reshape(N, V)
                p0 = self.hidden_probs(v0, cf)
            v_neg, q, mean = self._cd_chain(v0, p0, cf, self.current_k(), generator)
            sum_v, vh = v_neg.sum(0), v_neg.T @ q
            self._dream = mean.view(B, T, V)[0].clone()
        G, D = self._backprop(r, r - q.view(B, T, H))  # d log P(v_t | c_t) / d c_t = r_t - E_model[h_t]
        pos = rf if D is None else rf + D.view(N, H)
        s = -1.0 / N
        self.W.grad = (vf.T @ pos - vh).mul_(s)
        self.b_v.grad = (vf.sum(0) - sum_v).mul_(s)
        self.b_h.grad = G.sum((0, 1)).mul_(s)
        self.b_init.grad = G[:, 0].sum(0).mul_(s)
        self.W_rec.grad = self._rec_grad(r, G).mul_(s)

    def _static_step(self, v: Tensor, generator: torch.Generator | None) -> None:
        """CD on single frames with the static hidden bias ``b_h``; the temporal parameters get no gradient
        (None: the optimiser leaves them alone)."""
        B, T, V = v.shape
        vf = v.reshape(B * T, V)
        p = self.hidden_probs(vf, self.b_h)
        v_neg, q, mean = self._cd_chain(vf, p, self.b_h, self.config.static_k, generator)
        self._dream = mean.view(B, T, V)[0].clone()
        s = -1.0 / len(vf)
        self.W.grad = (vf.T @ p - v_neg.T @ q).mul_(s)
        self.b_v.grad = (vf.sum(0) - v_neg.sum(0)).mul_(s)
        self.b_h.grad = (p.sum(0) - q.sum(0)).mul_(s)
        self.W_rec.grad = None
        self.b_init.grad = None

    def after_update(self) -> None:
        pass

    @torch.no_grad()
    def monitors(self, v: Tensor, generator: torch.Generator | None) -> dict[str, float]:
        """Reconstruction error per frame (one hidden sample given the true past) and one-step-ahead
        prediction error per frame (squared error summed over the visibles) on the first
        ``monitor_sequences`` sequences of the batch."""
        v = self._as_seqs(v)[: self.config.monitor_sequences]
        B, T, V = v.shape
        r, c = self.infer(v)
        recon = self.visible_mean(sample_bernoulli(r.view(B * T, -1), generator)).view(B, T, V)
        out = {"recon_error": ((v - recon) ** 2).sum(-1).mean().item()}
        if T > 1:
            pred = self._predict_from(v, c, self.config.predict_steps, False, generator)
            out["pred_error"] = ((pred - v[:, 1:]) ** 2).sum(-1).mean().item()
        return out

    def train_state(self) -> dict[str, Tensor]:
        return {}  # CD from the data keeps no chains between updates

    def load_train_state(self, state: dict[str, Tensor]) -> None:
        pass

    @torch.no_grad()
    def chain_images(self, n: int | None = None) -> Tensor | None:
        """The last update's negative-phase visible means for the first sequence of its batch, one frame
        per time step: what the model makes of each frame given the true past."""
        if self._dream is None:
            return None
        return self._dream if n is None else self._dream[:n]

    # ----- prediction and sampling -----
    @torch.inference_mode()
    def predict_next(self, seqs: Tensor | np.ndarray, steps: int | None = None, chains: int = 1,
                     mean_field: bool = False, generator: torch.Generator | None = None) -> Tensor:
        """The expected frame t given the true frames before it, for t = 2..T: (B, T-1, V).

        Runs step t's RBM, its dynamic bias made from the true history, from ``v_{t-1}``: ``chains`` Gibbs
        chains of ``steps`` steps (default ``config.predict_steps``), their visible means averaged over
        each chain's second half, a Monte Carlo estimate of E[v_t | past]. ``mean_field=True`` runs
        deterministic mean-field updates from ``v_{t-1}`` instead; beware that they tend to stay at
        ``v_{t-1}`` (a mode of the RBM too), and that started from the hidden prior they fall into the
        empty frame on bouncing balls, which is why sampling is the default.
        """
        v = self._as_seqs(seqs)
        _, c = self.infer(v)
        return self._predict_from(v, c, steps or self.config.predict_steps, mean_field, generator, chains)

    def _predict_from(self, v: Tensor, c: Tensor, steps: int, mean_field: bool,
                      generator: torch.Generator | None, chains: int = 1) -> Tensor:
        B, T, V = v.shape
        x = v[:, :-1].reshape(-1, V)
        cn = c[:, 1:].reshape(-1, c.shape[-1])
        if mean_field:
            for _ in range(steps):
                x = self.visible_mean(self.hidden_probs(x, cn))
            return x.view(B, T - 1, V)
        x, cn = x.repeat(chains, 1), cn.repeat(chains, 1)
        h, probs = torch.empty_like(cn), torch.empty_like(cn)
        mean, x_buf = torch.empty_like(x), torch.empty_like(x)
        acc, n = torch.zeros_like(x), 0
        for step in range(1, steps + 1):
            h = bernoulli_into(self.hidden_probs(x, cn, out=probs), generator, h)
            self.visible_mean(h, out=mean)
            x = self.sample_visible(mean, generator, out=x_buf)
            if step > steps // 2:
                acc += mean
                n += 1
        return (acc / n).view(chains, B, T - 1, V).mean(0)

    @torch.inference_mode()
    def generate(self, n_seqs: int, n_frames: int, gibbs_steps: int, prime: Tensor | np.ndarray | None = None,
                 generator: torch.Generator | None = None, every_gibbs: bool = False, feed_mean: bool = False,
                 ) -> Iterator[GeneratedFrame]:
        """Sample ``n_frames`` new frames of ``n_seqs`` sequences (Algorithm 3; the TRBM: Algorithm 2).

        Frame t comes from ``gibbs_steps`` of block Gibbs in step t's RBM, started from the previous frame
        (the first frame from a draw of the visible biases alone). Yields ``(index, step, mean)`` for each
        new frame, or for every Gibbs step with ``every_gibbs``. ``prime`` ((P, V) or (n_seqs, P, V) true
        frames) is run through inference first and the sequences continue after it. The sampled frame
        makes the next state, as in the paper; ``feed_mean`` feeds the last visible means instead (less
        jitter with Gaussian visibles, as Taylor et al. do for motion).
        """
        if gibbs_steps < 1:
            raise ValueError("generating a frame needs at least one Gibbs step")
        states: list[Tensor] = []
        if prime is not None:
            p = self._as_seqs(prime)
            if p.shape[0] == 1 and n_seqs > 1:
                p = p.expand(n_seqs, -1, -1)
            elif p.shape[0] != n_seqs:
                raise ValueError(f"{p.shape[0]} primed sequences for {n_seqs} sequences")
            r, _ = self.infer(p)
            states = list(r.unbind(1))[-self.history:]
            v = p[:, -1].clone()
        else:
            mean = self.visible_mean(torch.zeros(n_seqs, self.config.n_hidden, device=self.W.device,
                                                 dtype=self.W.dtype))
            v = self.sample_visible(mean, generator)
        for index in range(n_frames):
            c = self.first_bias(n_seqs) if not states else self._rec_input(states)
            for step in range(1, gibbs_steps + 1):
                h = sample_bernoulli(self.hidden_probs(v, c), generator)
                mean = self.visible_mean(h)
                v = self.sample_visible(mean, generator)
                if every_gibbs or step == gibbs_steps:
                    yield GeneratedFrame(index, step, mean)
            if feed_mean:
                v = mean
            states.append(self._next_state(v, c, h))
            del states[:-self.history]

    def sample_sequences(self, n_seqs: int, n_frames: int, gibbs_steps: int,
                         prime: Tensor | np.ndarray | None = None, generator: torch.Generator | None = None,
                         ) -> Tensor:
        """:meth:`generate`, collected: the visible means of the new frames, (n_seqs, n_frames, V)."""
        frames = [f.mean for f in self.generate(n_seqs, n_frames, gibbs_steps, prime, generator)]
        return torch.stack(frames, 1)

    # ----- exact evaluation of tiny models -----
    def exact_log_likelihood(self, v: Tensor | np.ndarray) -> Tensor:
        """sum_t log P(v_t | past) per sequence, by enumerating the hidden states (tiny models only).

        For the RTRBM this is log P(v_1..v_T) (Eq. 10); for the TRBM, the likelihood under its filtering
        approximation. Differentiable (no ``no_grad``), so tests can take its gradient with autograd.
        """
        v = self._as_seqs(v)
        H = self.config.n_hidden
        if H > MAX_EXACT_HIDDEN:
            raise ValueError(f"exact likelihoods enumerate 2^n_hidden states: at most {MAX_EXACT_HIDDEN}")
        _, c = self.infer(v)
        hs = hidden_states(H, v.dtype, v.device)
        pre = torch.addmm(self.b_v, hs, self.W.T)
        pre_h = v @ self.W + c
        if self.gaussian:
            Wh = hs @ self.W.T
            g = Wh @ self.b_v + (Wh ** 2).sum(1) / 2
            neg_free = -((v - self.b_v) ** 2).sum(-1) / 2 + F.softplus(pre_h).sum(-1)
            const = self.config.n_visible * 0.5 * float(np.log(2 * np.pi))
        else:
            g = F.softplus(pre).sum(1)
            neg_free = v @ self.b_v + F.softplus(pre_h).sum(-1)
            const = 0.0
        log_z = torch.logsumexp(c @ hs.T + g, dim=-1) + const
        return (neg_free - log_z).sum(-1)


class RTRBM(SequenceRBM):
    """The Recurrent Temporal RBM: exact inference, BPTT through the mean-field states ``r``."""

    kind = "rtrbm"
    history = 1

    def __init__(self, config: RTRBMConfig, generator: torch.Generator | None = None) -> None:
        H = config.n_hidden
        super().__init__(config, (H, H), generator)

    def _rec_input(self, states: list[Tensor]) -> Tensor:
        return torch.addmm(self.b_h, states[-1], self.W_rec)

    def _next_state(self, v: Tensor, c: Tensor, h: Tensor) -> Tensor:
        return self.hidden_probs(v, c)  # r_t is deterministic given the frame

    def _backprop(self, r: Tensor, G: Tensor) -> tuple[Tensor, Tensor | None]:
        """Eqs. 12-14: r_t feeds c_{t+1} = b_h + r_t W_rec, so dL/dr_t = (dL/dc_{t+1}) W_rec^T, and through
        r_t = sigmoid(W v_t + c_t) it reaches c_t (and W) as D_t = dL/dr_t * r_t (1 - r_t)."""
        T = r.shape[1]
        D = torch.zeros_like(r)
        for t in range(T - 2, -1, -1):
            rt = r[:, t]
            D[:, t] = (G[:, t + 1] @ self.W_rec.T).mul_(rt * (1 - rt))
            G[:, t] += D[:, t]
        return G, D

    def _rec_grad(self, r: Tensor, G: Tensor) -> Tensor:
        H = r.shape[-1]
        return r[:, :-1].reshape(-1, H).T @ G[:, 1:].reshape(-1, H)
