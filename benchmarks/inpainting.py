"""Inpainting MNIST test digits: the RBM (clamped Gibbs), Variational Walkback (clamped cooling walk), the
mean-image fill and the nearest training neighbour on the visible pixels.

    python benchmarks/inpainting.py                                    # the README's figures, bundled models
    python benchmarks/inpainting.py --n-test 50 --steps 20             # a smoke run
    python benchmarks/inpainting.py --rbm resources/models/mnist-rbm --completion lowest-f   # the plain RBM

Four masks hide part of each digit (binarised at 0.5): the bottom half, the left half, the centre 14x14 square,
and a random 50% of the pixels (a fresh draw per digit). Each model fills the hidden pixels with the known ones
clamped at every step, through the same clamped samplers the engine's inpaint job drives (``module.gibbs``,
batched over digits, hidden pixels starting from coin flips as in :func:`engine.inpainting.inpaint`); a
completion is the model's pixel means after its last step (the RBM: ``--steps`` Gibbs steps; walkback: its
clamped cooling walk, as the paper inpaints, plus any T = 1 steps up to ``--walkback-steps``). The RBM runs
``--variations`` chains per digit; its completion is their average over the second half of the steps, the
expected completion (the Inpaint view's "average" thumbnail), or with ``--completion lowest-f`` the chain with
the lowest free energy, its most probable completion (the Inpaint view's first variation). The default RBM
is the bundled one fine-tuned for inpainting by multi-prediction with its likelihood
(``resources/models/mnist-rbm-inpaint``, made as ``resources/README.md`` says); the walkback operator has no
free energy to rank by and runs one chain. Scores: the mean squared error on the hidden pixels, and the
accuracy with which a fixed classifier (an MLP trained here on full training digits) recognises the true label
of the completed digit. Target: the best model beats the nearest neighbour on label accuracy for every mask,
and reaches 80% with the bottom half hidden.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import machine, result

MASKS = ("bottom", "left", "centre", "random")
MODELS = ("rbm", "walkback", "mean", "nearest")
ROOT = Path(__file__).resolve().parent.parent


def masks_for(kind: str, n: int, rng) -> "np.ndarray":  # noqa: F821
    """(n, 28, 28) bools, True where the pixel is hidden."""
    import numpy as np

    m = np.zeros((n, 28, 28), bool)
    if kind == "bottom":
        m[:, 14:] = True
    elif kind == "left":
        m[:, :, :14] = True
    elif kind == "centre":
        m[:, 7:21, 7:21] = True
    elif kind == "random":
        m = rng.random((n, 28, 28)) < 0.5
    else:
        raise ValueError(kind)
    return m


def train_classifier(X, y, seed: int, epochs: int = 4):
    """A 784-256-10 ReLU MLP, Adam, trained on full digits: the fixed judge of completed digits."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).long()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=g)
        for i in range(0, len(Xt), 128):
            idx = perm[i:i + 128]
            loss = nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    return net


def predict(net, X) -> "np.ndarray":  # noqa: F821
    import torch

    with torch.no_grad():
        return net(torch.from_numpy(X.astype("float32"))).argmax(1).numpy()


def nearest_fill(X, hidden, train, chunk: int = 200):
    """Each digit's hidden pixels copied from the training digit closest on its visible pixels."""
    import numpy as np
    import torch

    T = torch.from_numpy(train)
    out = X.copy()
    for i in range(0, len(X), chunk):
        x = torch.from_numpy(X[i:i + chunk])
        vis = torch.from_numpy(~hidden[i:i + chunk]).float()
        # sum over visible pixels of (x - t)^2 for binary images: |x|_vis - 2 x.t + |t|_vis
        d = (x * vis).sum(1, keepdim=True) - 2 * (x * vis) @ T.T + vis @ T.T
        best = T[d.argmin(1)].numpy()
        h = hidden[i:i + chunk]
        out[i:i + chunk][h] = best[h]
    return out.astype(np.float32)


