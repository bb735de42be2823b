"""MNIST RBM quality within a wall-clock budget: train with (centered) PCD, then the AIS test log-likelihood.

    python benchmarks/rbm_mnist.py                      # 500 hidden, 20 min budget, the defaults below
    python benchmarks/rbm_mnist.py --budget 900         # the 15-minute goal

Trains through the engine's train job and evaluates through its evaluate job (the code the CLI and the studio
run). Target: >= -88 nats within 20 minutes on 2 CPU cores; goal -85 within 15.
"""
from __future__ import annotations

import argparse
import time

from _common import machine, result, schedule_args


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=1200, help="training seconds (default 1200)")
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--sampler", default="pcd", choices=("pcd", "cd"))
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--centered", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--lr", type=float, default=0.01)
    schedule_args(p, "linear", 0.0)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--binarize", default="stochastic", choices=("threshold", "stochastic"))
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--ais-betas", type=int, default=14500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="runs/bench-rbm-mnist", help="where the trained model is saved")
    args = p.parse_args()

    from engine import Engine, jobs
    from engine.data import load_dataset
    from engine.evaluation import evaluate
    from engine.training.trainer import train

    spec = {"name": "mnist", "binarize": args.binarize}
    if args.data_root:
        spec["root"] = args.data_root
    data = load_dataset(spec)
    engine = Engine(device=args.device)
    cfg = {"n_visible": 784, "n_hidden": args.hidden, "sampler": args.sampler, "k": args.k,
           "centered": args.centered}
    name = engine.call(jobs.create_model, "rbm", cfg, name="mnist-rbm", seed=args.seed)["name"]
    tc = {"epochs": 100_000, "batch_size": args.batch, "lr": args.lr, "lr_schedule": args.lr_schedule,
          "lr_final": args.lr_final, "momentum": args.momentum, "weight_decay": args.weight_decay,
          "seed": args.seed, "time_budget_s": args.budget, "monitor_every": 3000}
    t0 = time.perf_counter()
    out = engine.submit(train, name, data, tc).result()
    train_s = time.perf_counter() - t0
    print(f"trained {out['epoch']:.1f} epochs in {train_s:.0f} s: {out['last']}", flush=True)
    folder = engine.call(jobs.save_model, name, args.out)
    t1 = time.perf_counter()
    r = engine.submit(evaluate, name, "ais", data, n_runs=args.ais_runs, n_betas=args.ais_betas,
                      seed=args.seed).result()
    ais_s = time.perf_counter() - t1
    engine.shutdown()
    print("| hidden | sampler | epochs | train s | AIS test LL (nats) | log Z |")
    print(f"| {args.hidden} | {'centered ' if args.centered else ''}{args.sampler.upper()}-{args.k} | "
          f"{out['epoch']:.1f} | {train_s:.0f} | {r['test_ll']:.2f} +/- {r['log_z_err']:.2f} | "
          f"{r['log_z']:.2f} |")
    print(f"saved to {folder}")
    result({"ais_test_ll": round(r["test_ll"], 3), "ais_err": round(r["log_z_err"], 3),
            "test_ll_interval": [round(r["test_ll_lo"], 3), round(r["test_ll_hi"], 3)],
            "log_z": round(r["log_z"], 3), "epochs": round(out["epoch"], 2), "wall_s": round(train_s, 1),
            "samples_per_s": round(out["epoch"] * len(data.train) / train_s, 1), "ais_s": round(ais_s, 1),
            "ais_runs": args.ais_runs, "ais_betas": args.ais_betas, "hidden": args.hidden,
            "sampler": f"{args.sampler}-{args.k}", "centered": args.centered, "lr": args.lr,
            "lr_schedule": args.lr_schedule, "binarize": args.binarize, "budget_s": args.budget, **machine()})


if __name__ == "__main__":
    main()
