"""Professor Forcing (Goyal, Lamb et al., NIPS 2016): a recurrent generator whose free-running behaviour is
trained, by an adversarial discriminator, to look like its teacher-forced behaviour.

The generator is the per-note RNN of :mod:`engine.models.note_rnn` with a GRU: frame ``v_t`` (piano-roll
notes, or the pixels of a flattened video frame) has independent Bernoulli units,
``P(v_t | past) = sigmoid(b_v + u_{t-1} @ W_uv)``, and ``u_t = GRU(v_t, u_{t-1})``. So likelihoods, the
piano roll's ``generate`` job, the video job and :mod:`engine.evaluation.music` all work on it unchanged.

``mode="teacher"``: trained on the NLL alone (teacher forcing). ``mode="professor"`` adds a discriminator
(Sec. 2.4.1): a bidirectional GRU over a *behaviour* sequence — the states ``u_0..u_{T-1}`` each frame is
drawn given (and, with ``behaviour="hidden+outputs"``, the note probabilities) — whose two final states feed a
three-layer ReLU MLP and a sigmoid, D(b) = P(b is teacher-forced). Each update:

* teacher-forced behaviour on the batch; free-running behaviour from ``u_0``, each step sampling its own
  frame and feeding it back (the paper feeds samples), ``free_ratio`` times as long and cut into
  non-overlapping windows of the batch's length (the paper's handwriting setup);
* C_d = -log D(b_tf) - log(1 - D(b_free)) (Eq. 2.1) -> the discriminator's ``.grad`` only;
* NLL + C_f, C_f = -log D(b_free) (Eq. 2.3), optionally + C_t = -log(1 - D(b_tf)) (Eq. 2.4)
  -> the generator's ``.grad`` only;
* gating: C_f/C_t reach the generator only while the discriminator's accuracy on the batch is above
  ``gate_low`` (75%), and the discriminator is not trained while it is above ``gate_high`` (99%);
* with ``project`` (not in the paper) the part of C_f's gradient that opposes the NLL's is taken out
  (:func:`project_off`); with ``adv_cap`` (not in the paper either) C_f's gradient is first scaled down to at
  most that many times the NLL's norm (:func:`cap_norm`): once the discriminator wins, C_f's gradient is ~10x
  the NLL's, and Adam's per-weight step sizes, set by the larger gradient, would starve the NLL;
  with ``adv_start`` (not in the paper) C_f reaches the generator only from that epoch on; with ``adv_lr``
  (not in the paper) C_f's gradient does not go through the trainer's optimiser at all but moves the generator
  by an Adam of its own at that learning rate, so the NLL's Adam keeps exactly the statistics it has under
  teacher forcing and C_f's pull is a fixed step size rather than a share of one gradient.

The two gradients are taken separately (``torch.autograd.grad`` with respect to each parameter set), so the
trainer's single optimiser (Adam, as in the paper) steps both without one cost leaking into the other net.
Gradient clipping, when set, still takes both nets' gradients as one norm (clipping them apart was tried and
made JSB worse).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from engine.config import param
from engine.models.note_rnn import NoteRNN
from engine.models.sampling import sample_bernoulli
from engine.models.recurrent import CELLS, FrameRNNConfig

MODES = ("teacher", "professor")
BEHAVIOURS = ("hidden", "hidden+outputs")


@dataclass
class ProfessorConfig(FrameRNNConfig):
    n_recurrent: int = param(128, "Units of the generator's GRU.", min=1, max=100_000)
    cell: str = param("gru", "The generator's RNN (the paper: a GRU).", choices=CELLS)
    init_std: float = param(0.05, "Standard deviation of the generator's initial weights.", min=0.0, max=10.0)
    mode: str = param("teacher", "teacher: NLL only; professor: NLL plus the discriminator's C_f (and C_t).",
                      choices=MODES)
    behaviour: str = param("hidden", "What the discriminator sees at each step: the generator's hidden state, "
                           "or it and the output probabilities.", choices=BEHAVIOURS)
    disc_hidden: int = param(64, "Units of each direction of the discriminator's bidirectional GRU.", min=1,
                             max=100_000)
    disc_mlp: int = param(64, "Units of each hidden layer of the discriminator's 3-layer ReLU MLP.", min=1,
                          max=100_000)
    free_ratio: int = param(1, "Free-running length as a multiple of the teacher-forced one; the discriminator "
                            "sees it as that many non-overlapping windows.", min=1, max=100)
    cost_f: float = param(1.0, "Weight of C_f: fool the discriminator with free-running behaviour.", min=0.0,
                          max=1000.0)
    cost_t: float = param(0.0, "Weight of C_t: make teacher-forced behaviour look free-running (0: off).",
                          min=0.0, max=1000.0)
    gate_low: float = param(0.75, "Back-propagate the discriminator into the generator only above this "
                            "accuracy.", min=0.0, max=1.0)
    gate_high: float = param(0.99, "Stop training the discriminator above this accuracy.", min=0.0, max=1.01)
    project: bool = param(False, "Take out the part of the discriminator's gradient that opposes the NLL's "
                          "(gradient projection), so C_f reshapes the free runs without, to first order, "
                          "raising the NLL.", label="C_f spares the NLL")
    adv_cap: float = param(0.0, "Scale C_f's gradient on the generator down to at most this many times the "
                           "NLL's (norm), so Adam's step sizes stay set by the NLL (0: no cap).", min=0.0,
                           max=1000.0, label="C_f at most x NLL")
    adv_start: float = param(0.0, "Epochs of teacher forcing before C_f reaches the generator; the "
                             "discriminator learns from the start (0: from the start, as in the paper).",
                             min=0.0, max=100_000.0, label="C_f from epoch")
    adv_lr: float = param(0.0, "Step the generator along C_f's gradient with an Adam of its own at this learning "
                          "rate, apart from the NLL's optimiser (0: one optimiser for both, as in the paper).",
                          min=0.0, max=1.0, label="C_f's own Adam lr")


class Rollout(NamedTuple):
    """A free run: the state each frame was drawn given, its probabilities and the frame drawn."""

    states: Tensor  # (B, T, R): u_0 .. u_{T-1}
    probs: Tensor  # (B, T, V)
    samples: Tensor  # (B, T, V), binary; samples[:, t] was fed to make states[:, t + 1]


def init_uniform_(module: nn.Module, generator: torch.Generator | None) -> None:
    """Weights uniform in +-1/sqrt(fan_in) from ``generator`` (reproducible from the model's seed), biases 0."""
    with torch.no_grad():
        for p in module.parameters():
            if p.ndim == 2:
                a = p.shape[1] ** -0.5
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * a)
            else:
                p.zero_()


