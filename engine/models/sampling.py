"""Binary sampling, the hot loop of every model here.

:func:`sample_bernoulli` is exact to float32 and is what evaluation (AIS) and user-facing sampling use.
:class:`Bernoulli16` is the training chains' sampler: it cuts 64-bit random words into four 16-bit
uniforms and reuses its buffers, so a draw costs about a third of ``uniform_``'s (which makes 32 random
bits and a fresh float per value). A probability is resolved to 2^-16 (a unit with p below 7.6e-6 never
fires, one above 1 - 7.6e-6 always does): far below the noise of a stochastic gradient.
"""
from __future__ import annotations

import torch
from torch import Tensor

#: a 64-bit word is four 16-bit uniforms; ``random_`` needs the full range spelt out to fill all 64 bits
_LO, _HI = -2**63, 2**63 - 1


def sample_bernoulli(p: Tensor, generator: torch.Generator | None, out: Tensor | None = None) -> Tensor:
    """Binary samples with probabilities ``p``: a uniform draw compared with ``p``.

    About 3.7x faster on these CPUs than ``torch.bernoulli``.
    """
    u = torch.empty_like(p).uniform_(generator=generator)
    if out is None:
        return torch.lt(u, p).to(p.dtype)
    return torch.lt(u, p, out=out)


class Bernoulli16:
    """Bernoulli draws with 16-bit uniforms, into reused buffers (see the module docstring).

    One instance per model; the draws depend only on the generator, so a resumed run repeats them.
    """

    def __init__(self) -> None:
        self._words: Tensor | None = None
        self._u: Tensor | None = None

    def uniform(self, shape: torch.Size | tuple[int, ...], generator: torch.Generator | None,
                device: torch.device) -> Tensor:
        """Uniforms on the grid (k + 1/2) / 65536 in (0, 1), valid until the next call."""
        n = 1
        for s in shape:
            n *= s
        words = (n + 3) // 4
        if self._words is None or self._words.numel() < words or self._words.device != device:
            self._words = torch.empty(words, dtype=torch.int64, device=device)
            self._u = torch.empty(4 * words, device=device)
        w = self._words[:words].random_(_LO, _HI, generator=generator)
        u = self._u[:n].view(shape)
        torch.mul(w.view(torch.int16)[:n].view(shape), 1.0 / 65536, out=u)
        return u.add_(0.5 + 0.5 / 65536)

    def __call__(self, p: Tensor, generator: torch.Generator | None, out: Tensor | None = None) -> Tensor:
        u = self.uniform(p.shape, generator, p.device)
        if out is None:
            return torch.lt(u, p).to(p.dtype)
        return torch.lt(u, p, out=out)