def model_fill(module, X, hidden, steps: int, seed: int, variations: int = 1, chunk: int = 10_000,
               completion: str = "lowest-f"):
    """Clamped sampling of a registry model's module: the known pixels stay fixed at every step. With
    ``variations`` > 1 each digit gets that many chains and keeps the one the model ranks first
    (:func:`engine.inpainting.rank_completions`: the lowest free energy; a model without one keeps its
    first chain), as the studio's Inpaint view lists them. ``completion="mean"`` instead averages the pixel
    means of all the chains over their second half: the model's expected completion."""
    import numpy as np
    import torch

    from engine.inpainting import rank_completions

    gen = torch.Generator().manual_seed(seed)
    out = np.empty_like(X)
    per = max(1, chunk // variations)
    for i in range(0, len(X), per):
        x = torch.from_numpy(X[i:i + per]).repeat_interleave(variations, 0)
        known = torch.from_numpy(~hidden[i:i + per]).repeat_interleave(variations, 0)
        noise = (torch.rand(x.shape, generator=gen) < 0.5).float()
        init = torch.where(known, x, noise)
        mean, total, n = init, torch.zeros_like(x), 0
        every = 1 if completion == "mean" else steps
        for step, mean in module.gibbs(len(x), steps, init=init, mask=known, every=every, generator=gen):
            if completion == "mean" and step > steps // 2:
                total, n = total + mean.float(), n + 1
        if completion == "mean":
            expected = torch.where(known, x, total / max(n, 1)).view(-1, variations, x.shape[1]).mean(1)
            out[i:i + per] = expected.numpy()
            continue
        filled = torch.where(known, x, mean.float())
        order, _ = rank_completions(module, filled, groups=len(x) // variations)
        best = order[:, 0] + torch.arange(0, len(x), variations)
        out[i:i + per] = filled[best].numpy()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--walkback", default=str(ROOT / "resources" / "models" / "mnist-walkback"),
                   help="a walkback checkpoint trained on MNIST ('' : no walkback column)")
    p.add_argument("--rbm", default=str(ROOT / "resources" / "models" / "mnist-rbm-inpaint"))
    p.add_argument("--n-test", type=int, default=1000, help="test digits (the first N)")
    p.add_argument("--steps", type=int, default=200, help="Gibbs steps of the RBM chains")
    p.add_argument("--variations", type=int, default=30, help="chains per digit; a model with a free energy "
                   "(the RBM) keeps the one it ranks most probable, as the Inpaint view orders them (1: one "
                   "chain, no choice)")
    p.add_argument("--completion", default="mean", choices=("lowest-f", "mean"), help="the RBM's completion: "
                   "its most probable chain (lowest free energy, the Inpaint view's first) or the mean of all its "
                   "chains over their second half (the expected completion)")
    p.add_argument("--walkback-steps", type=int, default=0, help="steps of the walkback chains (0: its cooling walk "
                   "alone, the paper's clamped inpainting; more continue at T = 1)")
    p.add_argument("--masks", default=",".join(MASKS), help="comma-separated masks to run (default: all four)")
    p.add_argument("--classifier-epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--data-root")
    args = p.parse_args()

    import numpy as np
    import torch

    from engine.settings import data_root
    from engine.training import checkpoint

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    with np.load(data_root(args.data_root) / "mnist.npz", allow_pickle=False) as z:
        train = (z["x_train"].reshape(-1, 784) > 127).astype(np.float32)
        y_train = z["y_train"].astype(np.int64)
        X = (z["x_test"][: args.n_test].reshape(-1, 784) > 127).astype(np.float32)
        y = z["y_test"][: args.n_test].astype(np.int64)
    clf = train_classifier(train, y_train, args.seed, args.classifier_epochs)
    clean_acc = float((predict(clf, X) == y).mean())
    print(f"classifier: {clean_acc:.3f} accuracy on the {len(X)} full test digits "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)

    modules = {"rbm": checkpoint.load(args.rbm, expected_kind="rbm").module}
    if args.walkback:
        modules["walkback"] = checkpoint.load(args.walkback, expected_kind="walkback").module
    walkback_steps = args.walkback_steps
    if "walkback" in modules and not walkback_steps:
        walkback_steps = len(modules["walkback"].heating_temperatures())
    mean_image = train.mean(0)
    rng = np.random.default_rng(args.seed)
    acc: dict[str, dict[str, float | None]] = {}
    mse: dict[str, dict[str, float | None]] = {}
    timing: dict[str, float] = {}
    unknown = set(args.masks.split(",")) - set(MASKS)
    if unknown:
        p.error(f"unknown mask(s) {', '.join(sorted(unknown))}: choose from {', '.join(MASKS)}")
    masks = [m for m in MASKS if m in args.masks.split(",")]
    for kind in MASKS:
        hidden = masks_for(kind, len(X), rng).reshape(len(X), 784)
        if kind not in masks:  # drawn all the same, so a mask's digits and pixels never depend on the others
            continue
        acc[kind], mse[kind] = {}, {}
        for model in MODELS:
            t = time.perf_counter()
            if model == "mean":
                filled = np.where(hidden, mean_image, X)
            elif model == "nearest":
                filled = nearest_fill(X, hidden, train)
            elif model in modules:
                steps = args.steps if model == "rbm" else walkback_steps
                filled = model_fill(modules[model], X, hidden, steps, args.seed,
                                    args.variations if hasattr(modules[model], "free_energy") else 1,
                                    completion=args.completion if model == "rbm" else "lowest-f")
            else:
                acc[kind][model] = mse[kind][model] = None
                continue
            timing[f"{kind}/{model}"] = round(time.perf_counter() - t, 1)
            err = ((filled - X) ** 2 * hidden).sum(1) / hidden.sum(1)
            mse[kind][model] = round(float(err.mean()), 4)
            acc[kind][model] = round(float((predict(clf, filled) == y).mean()), 4)
        print(f"{kind}: " + ", ".join(f"{m} {acc[kind][m]}/{mse[kind][m]}" for m in MODELS), flush=True)

    def cell(kind: str, model: str) -> str:
        a, e = acc[kind][model], mse[kind][model]
        return "n/a" if a is None else f"{100 * a:.1f}% / {e:.3f}"

    print(f"\nlabel accuracy / MSE on the hidden pixels ({len(X)} test digits; RBM {args.steps} Gibbs steps, "
          + (f"the most probable of {args.variations} chains; " if args.completion == "lowest-f"
             else f"the mean of {args.variations} chains; ")
          + f"walkback {walkback_steps} steps; classifier {100 * clean_acc:.1f}% on full digits)")
    print("| mask | " + " | ".join(MODELS) + " |")
    print("|---" * (len(MODELS) + 1) + "|")
    for kind in masks:
        print(f"| {kind} | " + " | ".join(cell(kind, m) for m in MODELS) + " |")
    result({"label_acc": acc, "mse": mse, "classifier_acc": round(clean_acc, 4), "n_test": len(X),
            "steps": args.steps, "variations": args.variations, "completion": args.completion,
            "walkback_steps": walkback_steps, "rbm": args.rbm, "walkback": args.walkback,
            "seconds": timing, "wall_s": round(time.perf_counter() - t0, 1), **machine()})


if __name__ == "__main__":
    main()