class Discriminator(nn.Module):
    """Bidirectional GRU over a behaviour sequence, its two final states into a 3-layer ReLU MLP: the logit
    of P(teacher-forced)."""

    def __init__(self, n_in: int, n_hidden: int, n_mlp: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.rnn = nn.GRU(n_in, n_hidden, batch_first=True, bidirectional=True)
        self.mlp = nn.Sequential(nn.Linear(2 * n_hidden, n_mlp), nn.ReLU(), nn.Linear(n_mlp, n_mlp), nn.ReLU(),
                                 nn.Linear(n_mlp, 1))
        init_uniform_(self, generator)

    def forward(self, b: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Logits (N,) of behaviour sequences ``b`` (N, T, F), each real for its first ``lengths`` steps."""
        x = b if lengths is None else pack_padded_sequence(b, lengths.cpu(), batch_first=True,
                                                           enforce_sorted=False)
        _, h = self.rnn(x)  # (2, N, H): the forward direction's last state, the backward one's first
        return self.mlp(torch.cat([h[0], h[1]], -1)).squeeze(-1)


def discriminator_costs(d_tf: Tensor, d_free: Tensor) -> dict[str, Tensor]:
    """From logits of teacher-forced (label 1) and free-running (label 0) behaviour: C_d (Eq. 2.1), C_f, C_t
    and the accuracy (mean of the two classes' accuracies, so window counts do not weigh it)."""
    return {"c_d": F.softplus(-d_tf).mean() + F.softplus(d_free).mean(),
            "c_f": F.softplus(-d_free).mean(), "c_t": F.softplus(d_tf).mean(),
            "accuracy": 0.5 * ((d_tf > 0).float().mean() + (d_free <= 0).float().mean())}


def gates(accuracy: float, low: float, high: float) -> tuple[bool, bool]:
    """(generator gets C_f/C_t, discriminator is trained) at this discriminator accuracy."""
    return accuracy > low, accuracy <= high


def _grads(loss: Tensor, params: list[nn.Parameter], retain: bool) -> list[Tensor]:
    """d loss / d params, zeros for the parameters it does not reach."""
    gs = torch.autograd.grad(loss, params, retain_graph=retain, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, gs)]


def _dot(xs: list[Tensor], ys: list[Tensor]) -> Tensor:
    """The inner product of two gradients given as lists of tensors."""
    return sum((x * y).sum() for x, y in zip(xs, ys))


def cap_norm(g_ref: list[Tensor], g: list[Tensor], ratio: float) -> list[Tensor]:
    """``g`` scaled down, if need be, so its norm is at most ``ratio`` times that of ``g_ref``."""
    k = torch.clamp(ratio * torch.sqrt(_dot(g_ref, g_ref) / _dot(g, g).clamp_min(1e-30)), max=1.0)
    return [b * k for b in g]


def project_off(g_nll: list[Tensor], g_adv: list[Tensor]) -> list[Tensor]:
    """``g_nll + g_adv`` with the part of ``g_adv`` that opposes ``g_nll`` taken out (the gradient projection
    of Yu et al., "Gradient Surgery for Multi-Task Learning", 2020): the adversarial cost may move the
    generator anywhere that does not, to first order, raise the NLL."""
    dot = _dot(g_nll, g_adv)
    if dot >= 0:
        return [a + b for a, b in zip(g_nll, g_adv)]
    k = dot / _dot(g_nll, g_nll).clamp_min(1e-30)
    return [a + b - k * a for a, b in zip(g_nll, g_adv)]


class Professor(NoteRNN):
    kind = "professor"

    def __init__(self, config: ProfessorConfig, generator: torch.Generator | None = None) -> None:
        super().__init__(config, generator)
        if config.behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        self.disc: Discriminator | None = None
        self._adv_adam: list[Tensor] = []  # adv_lr's Adam: step count, then both moments per generator parameter
        self.set_mode(config.mode, generator)
        self._last: dict[str, float] = {}

    def set_mode(self, mode: str, generator: torch.Generator | None = None) -> None:
        """Teacher or professor forcing from now on, keeping the generator: professor mode adds a fresh
        discriminator (when it has none), teacher mode drops it."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        c = self.config
        c.mode = mode
        if mode == "teacher":
            self.disc, self._adv_adam = None, []
        elif self.disc is None:
            n_in = c.n_recurrent + (c.n_visible if c.behaviour == "hidden+outputs" else 0)
            self.disc = Discriminator(n_in, c.disc_hidden, c.disc_mlp, generator).to(self.b_v.device)

    # ----- the two parameter sets -----
    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith("disc.")]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [] if self.disc is None else list(self.disc.parameters())

    # ----- behaviour -----
    def _cell(self, v: Tensor, u: Tensor) -> Tensor:
        r = self.rnn
        w = (r.weight_ih_l0, r.weight_hh_l0, r.bias_ih_l0, r.bias_hh_l0)
        return torch.gru_cell(v, u, *w) if self.config.cell == "gru" else torch.rnn_tanh_cell(v, u, *w)

    def free_run(self, n: int, T: int, generator: torch.Generator | None, temperature: float = 1.0) -> Rollout:
        """``n`` free runs of ``T`` frames from ``u_0``: each frame is sampled and fed back. Differentiable
        through the states (not through the discrete samples) when grad is enabled."""
        u = self.u0.expand(n, -1)
        states, probs, samples = [], [], []
        for _ in range(T):
            states.append(u)
            p = torch.sigmoid(self.logits(u) / temperature)
            s = sample_bernoulli(p.detach(), generator)
            probs.append(p)
            samples.append(s)
            u = self._cell(s, u)
        return Rollout(torch.stack(states, 1), torch.stack(probs, 1), torch.stack(samples, 1))

    def behaviour_of(self, states: Tensor) -> Tensor:
        """What the discriminator sees at each step: the states, and the output probabilities if chosen."""
        if self.config.behaviour == "hidden":
            return states
        return torch.cat([states, torch.sigmoid(self.b_v + states @ self.W_uv)], -1)  # any leading dims

    def losses(self, v: Tensor, mask: Tensor | None, generator: torch.Generator | None,
               train: bool = False) -> dict[str, Tensor]:
        """The costs of one batch (differentiable): ``nll`` (mean per real frame; with ``train``, through the
        ``dropout`` of the states), and in professor mode ``c_d``, ``c_f``, ``c_t``, ``accuracy`` (see
        :func:`discriminator_costs`)."""
        v = self._as_seqs(v)
        B, T, _ = v.shape
        mask = (torch.ones(B, T, dtype=torch.bool, device=v.device) if mask is None
                else mask.to(v.device, torch.bool).reshape(B, T))
        u = self.states(v)
        u_nll = self.drop(u[mask], generator) if train else u[mask]
        out = {"nll": -self.frame_log_prob(v[mask], u_nll).mean()}
        if self.disc is None:
            return out
        k = self.config.free_ratio
        free = self.free_run(B, T * k, generator)
        lengths = mask.sum(1)
        b_tf = self.behaviour_of(u)
        b_free = self.behaviour_of(free.states).reshape(B * k, T, -1)  # row b's k windows follow each other
        d_tf = self.disc(b_tf, lengths)
        d_free = self.disc(b_free, lengths.repeat_interleave(k))
        out.update(discriminator_costs(d_tf, d_free))
        return out

    # ----- training (called by engine.training.trainer) -----
    def training_step(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None) -> None:
        """NLL (+ gated C_f, C_t) into the generator's ``.grad``; C_d (gated) into the discriminator's."""
        if self.disc is None or self.static_phase:
            return super().training_step(v, generator, mask)
        self._zero_grad()
        c = self.config
        gen_params, disc_params = self.generator_parameters(), self.discriminator_parameters()
        with torch.enable_grad():
            L = self.losses(v, mask, generator, train=True)
            acc = float(L["accuracy"])
            to_gen, train_disc = gates(acc, c.gate_low, c.gate_high)
            to_gen = to_gen and self._epoch >= c.adv_start
            adv = c.cost_f * L["c_f"] + (c.cost_t * L["c_t"] if c.cost_t else 0.0)
            if to_gen and (c.project or c.adv_cap or c.adv_lr):
                g_nll, g_adv = _grads(L["nll"], gen_params, True), _grads(adv, gen_params, train_disc)
                if c.adv_cap:
                    g_adv = cap_norm(g_nll, g_adv, c.adv_cap)
                if c.project:
                    g_adv = [b - a for a, b in zip(g_nll, project_off(g_nll, g_adv))]
                if c.adv_lr:
                    self._adam_step(gen_params, g_adv, c.adv_lr)
                    g_gen = g_nll
                else:
                    g_gen = [a + b for a, b in zip(g_nll, g_adv)]
            else:
                g_gen = _grads(L["nll"] + adv if to_gen else L["nll"], gen_params, train_disc)
            g_disc = _grads(L["c_d"], disc_params, False) if train_disc else [None] * len(disc_params)
        for p, g in zip(gen_params, g_gen):
            p.grad = g
        for p, g in zip(disc_params, g_disc):
            p.grad = g
        self._last = {"train_disc_accuracy": acc, "gen_gated": float(to_gen), "disc_trained": float(train_disc)}

    def train_state(self) -> dict[str, Tensor]:
        """C_f's own Adam moments (``adv_lr``), so a resumed run steps on as it would have."""
        return {f"adv_adam.{i}": t for i, t in enumerate(self._adv_adam)}

    def load_train_state(self, state: dict[str, Tensor]) -> None:
        keys = sorted((k for k in state if k.startswith("adv_adam.")), key=lambda k: int(k.split(".")[1]))
        self._adv_adam = [state[k].clone() for k in keys]

    @torch.no_grad()
    def _adam_step(self, params: list[nn.Parameter], grads: list[Tensor], lr: float, betas=(0.9, 0.999),
                   eps: float = 1e-8) -> None:
        """One Adam step of ``params`` along ``grads`` with this model's own moments (C_f's optimiser)."""
        if len(self._adv_adam) != 1 + 2 * len(params):
            self._adv_adam = [torch.zeros(())] + [torch.zeros_like(p) for p in params for _ in (0, 1)]
        t = self._adv_adam[0].add_(1).item()
        b1, b2 = betas
        for i, (p, g) in enumerate(zip(params, grads)):
            m, v = self._adv_adam[1 + 2 * i], self._adv_adam[2 + 2 * i]
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.sub_(lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps))

    @torch.no_grad()
    def monitors(self, v: Tensor, generator: torch.Generator | None, mask: Tensor | None = None,
                 ) -> dict[str, float]:
        """``nll`` per frame (teacher-forced) on the first ``monitor_sequences`` chunks; in professor mode
        also the discriminator's accuracy, its cost and both generator costs there."""
        v, mask = self._monitor_batch(v, mask)
        L = self.losses(v, mask, generator)
        out = {"nll": float(L["nll"])}
        if self.disc is not None:
            out.update(disc_accuracy=float(L["accuracy"]), disc_cost=float(L["c_d"]), gen_cost_f=float(L["c_f"]),
                       gen_cost_t=float(L["c_t"]))
        return out
