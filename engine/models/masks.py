"""Random inpainting masks: the parts of an image a user might paint over, drawn for training a model to fill
them in (the RBM's multi-prediction training, :meth:`engine.models.rbm.RBM.training_step`)."""
from __future__ import annotations

import math

import torch
from torch import Tensor

#: the kinds of mask, drawn equally often: a half-plane cut anywhere between a quarter and three quarters of the
#: image from any of its four sides, an axis-aligned rectangle, and a random subset of the pixels
KINDS = ("side", "rectangle", "pixels")


def random_masks(n: int, n_visible: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
    """``n`` masks (n, n_visible), True where a pixel is hidden. Visibles that form a square image get all of
    :data:`KINDS`; others (a frame of music, a non-square image the model does not know the shape of) random
    subsets only. Each mask hides at least one pixel and keeps at least one."""
    def uniform(*shape: int) -> Tensor:
        return torch.rand(shape, generator=generator, device=device)

    side = math.isqrt(n_visible)
    rate = 0.2 + 0.6 * uniform(n, 1)  # pixels masks hide 20-80% of the pixels
    masks = uniform(n, n_visible) < rate
    if side * side == n_visible and side >= 4:
        kind = (uniform(n) * len(KINDS)).long()
        yy = torch.arange(side, device=device).view(1, side, 1).expand(n, side, side)
        xx = torch.arange(side, device=device).view(1, 1, side).expand(n, side, side)
        # a half-plane: one of the four sides, cut at a quarter to three quarters of the side
        which = (uniform(n) * 4).long().view(n, 1, 1)
        cut = (side * (0.25 + 0.5 * uniform(n))).long().view(n, 1, 1)
        coord = torch.where(which % 2 == 0, yy, xx)
        coord = torch.where(which >= 2, side - 1 - coord, coord)
        half = coord >= cut
        # a rectangle of a quarter to three quarters of each side, anywhere inside the image
        hw = (side * (0.25 + 0.5 * uniform(n, 2))).long()
        y0 = (uniform(n) * (side - hw[:, 0] + 1)).long().view(n, 1, 1)
        x0 = (uniform(n) * (side - hw[:, 1] + 1)).long().view(n, 1, 1)
        rect = (yy >= y0) & (yy < y0 + hw[:, 0].view(n, 1, 1)) & (xx >= x0) & (xx < x0 + hw[:, 1].view(n, 1, 1))
        spatial = torch.where((kind == 0).view(n, 1, 1), half, rect).reshape(n, n_visible)
        masks = torch.where((kind < 2).view(n, 1), spatial, masks)
    # never all or nothing: a mask with nothing to fill or nothing to go on teaches nothing
    none, every = ~masks.any(1), masks.all(1)
    masks[none, 0] = True
    masks[every, 0] = False
    return masks
