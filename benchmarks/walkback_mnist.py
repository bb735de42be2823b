"""Variational Walkback on binarised MNIST within a wall-clock budget: the Eq. 3.5 lower bound and the Eq. 3.10
importance-sampling estimate on the test set, the reversibility of the operator, and a grid of samples.

    python benchmarks/walkback_mnist.py                         # 10 min budget, the recipe below
    python benchmarks/walkback_mnist.py --budget-s 30 --test-examples 100 --is-samples 5   # a smoke run

Trains through the engine's train job and evaluates through its evaluation job (the code the CLI and the
studio run). The default recipe (MLP 784-1024-1024-784, Adam 1e-3 with a cosine decay to 1e-4, batches of
100, Tmax 16, N1 2, alpha 0.5, logits soft-bounded at 6, per-step LayerNorm, temperature input) is one that
learns within minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import machine, result, schedule_args


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget-s", type=float, default=600, help="training seconds (default 600)")
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--net", default="mlp", choices=("mlp", "conv"))
    p.add_argument("--t-max", type=float, default=16.0)
    p.add_argument("--n1", type=int, default=2)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--norm", default="step", choices=("step", "shared", "none"))
    p.add_argument("--max-logit", type=float, default=6.0, help="soft bound on the operator's logits (0: none)")
    p.add_argument("--lr", type=float, default=1e-3)
    schedule_args(p, "cosine", 0.1)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--binarize", default="stochastic", choices=("threshold", "stochastic"),
                   help="stochastic (default: comparable with the RBM benchmark) or threshold (cleaner digits, "
                   "the binarisation of the inpainting benchmark)")
    p.add_argument("--test-examples", type=int, default=1000, help="test digits evaluated (0: all 10000)")
    p.add_argument("--is-samples", type=int, default=50, help="heating walks per digit of the Eq. 3.10 estimate")
    p.add_argument("--extra-steps", type=int, default=0, help="T = 1 steps after cooling, for the samples grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--data-root")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="runs/bench-walkback-mnist", help="where the trained model is saved")
    p.add_argument("--png", default="runs/bench-walkback-mnist-samples.png", help="samples grid")
    args = p.parse_args()

    import numpy as np
    import torch

    from engine import Engine, jobs
    from engine.data import load_dataset
    from engine.evaluation.walkback import evaluate_walkback
    from engine.training.trainer import train
    from engine.utils.images import save_png, tile

    if args.threads:
        torch.set_num_threads(args.threads)
    spec = {"name": "mnist", "binarize": args.binarize}
    if args.data_root:
        spec["root"] = args.data_root
    data = load_dataset(spec)
    engine = Engine(device=args.device)
    cfg = {"n_visible": 784, "n_hidden": args.hidden, "n_layers": args.layers, "net": args.net,
           "t_max": args.t_max, "n1": args.n1, "alpha": args.alpha, "norm": args.norm,
           "max_logit": args.max_logit}
    name = engine.call(jobs.create_model, "walkback", cfg, name="mnist-walkback", seed=args.seed)["name"]
    tc = {"epochs": 100_000, "batch_size": args.batch, "lr": args.lr, "optimizer": "adam", "momentum": 0.9,
          "lr_schedule": args.lr_schedule, "lr_final": args.lr_final, "seed": args.seed,
          "time_budget_s": args.budget_s, "monitor_every": 500, "monitor_size": 500}
    t0 = time.perf_counter()
    out = engine.submit(train, name, data, tc).result()
    train_s = time.perf_counter() - t0
    print(f"trained {out['epoch']:.2f} epochs ({out['step']} updates) in {train_s:.0f} s: {out['last']}",
          flush=True)
    folder = engine.call(jobs.save_model, name, args.out)
    t1 = time.perf_counter()
    r = engine.submit(evaluate_walkback, name, data, "test", n_examples=args.test_examples,
                      n_samples=args.is_samples, seed=args.seed).result()
    eval_s = time.perf_counter() - t1
    final = engine.submit(jobs.walkback, name, "cool", n_chains=100, extra_steps=args.extra_steps,
                          seed=args.seed).result()
    engine.shutdown()
    png = save_png(tile(np.asarray(final["images"])), args.png, scale=2)
    print("| hidden | Tmax | N1 | epochs | train s | test bound (nats) | test IS estimate (nats) | entropy "
          "production (nats/step) |")
    print(f"| {args.hidden} | {args.t_max:g} | {args.n1} | {out['epoch']:.2f} | {train_s:.0f} | "
          f"{r['test_bound']:.2f} | {r.get('test_is_ll', float('nan')):.2f} (M={args.is_samples}) | "
          f"{r['entropy_production']:.3f} +/- {r['entropy_production_se']:.3f} |")
    print(f"saved to {folder}; samples grid {png}")
    result({"test_bound": round(r["test_bound"], 3), "test_is_ll": round(r.get("test_is_ll", float("nan")), 3),
            "is_samples": args.is_samples, "test_examples": r["n"], "walk_steps": r["walk_steps"],
            "entropy_production": round(r["entropy_production"], 4),
            "entropy_production_se": round(r["entropy_production_se"], 4),
            "forward_nll": round(r["forward_nll"], 3), "backward_nll": round(r["backward_nll"], 3),
            "epochs": round(out["epoch"], 3), "updates": out["step"], "wall_s": round(train_s, 1),
            "eval_s": round(eval_s, 1), "final_monitors": {k: round(v, 4) for k, v in out["last"].items()},
            "hidden": args.hidden, "layers": args.layers, "net": args.net, "t_max": args.t_max, "n1": args.n1,
            "alpha": args.alpha, "norm": args.norm, "max_logit": args.max_logit, "lr": args.lr, "batch": args.batch,
            "binarize": args.binarize, "budget_s": args.budget_s, "checkpoint": str(Path(folder)),
            "samples_png": str(png), **machine()})


if __name__ == "__main__":
    main()
