"""Restricted Boltzmann Machines with Bernoulli or Gaussian visibles, trained by CD-k or PCD, and fine-tuned
for inpainting by multi-prediction training.

Energy, with ``x = v / sigma`` (``sigma = 1`` for Bernoulli visibles) and offsets ``mu`` (visible) and
``lam`` (hidden) that are zero unless the RBM is *centered* (Melchior, Fischer & Wiskott, JMLR 2016)::

    E(v, h) = V(v) - (x - mu)^T W (h - lam) - c^T h
    V(v) = -b^T v                       (Bernoulli)
    V(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2)   (Gaussian, as Eq. 2 of the RTRBM paper when sigma = 1)

Centering changes the gradient, not the family of distributions: :meth:`RBM.standard_params` gives the
equivalent plain RBM (W, b, c, sigma), which every evaluation routine uses. Gradients are written by hand
into ``.grad`` (one fused matmul for the positive and negative hidden statistics and one for the weight
gradient): that runs near this CPU's matmul peak, a third faster than an autograd surrogate.

Multi-prediction training (``sampler="mp"``; Goodfellow, Mirza, Courville & Bengio, "Multi-Prediction Deep
Boltzmann Machines", NIPS 2013) instead back-propagates through inference: each example gets a random mask
(:func:`engine.models.masks.random_masks`: a half, a rectangle or a random subset of the pixels), its hidden
pixels start at 0.5 (Gaussian: 0) and ``k`` clamped mean-field steps ``q <- E[v | E[h | q]]`` fill them; the
cost is the cross-entropy (Gaussian: the squared error over 2 sigma^2) of the true pixels under the last step.
It trains the conditionals that clamped Gibbs sampling draws from, so inpainting improves; alone it blurs the
RBM's free samples, so ``likelihood_weight`` (default 1) adds that much of the PCD-k gradient, which keeps the
model of whole images sharp (and, on MNIST, inpaints better still: ``benchmarks/inpainting.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.config import param
from engine.models.masks import random_masks
from engine.models.sampling import Bernoulli16, sample_bernoulli

SAMPLERS = ("cd", "pcd", "mp")


@dataclass
class RBMConfig:
    n_visible: int = param(784, "Number of visible units (pixels).", min=1, max=1_000_000)
    n_hidden: int = param(500, "Number of hidden units.", min=1, max=100_000)
    visible: str = param("bernoulli", "Visible units: binary (bernoulli) or real-valued with unit "
                         "variance on standardised data (gaussian).", choices=("bernoulli", "gaussian"))
    learn_sigma: bool = param(False, "Gaussian visibles only: learn a standard deviation per visible unit.")
    sampler: str = param("pcd", "Learning rule: contrastive divergence, its negative phase from the data (cd) or "
                         "from persistent chains kept across updates (pcd); or multi-prediction (mp), which "
                         "teaches the RBM to inpaint: random parts of each image are hidden and filled in by "
                         "mean-field steps with the rest clamped, and the error is back-propagated. Best as a "
                         "fine-tune of an RBM trained by PCD.", choices=SAMPLERS, label="Learning rule")
    k: int = param(1, "Gibbs steps per update (mp: mean-field steps of each completion).", min=1, max=1000)
    likelihood_weight: float = param(1.0, "mp only: weight of the likelihood gradient (PCD-k, its chains kept "
                                     "across updates) added to the multi-prediction one, so that the RBM stays a "
                                     "sharp model of whole images while it learns to inpaint (0: multi-prediction "
                                     "alone; its samples blur).", min=0.0, max=100.0, label="Likelihood weight")
    n_chains: int = param(0, "Persistent chains for PCD (0: one per example of a mini-batch).", min=0,
                          max=100_000)
    centered: bool = param(True, "Centre visibles and hiddens by their means (Melchior et al. 2016): "
                           "much better likelihoods at the same cost.")
    offset_rate: float = param(0.01, "Sliding-average rate of the hidden offsets (centered RBMs).",
                               min=0.0, max=1.0)
    init_std: float = param(0.01, "Standard deviation of the initial weights.", min=0.0, max=10.0)

    def validate(self) -> None:
        if self.learn_sigma and self.visible != "gaussian":
            raise ValueError("learn_sigma needs gaussian visibles")


@dataclass
class StandardParams:
    """A plain (uncentered) RBM: the form evaluation code works with."""

    W: Tensor
    b: Tensor
    c: Tensor
    sigma: Tensor | None  # None for Bernoulli visibles

    @property
    def gaussian(self) -> bool:
        return self.sigma is not None


class RBM(nn.Module):
    kind = "rbm"
    #: options that only say how the RBM learns: :func:`engine.jobs.retune` changes them on a trained model
    TRAINING_OPTIONS = ("sampler", "k", "likelihood_weight", "n_chains", "offset_rate")

    def __init__(self, config: RBMConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        V, H = config.n_visible, config.n_hidden
        self.W = nn.Parameter(torch.randn(V, H, generator=generator) * config.init_std)
        self.b = nn.Parameter(torch.zeros(V))
        self.c = nn.Parameter(torch.zeros(H))
        if config.learn_sigma:
            self.log_sigma = nn.Parameter(torch.zeros(V))
        else:
            self.register_buffer("log_sigma", torch.zeros(V))
        self.register_buffer("mu", torch.zeros(V))
        self.register_buffer("lam", torch.zeros(H))
        # persistent chains, hidden states (PCD): a buffer, so it moves with the model, outside the weights
        self.register_buffer("chain_h", None, persistent=False)
        self._bern = Bernoulli16()
        self._work: dict[str, Tensor] = {}
        self._pos_hidden_mean: Tensor | None = None

    # ----- the distribution -----
    @property
    def gaussian(self) -> bool:
        return self.config.visible == "gaussian"

    def sigma(self) -> Tensor:
        return self.log_sigma.exp()

    def standard_params(self) -> StandardParams:
        """The equivalent uncentered RBM: ``b_u = b - sigma * (W lam)``, ``c_u = c - W^T mu``."""
        with torch.no_grad():
            sigma = self.sigma() if self.gaussian else None
            Wl = self.W @ self.lam
            b = self.b - (Wl * sigma if sigma is not None else Wl)
            c = self.c - self.mu @ self.W
            return StandardParams(self.W.detach(), b, c, sigma)

    def scaled(self, v: Tensor, sigma: Tensor | None) -> Tensor:
        return v / sigma if sigma is not None else v

    def hidden_probs(self, v: Tensor, p: StandardParams | None = None) -> Tensor:
        p = p or self.standard_params()
        return torch.sigmoid(torch.addmm(p.c, self.scaled(v, p.sigma), p.W))

    def visible_mean(self, h: Tensor, p: StandardParams | None = None) -> Tensor:
        p = p or self.standard_params()
        if p.sigma is None:
            return torch.sigmoid(torch.addmm(p.b, h, p.W.T))
        return p.b + p.sigma * (h @ p.W.T)

    def sample_visible(self, mean: Tensor, p: StandardParams, generator: torch.Generator | None) -> Tensor:
        if p.sigma is None:
            return sample_bernoulli(mean, generator)
        return mean + p.sigma * torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)

    def free_energy(self, v: Tensor, p: StandardParams | None = None) -> Tensor:
        """F(v) = -log sum_h exp(-E(v, h)), one value per row."""
        p = p or self.standard_params()
        return free_energy(p, v)

    # ----- training (called by engine.training.trainer) -----
    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on the weights only, never on biases or variances."""
        rest = [self.b, self.c] + ([self.log_sigma] if self.config.learn_sigma else [])
        return [{"params": [self.W], "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]

    @torch.no_grad()
    def begin_training(self, data: Tensor, generator: torch.Generator | None) -> None:
        """Fresh start: visible biases from the data's means, offsets, and PCD chains at data points."""
        mean = data.mean(0)
        if self.gaussian:
            self.b.copy_(mean)
        else:
            q = mean.clamp(1e-3, 1 - 1e-3)
            self.b.copy_(torch.log(q / (1 - q)))
        if self.config.centered:
            old_mu = self.mu.clone()
            self.mu.copy_(self.scaled(mean, self.sigma() if self.gaussian else None))
            self.c.add_((self.mu - old_mu) @ self.W)  # keep the distribution while moving the offset
            self.lam.fill_(0.5)  # the hidden means of a fresh model; b moves so that b_u stays logit(mean)
            self.b.add_(self._sigma_or_one() * (self.W @ self.lam))
        n = self.config.n_chains or 0
        if self.config.sampler == "pcd" and n:
            self.init_chains(data, n, generator)

    def _sigma_or_one(self) -> Tensor | float:
        return self.sigma() if self.gaussian else 1.0

    def forget_chains(self) -> None:
        """Drop the persistent chains: the next PCD update starts them afresh at data points."""
        self.chain_h = None

    @torch.no_grad()
    def init_chains(self, data: Tensor, n: int, generator: torch.Generator | None) -> None:
        idx = torch.randint(len(data), (n,), generator=generator, device=data.device)
        self.chain_h = sample_bernoulli(self.hidden_probs(data[idx]), generator)

    def _centred_hidden_probs(self, xc: Tensor) -> Tensor:
        return torch.sigmoid_(torch.addmm(self.c, xc, self.W))

    def _centred_visible_mean(self, h: Tensor, out: Tensor | None = None) -> Tensor:
        hc = h - self.lam if self.config.centered else h
        if self.gaussian:
            return torch.mm(hc, self.W.T, out=out).mul_(self.sigma()).add_(self.b)
        return torch.sigmoid_(torch.addmm(self.b, hc, self.W.T, out=out))

    def _centred_visibles(self, v: Tensor) -> Tensor:
        x = v / self.sigma() if self.gaussian else v
        return x - self.mu if self.config.centered else x

    def _scratch(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """A work buffer kept across updates (fresh 300 kB tensors each update cost page faults)."""
        t = self._work.get(name)
        if t is None or t.shape != shape or t.device != like.device or t.dtype != like.dtype:
            t = self._work[name] = torch.empty(shape, device=like.device, dtype=like.dtype)
        return t

    @torch.no_grad()
    def training_step(self, v_pos: Tensor, generator: torch.Generator | None) -> None:
        """Write the CD-k / PCD-k estimate of the negative log-likelihood gradient into ``.grad``; with the
        ``mp`` rule the multi-prediction gradient plus ``likelihood_weight`` times the PCD-k one.

        Works in the centred parametrisation directly: visibles and hiddens are centred before the matmuls,
        so the centred gradient costs nothing over the plain one. The data rows and the chains' rows share
        one matmul for their hidden probabilities and one for the weight gradient; the chains draw with
        :class:`~engine.models.sampling.Bernoulli16`.
        """
        cfg = self.config
        if cfg.sampler != "mp":
            self._likelihood_step(v_pos, generator, persistent=cfg.sampler == "pcd")
            return
        weight = cfg.likelihood_weight
        if weight:
            self._likelihood_step(v_pos, generator, persistent=True)
            for p in self.parameters():
                if p.grad is not None:
                    p.grad.mul_(weight)
        else:
            for p in self.parameters():
                p.grad = None
            self._pos_hidden_mean = None  # the offsets stay put: they do not change the distribution anyway
        with torch.enable_grad():  # adds the multi-prediction gradient to what is there
            self._multi_prediction_step(v_pos, generator)

    def _likelihood_step(self, v_pos: Tensor, generator: torch.Generator | None, persistent: bool) -> None:
        """The CD-k (PCD-k when ``persistent``) gradient into ``.grad``."""
        cfg = self.config
        B = v_pos.shape[0]
        sigma = self.sigma() if self.gaussian else None
        bern = self._bern
        if persistent:
            if self.chain_h is None or (cfg.n_chains == 0 and self.chain_h.shape[0] != B):
                self.init_chains(v_pos, cfg.n_chains or B, generator)
            h = self.chain_h
        else:
            h = bern(self._centred_hidden_probs(self._centred_visibles(v_pos)), generator)
        N = h.shape[0]
        X = self._scratch("x", (B + N, cfg.n_visible), v_pos)  # data rows, then the chains' visibles
        Q = self._scratch("q", (B + N, cfg.n_hidden), v_pos)  # their hidden probabilities
        x_neg = X[B:]
        for step in range(cfg.k):
            if step:
                h = bern(self._centred_hidden_probs(self._centred_visibles(x_neg)), generator)
            mean = self._centred_visible_mean(h, out=self._scratch("mean", tuple(x_neg.shape), v_pos))
            if sigma is None:
                bern(mean, generator, out=x_neg)
            else:
                torch.randn(x_neg.shape, generator=generator, device=x_neg.device, out=x_neg)
                x_neg.mul_(sigma).add_(mean)
        v_neg = x_neg.clone() if cfg.learn_sigma else None
        X[:B].copy_(v_pos)
        if sigma is not None:
            X.div_(sigma)
        d_x = X[B:].mean(0) - X[:B].mean(0)
        if cfg.centered:
            X.sub_(self.mu)
        torch.addmm(self.c, X, self.W, out=Q).sigmoid_()
        if persistent:
            self.chain_h = bern(Q[B:], generator, out=torch.empty_like(h))
        pos_mean = Q[:B].mean(0)
        d_h = Q[B:].mean(0) - pos_mean
        if cfg.centered:
            Q.sub_(self.lam)
            self._pos_hidden_mean = pos_mean
        Q[:B].mul_(-1.0 / B)
        Q[B:].mul_(1.0 / N)
        if self.W.grad is None:
            self.W.grad = torch.empty_like(self.W)
        torch.mm(X.T, Q, out=self.W.grad)  # the centred weight gradient, in one matmul
        self.c.grad = d_h
        self.b.grad = d_x / sigma if sigma is not None else d_x
        if cfg.learn_sigma:
            self.log_sigma.grad = self._log_sigma_grad(v_pos, v_neg, self.standard_params())

    def completion_cost(self, v: Tensor, hidden: Tensor) -> Tensor:
        """Multi-prediction cost of ``v`` (B, V) with the pixels where ``hidden`` is True filled in by ``k``
        clamped mean-field steps: per example, the negative log-likelihood of the true hidden pixels under the
        last step's means (differentiable in the parameters)."""
        sigma = self.sigma() if self.gaussian else None
        b = self.b - (self.W @ self.lam) * (sigma if sigma is not None else 1.0)  # standard_params(), as
        c = self.c - self.mu @ self.W  # functions of the trained parameters
        q = torch.where(hidden, torch.full_like(v, 0.0 if sigma is not None else 0.5), v)
        pre = q
        for _ in range(self.config.k):
            h = torch.sigmoid(torch.addmm(c, q / sigma if sigma is not None else q, self.W))
            pre = h @ self.W.T
            if sigma is None:
                pre = pre + b
                q = torch.where(hidden, torch.sigmoid(pre), v)
            else:
                pre = b + sigma * pre
                q = torch.where(hidden, pre, v)
        if sigma is None:
            err = F.binary_cross_entropy_with_logits(pre, v, reduction="none")
        else:
            err = ((v - pre) / sigma) ** 2 / 2
        return (err * hidden).sum(1)

    def _multi_prediction_step(self, v: Tensor, generator: torch.Generator | None) -> None:
        """Add the gradient of the mean multi-prediction cost of a batch (random masks) to ``.grad``."""
        hidden = random_masks(v.shape[0], self.config.n_visible, generator, v.device)
        self.completion_cost(v, hidden).mean().backward()

    def _log_sigma_grad(self, v_pos: Tensor, v_neg: Tensor, p: StandardParams) -> Tensor:
        """d(-log p)/d(log sigma) = <dF/ds>_data - <dF/ds>_model (centred form, b and lam as stored):

        dF/ds_i = -(v_i - b_i)^2 / sigma_i^2 + x_i (W (h - lam))_i
        """
        def dF(v: Tensor) -> Tensor:
            x = v / p.sigma
            h = torch.sigmoid(torch.addmm(p.c, x, p.W))
            return (-((v - self.b) / p.sigma) ** 2 + x * ((h - self.lam) @ p.W.T)).mean(0)
        return dF(v_pos) - dF(v_neg)

    @torch.no_grad()
    def after_update(self) -> None:
        """Slide the hidden offset towards the data's hidden means, keeping the distribution unchanged."""
        if self.config.centered and self._pos_hidden_mean is not None:
            new = torch.lerp(self.lam, self._pos_hidden_mean, self.config.offset_rate)
            self.b.add_(self._sigma_or_one() * (self.W @ (new - self.lam)))
            self.lam.copy_(new)

    @torch.no_grad()
    def monitors(self, v: Tensor, generator: torch.Generator | None) -> dict[str, float]:
        """Reconstruction error, mean free energy and (Bernoulli) pseudo-log-likelihood of a batch."""
        p = self.standard_params()
        h = sample_bernoulli(self.hidden_probs(v, p), generator)
        recon = ((v - self.visible_mean(h, p)) ** 2).sum(1).mean().item()
        out = {"recon_error": recon, "free_energy": free_energy(p, v).mean().item()}
        if p.sigma is None:
            out["pseudo_ll"] = pseudo_log_likelihood(p, v, generator).mean().item()
        return out

    def train_state(self) -> dict[str, Tensor]:
        return {} if self.chain_h is None else {"chain_h": self.chain_h}

    def load_train_state(self, state: dict[str, Tensor]) -> None:
        h = state.get("chain_h")
        self.chain_h = None if h is None else h.to(self.W.device)

    @torch.no_grad()
    def chain_images(self, n: int | None = None) -> Tensor | None:
        """The visible means of the persistent chains (what the model currently 'dreams')."""
        if self.chain_h is None:
            return None
        h = self.chain_h if n is None else self.chain_h[:n]
        return self.visible_mean(h)

    # ----- sampling -----
    @torch.inference_mode()
    def gibbs(self, n_chains: int, steps: int, *, init: Tensor | None = None, mask: Tensor | None = None,
              every: int = 1, generator: torch.Generator | None = None) -> Iterator[tuple[int, Tensor]]:
        """Run ``n_chains`` Gibbs chains, yielding ``(step, visible means)`` every ``every`` steps.

        ``init`` starts the chains from given visibles (default: noise). With a boolean ``mask`` the
        visibles where it is True stay clamped to ``init``: inpainting, or continuing a melody.
        """
        p = self.standard_params()
        dev = self.W.device
        if init is None:
            if mask is not None:
                raise ValueError("clamping needs init values")
            shape = (n_chains, self.config.n_visible)
            v = (torch.randn(shape, generator=generator, device=dev) if p.sigma is not None
                 else sample_bernoulli(torch.full(shape, 0.5, device=dev), generator))
        else:
            v = init.to(dev, torch.float32).reshape(-1, self.config.n_visible).clone()
        clamp = None if mask is None else mask.to(dev).reshape(-1, self.config.n_visible).expand_as(v)
        fixed = v.clone()
        mean = v
        for step in range(1, steps + 1):
            h = sample_bernoulli(self.hidden_probs(v, p), generator)
            mean = self.visible_mean(h, p)
            v = self.sample_visible(mean, p, generator)
            if clamp is not None:
                v = torch.where(clamp, fixed, v)
                mean = torch.where(clamp, fixed, mean)
            if step % every == 0 or step == steps:
                yield step, mean


def free_energy(p: StandardParams, v: Tensor) -> Tensor:
    """Free energy of a plain RBM, one value per row of ``v``."""
    if p.sigma is None:
        return -(v @ p.b) - F.softplus(torch.addmm(p.c, v, p.W)).sum(1)
    x = v / p.sigma
    return (((v - p.b) / p.sigma) ** 2).sum(1) / 2 - F.softplus(torch.addmm(p.c, x, p.W)).sum(1)


def pseudo_log_likelihood(p: StandardParams, v: Tensor, generator: torch.Generator | None) -> Tensor:
    """Stochastic pseudo-log-likelihood per row: D * log sigmoid(F(v with one random bit flipped) - F(v)).

    An unbiased estimate of the sum over all D bits (the estimator scikit-learn's BernoulliRBM uses).
    """
    D = v.shape[1]
    i = torch.randint(D, (v.shape[0],), generator=generator, device=v.device)
    flipped = v.clone()
    rows = torch.arange(v.shape[0], device=v.device)
    flipped[rows, i] = 1 - flipped[rows, i]
    return D * F.logsigmoid(free_energy(p, flipped) - free_energy(p, v))
