"""Variational Walkback (Goyal, Ke, Ganguli & Bengio, NIPS 2017): a learned stochastic transition operator.

One network ``F`` defines a transition ``p_T(s' | s)`` at every temperature ``T`` (Section 3.4.3)::

    Bernoulli:  rho   = sigmoid(c tanh(((1 - alpha) s + alpha F(s)) / c) / T),  s' ~ Bernoulli(rho)
    Gaussian:   mu    = (1 - alpha) s + alpha F_mu(s),   sigma = T softplus(F_sigma(s)),  s' ~ N(mu, sigma^2)

Training is Algorithm 1: from a data point ``s_0 = x`` the operator itself *heats* the state for
``K = ceil(log2 t_max) + n`` steps (``n`` uniform in 0..n1), the temperature doubling after each step past
the n-th (:func:`temperatures`), and each step t is trained to *walk back*: the loss is
``-log p_{T_t}(s_{t-1} | s_t)``, the reverse transition, summed over the walk (no gradient flows through the
sampled walk). A factorised prior ``p*`` (Bernoulli means, or diagonal Gaussian moments) tracks the final
heated states ``s_K``. Sampling runs the walk backwards: ``s_K ~ p*``, then ``s_{t-1} ~ p_{T_t}(. | s_t)``
down to T = 1, optionally continuing at T = 1. The soft bound ``c`` (``max_logit``; 0: none, the paper's
operator) is ours: without it the operator learns to collapse every walk onto one image, a degenerate
optimum of the walk-back loss (every hot step becomes trivially reversible). ``F`` is an MLP (or a small
dilated conv net) whose normalisation layers have a separate gain and bias for each step of the walk (the
paper found that this "improves the result considerably"), optionally with log T as an extra input.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import param
from engine.models.sampling import sample_bernoulli

#: floor of a Gaussian operator's standard deviation at T = 1 and of the prior's variance
MIN_SIGMA = 1e-3
#: Bernoulli prior means are kept inside [EPS, 1 - EPS] so that log p* stays finite
EPS = 1e-4


@dataclass
class WalkbackConfig:
    n_visible: int = param(784, "Number of visible units (pixels).", min=1, max=1_000_000)
    visible: str = param("bernoulli", "Transition operator: binary states (bernoulli, for binarised images) or "
                         "real-valued ones (gaussian).", choices=("bernoulli", "gaussian"))
    net: str = param("mlp", "The network F: a multilayer perceptron or a small dilated conv net on the image.",
                     choices=("mlp", "conv"))
    n_hidden: int = param(1024, "Units per hidden layer of the MLP.", min=1, max=100_000)
    n_layers: int = param(2, "Hidden layers of the MLP, or conv layers before the output one.", min=1, max=16)
    channels: int = param(32, "Channels of the conv net.", min=1, max=1024)
    height: int = param(0, "Image height for the conv net (0: the squarest shape of n_visible).", min=0,
                        max=100_000)
    alpha: float = param(0.5, "Weight of F against the current state in the operator's mean (Sec. 3.4.3).",
                         min=0.0, max=1.0)
    t_max: float = param(16.0, "Tmax of Algorithm 1: a walk has ceil(log2 Tmax) + n steps, the temperature "
                         "doubling after each step past the n-th.", min=1.0, max=1e6, label="Tmax")
    n1: int = param(2, "N1 of Algorithm 1: n, the steps at T = 1 before heating, is drawn uniformly in 0..N1.",
                    min=0, max=1000, label="N1")
    norm: str = param("step", "Normalisation of the hidden layers: LayerNorm with a separate gain and bias "
                      "for each step of the walk (step), one shared pair (shared), or none.",
                      choices=("step", "shared", "none"))
    temperature_input: bool = param(True, "Give F the temperature (log2 T) as an extra input.")
    max_logit: float = param(6.0, "Bernoulli: soft bound c on the logit before dividing by T (c tanh(z / c)), "
                             "so that heating really adds noise: at temperature T a pixel's probability stays "
                             "within sigmoid(+-c / T). Without it (0) the operator can collapse every walk onto "
                             "one fixed image, which makes every hot step trivially reversible.", min=0.0,
                             max=1000.0)
    prior_rate: float = param(0.05, "Sliding-average rate at which the prior's moments track the final heated "
                              "states.", min=0.0, max=1.0)

    def validate(self) -> None:
        if self.net == "conv":
            image_shape(self)  # raises when height does not divide n_visible

    @property
    def max_steps(self) -> int:
        """The longest walk: ceil(log2 Tmax) + N1 steps, each with its own normalisation parameters."""
        return heating_steps(self.t_max) + self.n1


def heating_steps(t_max: float) -> int:
    """ceil(log2 Tmax), the doubling steps of a walk (exact for powers of two)."""
    return max(0, math.ceil(math.log2(t_max) - 1e-9))


def temperatures(n: int, t_max: float) -> list[float]:
    """The temperature of each of the K = ceil(log2 Tmax) + n steps of a walk, as Algorithm 1 writes it:
    T starts at 1 and doubles after every step t > n, so step t (1-based) runs at 2^max(0, t - 1 - n).
    The hottest step of a walk is therefore at 2^(ceil(log2 Tmax) - 1)."""
    K = heating_steps(t_max) + n
    return [float(2 ** max(0, t - 1 - n)) for t in range(1, K + 1)]


def image_shape(cfg: WalkbackConfig) -> tuple[int, int]:
    n = cfg.n_visible
    h = cfg.height or int(math.isqrt(n))
    if cfg.height and n % h:
        raise ValueError(f"height {h} does not divide n_visible {n}")
    while n % h:
        h -= 1
    return h, n // h


class WalkStep(NamedTuple):
    """One step of a walk: ``state`` (samples), ``mean`` (the operator's rho or mu that drew them; the prior's
    means for a draw from p*) and the ``temperature`` of that draw."""

    step: int
    state: Tensor
    mean: Tensor
    temperature: float


class StepNorm(nn.Module):
    """LayerNorm over the feature axis (axis 1) with a gain and bias per walk step (or one shared pair)."""

    def __init__(self, width: int, n_steps: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        rows = n_steps if mode == "step" else 1
        if mode != "none":
            self.gain = nn.Parameter(torch.ones(rows, width))
            self.bias = nn.Parameter(torch.zeros(rows, width))

    def forward(self, h: Tensor, idx: Tensor) -> Tensor:
        if self.mode == "none":
            return h
        dims = tuple(range(1, h.ndim))
        h = (h - h.mean(dims, keepdim=True)) * torch.rsqrt(h.var(dims, unbiased=False, keepdim=True) + 1e-5)
        rows = idx if self.mode == "step" else torch.zeros_like(idx)
        g, b = self.gain[rows], self.bias[rows]
        if h.ndim == 4:  # conv features (N, C, H, W): a gain per channel
            g, b = g[:, :, None, None], b[:, :, None, None]
        return h * g + b


class MLPNet(nn.Module):
    def __init__(self, cfg: WalkbackConfig, n_out: int) -> None:
        super().__init__()
        n_in = cfg.n_visible + int(cfg.temperature_input)
        widths = [n_in] + [cfg.n_hidden] * cfg.n_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(StepNorm(cfg.n_hidden, cfg.max_steps, cfg.norm) for _ in range(cfg.n_layers))
        self.out = nn.Linear(widths[-1], n_out)

    def forward(self, x: Tensor, idx: Tensor) -> Tensor:
        for lin, norm in zip(self.layers, self.norms):
            x = F.relu(norm(lin(x), idx))
        return self.out(x)


class ConvNet(nn.Module):
    """3x3 convolutions with dilations 1, 2, 4, ... (a receptive field covering a digit), then a 3x3 output."""

    def __init__(self, cfg: WalkbackConfig, n_out_channels: int) -> None:
        super().__init__()
        self.shape = image_shape(cfg)
        self.temperature_input = cfg.temperature_input
        c_in = 1 + int(cfg.temperature_input)
        C = cfg.channels
        self.layers = nn.ModuleList(
            nn.Conv2d(c_in if i == 0 else C, C, 3, padding=2 ** i, dilation=2 ** i) for i in range(cfg.n_layers))
        self.norms = nn.ModuleList(StepNorm(C, cfg.max_steps, cfg.norm) for _ in range(cfg.n_layers))
        self.out = nn.Conv2d(C, n_out_channels, 3, padding=1)

    def forward(self, x: Tensor, idx: Tensor) -> Tensor:
        H, W = self.shape
        N = x.shape[0]
        if self.temperature_input:  # the last input column is log2 T: a constant plane
            img = x[:, :-1].reshape(N, 1, H, W)
            x = torch.cat([img, x[:, -1:, None, None].expand(N, 1, H, W)], 1)
        else:
            x = x.reshape(N, 1, H, W)
        for conv, norm in zip(self.layers, self.norms):
            x = F.relu(norm(conv(x), idx))
        out = self.out(x)  # (N, c, H, W) -> (N, c * H * W), channel-major like the MLP's [mu, sigma]
        return out.reshape(N, -1)


class Walkback(nn.Module):
    kind = "walkback"

    def __init__(self, config: WalkbackConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        D = config.n_visible
        n_out = 2 if self.gaussian else 1
        if generator is not None:  # the layers' own init draws from the global RNG: seed it from ours
            seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.net = self._build_net(n_out)
        else:
            self.net = self._build_net(n_out)
        self.register_buffer("prior_mean", torch.full((D,), 0.5 if not self.gaussian else 0.0))
        self.register_buffer("prior_sq", torch.full((D,), 0.5 if not self.gaussian else 1.0))  # E[s^2]
        self._last: dict[str, float] = {}

    def _build_net(self, n_out: int) -> nn.Module:
        cfg = self.config
        return ConvNet(cfg, n_out) if cfg.net == "conv" else MLPNet(cfg, n_out * cfg.n_visible)

    @property
    def gaussian(self) -> bool:
        return self.config.visible == "gaussian"

    # ----- the transition operator -----
    def operator(self, s: Tensor, idx: Tensor | int, T: Tensor | float) -> tuple[Tensor, Tensor | None]:
        """The parameters of ``p_T(. | s)`` at walk step ``idx`` (0-based; a tensor of one per row, or an
        int): Bernoulli logits ``c tanh(((1 - alpha) s + alpha F(s)) / c) / T`` and None, or Gaussian
        (mu, sigma)."""
        cfg = self.config
        N = s.shape[0]
        if not isinstance(idx, Tensor):
            idx = torch.full((N,), int(idx), dtype=torch.long, device=s.device)
        if not isinstance(T, Tensor):
            T = torch.full((N,), float(T), dtype=s.dtype, device=s.device)
        x = torch.cat([s, torch.log2(T)[:, None]], 1) if cfg.temperature_input else s
        out = self.net(x, idx)
        D = cfg.n_visible
        mix = (1 - cfg.alpha) * s + cfg.alpha * out[:, :D]
        if not self.gaussian:
            if cfg.max_logit:
                mix = cfg.max_logit * torch.tanh(mix / cfg.max_logit)
            return mix / T[:, None], None
        return mix, T[:, None] * (F.softplus(out[:, D:]) + MIN_SIGMA)

    def mean_of(self, a: Tensor, sigma: Tensor | None) -> Tensor:
        return a if sigma is not None else torch.sigmoid(a)

    def draw(self, a: Tensor, sigma: Tensor | None, generator: torch.Generator | None) -> Tensor:
        if sigma is None:
            return sample_bernoulli(torch.sigmoid(a), generator)
        return a + sigma * torch.randn(a.shape, generator=generator, device=a.device, dtype=a.dtype)

    @staticmethod
    def log_prob(x: Tensor, a: Tensor, sigma: Tensor | None) -> Tensor:
        """log p(x) per row under Bernoulli logits ``a`` (sigma None) or a Gaussian N(a, sigma^2)."""
        if sigma is None:
            return -F.binary_cross_entropy_with_logits(a, x, reduction="none").sum(1)
        return (-0.5 * ((x - a) / sigma) ** 2 - torch.log(sigma) - 0.5 * math.log(2 * math.pi)).sum(1)

    def transition_log_prob(self, target: Tensor, source: Tensor, idx: Tensor | int, T: Tensor | float) -> Tensor:
        """log p_T(target | source) per row, at walk step ``idx``."""
        a, sigma = self.operator(source, idx, T)
        return self.log_prob(target, a, sigma)

    # ----- the prior p* -----
    def prior_params(self) -> tuple[Tensor, Tensor | None]:
        """p* as (Bernoulli logits, None) or (mean, std)."""
        if not self.gaussian:
            p = self.prior_mean.clamp(EPS, 1 - EPS)
            return torch.log(p) - torch.log1p(-p), None
        var = (self.prior_sq - self.prior_mean ** 2).clamp_min(MIN_SIGMA ** 2)
        return self.prior_mean, var.sqrt()

    def prior_log_prob(self, s: Tensor) -> Tensor:
        a, sigma = self.prior_params()
        return self.log_prob(s, a.expand_as(s), None if sigma is None else sigma.expand_as(s))

    def sample_prior(self, n: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        a, sigma = self.prior_params()
        a = a.expand(n, -1)
        return self.draw(a, None if sigma is None else sigma.expand(n, -1), generator), self.mean_of(a, sigma)

    @torch.no_grad()
    def track_prior(self, s_K: Tensor, rate: float) -> None:
        """Move p*'s first and second moments towards those of the final heated states (rate 1: set them)."""
        self.prior_mean.lerp_(s_K.mean(0), rate)
        self.prior_sq.lerp_((s_K ** 2).mean(0), rate)

    # ----- walks -----
    def heating_temperatures(self, n: int | None = None) -> list[float]:
        """The temperatures of a walk with ``n`` (default N1) steps at T = 1."""
        return temperatures(self.config.n1 if n is None else n, self.config.t_max)

    def draw_n(self, generator: torch.Generator | None) -> int:
        device = None if generator is None else generator.device
        return int(torch.randint(self.config.n1 + 1, (1,), generator=generator, device=device))

    @torch.no_grad()
    def heat_walk(self, x: Tensor, n: int, generator: torch.Generator | None) -> tuple[list[Tensor], list[float]]:
        """The states ``[s_0 = x, s_1, ..., s_K]`` of one heating walk with n steps at T = 1, and the K
        temperatures."""
        temps = temperatures(n, self.config.t_max)
        states = [x]
        for t, T in enumerate(temps):
            a, sigma = self.operator(states[-1], t, T)
            states.append(self.draw(a, sigma, generator))
        return states, temps

    def reverse_log_probs(self, states: list[Tensor], temps: list[float]) -> Tensor:
        """(K, B): log p_{T_t}(s_{t-1} | s_t) for each step t of a walk, in one batched pass."""
        K, B = len(temps), states[0].shape[0]
        dev, dt = states[0].device, states[0].dtype
        idx = torch.arange(K, device=dev).repeat_interleave(B)
        T = torch.tensor(temps, device=dev, dtype=dt).repeat_interleave(B)
        return self.transition_log_prob(torch.cat(states[:-1]), torch.cat(states[1:]), idx, T).reshape(K, B)

    @torch.no_grad()
    def walk_log_weights(self, x: Tensor, n: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """One heating walk q from each row of ``x``: its log importance weight
        ``log p*(s_K) + sum_t log p_{T_t}(s_{t-1} | s_t) - sum_t log q_{T_t}(s_t | s_{t-1})`` (B,), whose mean
        is the lower bound of Eq. 3.5, and the reverse terms (K, B). q is the operator itself, heating."""
        temps = temperatures(n, self.config.t_max)
        states, log_q = [x], torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
        for t, T in enumerate(temps):
            a, sigma = self.operator(states[-1], t, T)
            states.append(self.draw(a, sigma, generator))
            log_q += self.log_prob(states[-1], a, sigma)
        rev = self.reverse_log_probs(states, temps)
        return self.prior_log_prob(states[-1]) + rev.sum(0) - log_q, rev

    # ----- training (called by engine.training.trainer) -----
    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on the weight matrices only, never on biases or normalisation gains."""
        decay, rest = [], []
        for name, p in self.named_parameters():
            (decay if name.endswith("weight") else rest).append(p)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]

    @torch.no_grad()
    def begin_training(self, data: Tensor, generator: torch.Generator | None) -> None:
        """Fresh start: p* set to the moments of the final states of longest walks from (up to 2000) data
        points under the initial operator."""
        idx = torch.randperm(len(data), generator=generator, device=data.device)[:2000]
        states, _ = self.heat_walk(data[idx], self.config.n1, generator)
        self.track_prior(states[-1], 1.0)

    def training_step(self, v: Tensor, generator: torch.Generator | None) -> None:
        """Algorithm 1 on a mini-batch: one heating walk (one n for the batch), then the gradient of
        ``sum_t -log p_{T_t}(s_{t-1} | s_t)`` (mean over the batch) into ``.grad``; p* tracks ``s_K``."""
        n = self.draw_n(generator)
        states, temps = self.heat_walk(v, n, generator)
        self.track_prior(states[-1], self.config.prior_rate)
        with torch.enable_grad():
            nll = -self.reverse_log_probs(states, temps)  # (K, B)
            loss = nll.sum(0).mean()
            params = [p for p in self.parameters() if p.requires_grad]
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        for p, g in zip(params, grads):
            p.grad = torch.zeros_like(p) if g is None else g
        self._last = {"loss": float(loss.detach()), "K": float(len(temps))}

    def after_update(self) -> None:
        pass

    @torch.no_grad()
    def monitors(self, v: Tensor, generator: torch.Generator | None) -> dict[str, float]:
        """On one longest walk (n = N1) from each example: the walk-back loss (sum over steps of
        -log p(s_{t-1} | s_t)), its first step (reconstructing the data point), and the one-sample estimate
        of -(Eq. 3.5 lower bound), an upper bound on the NLL in nats."""
        log_w, rev = self.walk_log_weights(v, self.config.n1, generator)
        return {"walkback_loss": float(-rev.sum(0).mean()), "recon_nll": float(-rev[0].mean()),
                "nll_bound": float(-log_w.mean())}

    def train_state(self) -> dict[str, Tensor]:
        return {}  # p* lives in buffers, so the state dict (and every checkpoint) carries it

    def load_train_state(self, state: dict[str, Tensor]) -> None:
        pass

    def chain_images(self, n: int | None = None) -> Tensor | None:
        """Means of the last cooling step of ``n`` (default 64) walks from p*, with a fixed seed: the
        trainer's snapshots of what the model currently generates."""
        gen = torch.Generator(device=self.prior_mean.device).manual_seed(0)
        last = None
        for last in self.cool(n or 64, generator=gen):
            pass
        return last.mean

    # ----- sampling -----
    @torch.inference_mode()
    def cool(self, n_chains: int, *, n: int | None = None, extra_steps: int = 0, init: Tensor | None = None,
             mask: Tensor | None = None, generator: torch.Generator | None = None,
             skip: int = 0) -> Iterator[WalkStep]:
        """The generative walk: ``s_K ~ p*`` (step 0), then ``s_{t-1} ~ p_{T_t}(. | s_t)`` for t = K..1, then
        ``extra_steps`` more steps at T = 1 (with step 1's operator). ``n`` (default N1) sets K; ``skip``
        leaves out the first ``skip`` (hottest) cooling steps, starting from p* at a cooler step.

        With a boolean ``mask`` the states where it is True stay clamped to ``init`` at every step
        (inpainting: the known pixels); the others start from p*.
        """
        cfg = self.config
        temps = temperatures(cfg.n1 if n is None else n, cfg.t_max)
        steps = [(t, temps[t]) for t in reversed(range(len(temps)))][skip:] + [(0, 1.0)] * extra_steps
        s, mean = self.sample_prior(n_chains, generator)
        clamp = fixed = None
        if mask is not None:
            if init is None:
                raise ValueError("clamping needs init values")
            fixed = init.to(s.device, s.dtype).reshape(-1, cfg.n_visible).expand_as(s)
            clamp = mask.to(s.device).reshape(-1, cfg.n_visible).expand_as(s)
            s, mean = torch.where(clamp, fixed, s), torch.where(clamp, fixed, mean)
        yield WalkStep(0, s, mean, steps[0][1] if steps else 1.0)
        for i, (t, T) in enumerate(steps, 1):
            a, sigma = self.operator(s, t, T)
            s, mean = self.draw(a, sigma, generator), self.mean_of(a, sigma)
            if clamp is not None:
                s, mean = torch.where(clamp, fixed, s), torch.where(clamp, fixed, mean)
            yield WalkStep(i, s, mean, T)

    @torch.inference_mode()
    def heat(self, x: Tensor, *, n: int | None = None, generator: torch.Generator | None = None,
             ) -> Iterator[WalkStep]:
        """The heating walk of training from data ``x``: step 0 is x at T = 1, then ``s_t`` at T_t."""
        cfg = self.config
        s = x.to(self.prior_mean.device, torch.float32).reshape(-1, cfg.n_visible)
        yield WalkStep(0, s, s, 1.0)
        for t, T in enumerate(temperatures(cfg.n1 if n is None else n, cfg.t_max)):
            a, sigma = self.operator(s, t, T)
            s = self.draw(a, sigma, generator)
            yield WalkStep(t + 1, s, self.mean_of(a, sigma), T)

    @torch.inference_mode()
    def gibbs(self, n_chains: int, steps: int, *, init: Tensor | None = None, mask: Tensor | None = None,
              every: int = 1, generator: torch.Generator | None = None) -> Iterator[tuple[int, Tensor]]:
        """``steps`` steps of the operator as a sampler, yielding ``(step, means)`` every ``every`` steps.

        Without ``init``: a cooling walk from p* (its K steps, then T = 1 steps; fewer than K steps keep the
        coolest ones). With ``init`` and a ``mask``: the same walk with the states where mask is True clamped
        to ``init`` at every step (inpainting). With ``init`` alone: T = 1 steps from it.
        """
        K = len(temperatures(self.config.n1, self.config.t_max))
        if init is not None and mask is None:
            s = init.to(self.prior_mean.device, torch.float32).reshape(-1, self.config.n_visible)
            for step in range(1, steps + 1):
                a, sigma = self.operator(s, 0, 1.0)
                s = self.draw(a, sigma, generator)
                if step % every == 0 or step == steps:
                    yield step, self.mean_of(a, sigma)
            return
        walk = self.cool(n_chains, extra_steps=max(0, steps - K), skip=max(0, K - steps), init=init, mask=mask,
                         generator=generator)
        for w in walk:
            if w.step and (w.step % every == 0 or w.step == steps):
                yield w.step, w.mean
