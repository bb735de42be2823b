"""Throughput and quality against scikit-learn's BernoulliRBM (which trains with PCD-1).

Same data (stochastically binarised MNIST, float32), hidden size, batch size and learning rate; one epoch
each from a fresh model, alternated three times in one run; the median throughput of each, their ratio,
each one's test pseudo-log-likelihood (the same estimator and flipped bits for both), and our flops/s as
a fraction of a float32 matmul measured in the same run. Beside it, ``products_fraction``: the same fraction
for the step's three matmul calls alone (the five products, in the shapes and buffers the trainer uses),
timed in a loop with nothing else: the ceiling ``peak_fraction`` can reach at this batch size, since every
step also draws its samples, takes sigmoids and updates the parameters. Ours runs its default recipe (centered PCD-1,
momentum 0.9) through the engine's trainer; scikit-learn has no momentum or centering.

    python benchmarks/rbm_vs_sklearn.py
"""
from __future__ import annotations

import argparse
import statistics
import time

from _common import machine, matmul_peak, result


def products_seconds(B: int, V: int, H: int, reps: int = 200) -> float:
    """Seconds a PCD-1 step spends in its matmuls alone (best of five loops of ``reps`` steps), in the
    trainer's shapes: the chains' visible means, the data's and chains' hidden probabilities in one
    ``addmm``, and the weight gradient in one ``mm``."""
    import torch

    W, c, b = torch.randn(V, H) * 0.01, torch.zeros(H), torch.zeros(V)
    h, X, Q = torch.rand(B, H), torch.rand(2 * B, V), torch.rand(2 * B, H)
    mean, grad = torch.empty(B, V), torch.empty(V, H)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            torch.addmm(b, h, W.T, out=mean)
            torch.addmm(c, X, W, out=Q)
            torch.mm(X.T, Q, out=grad)
        times.append((time.perf_counter() - t) / reps)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data-root")
    args = p.parse_args()

    import torch
    from sklearn.neural_network import BernoulliRBM

    from engine import Engine, jobs
    from engine.data import load_dataset
    from engine.models.rbm import StandardParams, pseudo_log_likelihood
    from engine.training.trainer import train

    spec = {"name": "mnist", **({"root": args.data_root} if args.data_root else {})}
    data = load_dataset(spec)
    X, Xt = data.train, torch.from_numpy(data.test)
    N, V, H = len(X), X.shape[1], args.hidden
    flops_per_epoch = 5 * 2 * (N // args.batch) * args.batch * V * H  # 3 products a step + 2 for the gradient

    def test_pl(W, b, c) -> float:
        p = StandardParams(torch.as_tensor(W, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32),
                           torch.as_tensor(c, dtype=torch.float32), None)
        return pseudo_log_likelihood(p, Xt, torch.Generator().manual_seed(123)).mean().item()

    # every torch computation runs on the engine's thread: libgomp keeps a team of threads per calling
    # thread, and once a second team exists (more threads than cores) each spins less between parallel
    # regions; measured here, one matmul on the main thread took a training epoch from 1.5 s to 2.9 s
    engine = Engine(device="cpu")
    ours_t, sk_t, ours_pl, sk_pl, peaks, prods = [], [], [], [], [], []
    for r in range(args.rounds):
        peaks.append(engine.call(lambda ctx: matmul_peak()))
        prods.append(engine.call(lambda ctx: products_seconds(args.batch, V, H)))
        rbm = BernoulliRBM(n_components=H, learning_rate=args.lr, batch_size=args.batch, n_iter=1,
                           random_state=r)
        t = time.perf_counter()
        rbm.fit(X)
        sk_t.append(time.perf_counter() - t)
        sk_pl.append(engine.call(lambda ctx: test_pl(rbm.components_.T, rbm.intercept_visible_,
                                                       rbm.intercept_hidden_)))

        name = engine.call(jobs.create_model, "rbm", {"n_visible": V, "n_hidden": H}, name="ours", seed=r)["name"]
        tc = {"epochs": 1, "batch_size": args.batch, "lr": args.lr, "seed": r, "monitor_every": 10**6}
        t = time.perf_counter()
        engine.submit(train, name, data, tc).result()
        ours_t.append(time.perf_counter() - t)
        sp = engine.call(lambda ctx: ctx.registry[name].module.standard_params())
        ours_pl.append(engine.call(lambda ctx: test_pl(sp.W, sp.b, sp.c)))
        engine.call(lambda ctx: ctx.registry.remove(name))
        print(f"round {r + 1}: sklearn {sk_t[-1]:.2f} s (PL {sk_pl[-1]:.2f}), ours {ours_t[-1]:.2f} s "
              f"(PL {ours_pl[-1]:.2f}), matmul {peaks[-1] / 1e9:.0f} GFLOP/s", flush=True)
    engine.shutdown()
    ours, sk = statistics.median(ours_t), statistics.median(sk_t)
    peak = statistics.median(peaks)
    ratio = sk / ours
    frac = flops_per_epoch / ours / peak
    prod_epoch = statistics.median(prods) * (N // args.batch)  # an epoch's matmuls alone
    print("| | s/epoch | examples/s | test pseudo-LL |")
    print(f"| scikit-learn BernoulliRBM | {sk:.2f} | {N / sk:.0f} | {statistics.median(sk_pl):.2f} |")
    print(f"| Boltzmann Studio | {ours:.2f} | {N / ours:.0f} | {statistics.median(ours_pl):.2f} |")
    result({"throughput_ratio": round(ratio, 3), "ours_pl": round(statistics.median(ours_pl), 3),
            "sklearn_pl": round(statistics.median(sk_pl), 3), "peak_fraction": round(frac, 3),
            "products_fraction": round(flops_per_epoch / prod_epoch / peak, 3),
            "products_share": round(prod_epoch / ours, 3),
            "ours_s_per_epoch": round(ours, 3), "sklearn_s_per_epoch": round(sk, 3),
            "matmul_gflops": round(peak / 1e9, 1), "ours_gflops": round(flops_per_epoch / ours / 1e9, 1),
            "hidden": H, "batch": args.batch, "lr": args.lr, "rounds": args.rounds, **machine()})


if __name__ == "__main__":
    main()
