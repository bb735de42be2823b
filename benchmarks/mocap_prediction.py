"""Motion capture, one-step-ahead prediction: RTRBM vs TRBM vs copy-last-frame on the MIT walking data.

    python benchmarks/mocap_prediction.py                  # 100 hidden, 2 min of training per model
    python benchmarks/mocap_prediction.py --budget-s 30    # a quicker look

The MIT walking data of Taylor, Hinton & Roweis (``mocap_mit``: 49 varying channels, standardised on the
training frames, windows of ``--T`` frames; the last 20% of each motion is the test set). Both models get
Gaussian visibles, the same hidden size and the same wall-clock budget, and train through the engine's train
job (the code the CLI and the studio run) with SGD, momentum 0.9 and a learning rate decaying linearly to 0.

Evaluation (:mod:`engine.evaluation.prediction`): for t = 2..T, the expected frame given the true frames
before t (``--chains`` Gibbs chains of ``--predict-steps`` steps from frame t-1) against frame t, as the
squared error summed over the 49 standardised channels, and as the mean squared error per channel in the
data's original units (mm and radians), averaged over t and test windows.
"""
from __future__ import annotations

import argparse
import time

from _common import machine, result, run_args, set_threads

KINDS = ("rtrbm", "trbm")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget-s", type=float, default=120, help="training seconds per model")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--models", default=",".join(KINDS), help="which of rtrbm,trbm to train")
    p.add_argument("--T", type=int, default=50, help="frames per window")
    p.add_argument("--batch", type=int, default=10, help="windows per update")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--k-final", type=int, default=25)
    p.add_argument("--predict-steps", type=int, default=10)
    p.add_argument("--chains", type=int, default=20)
    run_args(p, out="folder for the trained models (default runs/bench-mocap)")
    args = p.parse_args()
    set_threads(args.threads)
    kinds = [k for k in args.models.split(",") if k]
    if unknown := set(kinds) - set(KINDS):
        p.error(f"unknown models {sorted(unknown)}: choose from {','.join(KINDS)}")

    from engine import Engine, jobs
    from engine.data import DataError, load_dataset
    from engine.evaluation.prediction import evaluate_prediction
    from engine.training.trainer import train

    t_start = time.perf_counter()
    spec = {"name": "mocap_mit", "T": args.T}
    if args.data_root:
        spec["root"] = args.data_root
    try:
        data = load_dataset(spec)
    except DataError as exc:
        p.error(str(exc))
    engine = Engine(device=args.device)
    rows: dict[str, dict] = {}
    for kind in kinds:
        cfg = {"n_visible": data.dim, "n_hidden": args.hidden, "visible": "gaussian", "k": args.k,
               "k_final": args.k_final, "cd_start": "previous", "predict_steps": args.predict_steps}
        tc = {"batch_size": args.batch, "lr": args.lr, "epochs": 100_000, "lr_schedule": "linear",
              "lr_final": 0.0, "momentum": 0.9, "seed": args.seed, "time_budget_s": args.budget_s,
              "monitor_every": 500, "monitor_size": 10}
        name = engine.call(jobs.create_model, kind, cfg, name=f"walk-{kind}", seed=args.seed)["name"]
        t0 = time.perf_counter()
        out = engine.submit(train, name, data, tc).result()
        train_s = time.perf_counter() - t0
        engine.call(jobs.save_model, name, f"{args.out or 'runs/bench-mocap'}/{kind}")
        r = engine.submit(evaluate_prediction, name, data, steps=args.predict_steps, chains=args.chains,
                          seed=args.seed).result()
        rows[kind] = {"error": r["pred_error"], "std": r["pred_error_std"], "mse": r["pred_mse_original"],
                      "updates": out["step"], "train_s": round(train_s, 1)}
        rows["copy_last"] = {"error": r["copy_last_error"], "std": r["copy_last_error_std"],
                             "mse": r["copy_last_mse_original"]}
        print(f"{kind}: {out['step']} updates in {train_s:.0f} s; prediction error {r['pred_error']:.3f}, "
              f"MSE per channel {r['pred_mse_original']:.4g} {r['units']}", flush=True)
    engine.shutdown()

    print(f"\nOne-step-ahead prediction on the {len(data.test)} MIT test windows of {args.T} frames; "
          f"{args.hidden} hidden units, {args.budget_s:.0f} s of training each")
    print("| model | squared error (standardised, summed over 49 channels) | MSE per channel (mm, rad) | updates |")
    print("|---|---|---|---|")
    rows["copy_last"] = rows.pop("copy_last")  # last in the table
    for key, row in rows.items():
        print(f"| {key} | {row['error']:.3f} +/- {row['std']:.3f} | {row['mse']:.4g} | {row.get('updates', '-')} |")
    result({"pred_error": {k: round(v["error"], 4) for k, v in rows.items()},
            "mse_original": {k: round(v["mse"], 4) for k, v in rows.items()},
            "updates": {k: v["updates"] for k, v in rows.items() if "updates" in v},
            "budget_s": args.budget_s, "hidden": args.hidden, "T": args.T, "batch": args.batch, "lr": args.lr,
            "k": args.k, "k_final": args.k_final, "predict_steps": args.predict_steps, "chains": args.chains,
            "test_windows": len(data.test), "seed": args.seed, "wall_s": round(time.perf_counter() - t_start, 1),
            **machine()})


if __name__ == "__main__":
    main()
