"""Bouncing balls, one-step-ahead prediction: RTRBM vs TRBM vs a per-frame RBM vs copy-last-frame.

    python benchmarks/bouncing_balls.py                    # 400 hidden, 40 min of training per model
    python benchmarks/bouncing_balls.py --budget-s 300     # a quicker look

The protocol of Sutskever, Hinton & Taylor (NIPS 2008): 30x30 frames of 3 balls, 100-frame sequences, 400
hidden units, a fixed test set of 200 sequences (``bouncing_balls`` with its fixed test seed). The three
models get the same hidden size and the same wall-clock training budget, and train through the engine's
train job (the code the CLI and the studio run) on fresh videos every epoch:

* RTRBM and TRBM: mini-batches of ``--batch`` sequences, CD-``--k`` (CD-``--k-final`` for the last tenth
  of the run), each step's chain started at the previous frame (``cd_start``, see
  :mod:`engine.models.rtrbm`), SGD with momentum 0.9 and a learning rate decaying linearly to 0;
* the per-frame RBM: the same on single frames (``--rbm-batch`` frames an update), no temporal weights.

Evaluation (:mod:`engine.evaluation.prediction`): for t = 2..T, the squared error summed over the 900
pixels between the model's expected frame given the true frames before t and frame t, averaged over t; the
table gives its mean +/- std over the test sequences. A temporal model's expected frame is the average
visible mean of ``--chains`` Gibbs chains of ``--predict-steps`` steps of step t's RBM from frame t-1
(second half of each chain); the per-frame RBM's is its mean-field reconstruction of frame t-1, and
copy-last predicts frame t-1 itself. The literature reports about 3.9 for the RTRBM on this protocol.
"""
from __future__ import annotations

import argparse
import time

import torch

from _common import machine, result

KINDS = ("rtrbm", "trbm", "rbm")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget-s", type=float, default=2400, help="training seconds per model (default 2400: "
                   "the whole script takes about 2 h 10 min on 2 CPU cores; each model's figure is printed "
                   "as soon as it is trained)")
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--models", default=",".join(KINDS), help="which of rtrbm,trbm,rbm to train")
    p.add_argument("--batch", type=int, default=10, help="sequences per update (RTRBM, TRBM)")
    p.add_argument("--lr", type=float, default=0.15, help="learning rate (RTRBM, TRBM; gradients are "
                   "averaged over the frames of a batch)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--k-final", type=int, default=25)
    p.add_argument("--rbm-batch", type=int, default=100, help="frames per update (per-frame RBM)")
    p.add_argument("--rbm-lr", type=float, default=0.1)
    p.add_argument("--n-train", type=int, default=1000, help="training sequences per epoch, drawn afresh "
                   "each epoch")
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--predict-steps", type=int, default=10)
    p.add_argument("--chains", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", help="unused by the simulated videos; accepted for a uniform command line")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="runs/bench-bouncing-balls", help="folder for the trained models")
    args = p.parse_args()
    kinds = [k for k in args.models.split(",") if k]
    if unknown := set(kinds) - set(KINDS):
        p.error(f"unknown models {sorted(unknown)}: choose from {','.join(KINDS)}")

    from engine import Engine, jobs
    from engine.data import load_dataset
    from engine.evaluation.prediction import copy_last, evaluate_prediction, prediction_error
    from engine.training.trainer import train

    t_start = time.perf_counter()
    spec = {"name": "bouncing_balls", "n_train": args.n_train, "n_test": args.n_test, "T": 100, "res": 30,
            "n_balls": 3, "seed": args.seed}
    if args.data_root:
        spec["root"] = args.data_root
    data = load_dataset(spec)
    V = data.dim
    engine = Engine(device=args.device)
    names: dict[str, str] = {}
    trained: dict[str, dict] = {}
    errors: dict[str, tuple[float, float]] = {}
    eval_s: dict[str, float] = {}
    test = torch.from_numpy(data.test)
    for kind in kinds:
        if kind == "rbm":
            cfg = {"n_visible": V, "n_hidden": args.hidden, "sampler": "cd", "k": args.k, "centered": True}
            tc = {"batch_size": args.rbm_batch, "lr": args.rbm_lr}
        else:
            cfg = {"n_visible": V, "n_hidden": args.hidden, "k": args.k, "k_final": args.k_final,
                   "cd_start": "previous", "predict_steps": args.predict_steps}
            tc = {"batch_size": args.batch, "lr": args.lr}
        tc.update(epochs=100_000, lr_schedule="linear", lr_final=0.0, momentum=0.9, seed=args.seed,
                  time_budget_s=args.budget_s, monitor_every=500, monitor_size=10)
        names[kind] = engine.call(jobs.create_model, kind, cfg, name=f"balls-{kind}", seed=args.seed)["name"]
        t0 = time.perf_counter()
        out = engine.submit(train, names[kind], data, tc).result()
        trained[kind] = {"updates": out["step"], "epochs": round(out["epoch"], 2),
                         "train_s": round(time.perf_counter() - t0, 1)}
        print(f"{kind}: {out['step']} updates ({out['epoch']:.1f} epochs of {args.n_train} sequences) in "
              f"{trained[kind]['train_s']:.0f} s: {out['last']}", flush=True)
        engine.call(jobs.save_model, names[kind], f"{args.out}/{kind}")
        # Each model is scored as soon as it is trained, so that a long run shows its figures as it goes.
        t0 = time.perf_counter()
        if kind == "rbm":
            errors["rbm"] = engine.call(_rbm_error, names[kind], test)
        else:
            r = engine.submit(evaluate_prediction, names[kind], data, baselines=("copy_last",),
                              steps=args.predict_steps, chains=args.chains, seed=args.seed).result()
            errors[kind] = (r["pred_error"], r["pred_error_std"])
            errors["copy_last"] = (r["copy_last_error"], r["copy_last_error_std"])
        eval_s[kind] = round(time.perf_counter() - t0, 1)
        print(f"{kind}: prediction error {errors[kind][0]:.3f} +/- {errors[kind][1]:.3f} "
              f"({eval_s[kind]:.0f} s to evaluate)", flush=True)
    engine.shutdown()
    if "copy_last" not in errors:  # only the per-frame RBM was asked for
        errors["copy_last"] = prediction_error(copy_last, test)
    wall_s = time.perf_counter() - t_start

    print(f"\nOne-step-ahead prediction error on {args.n_test} test sequences (squared error per frame, "
          f"mean +/- std over sequences); {args.hidden} hidden units, {args.budget_s:.0f} s of training each")
    print("| model | prediction error | updates | epochs | train s |")
    print("|---|---|---|---|---|")
    for key in (*[k for k in KINDS if k in kinds], "copy_last"):
        if key not in errors:
            continue
        mean, std = errors[key]
        t = trained.get(key, {})
        print(f"| {key} | {mean:.3f} +/- {std:.3f} | {t.get('updates', '-')} | {t.get('epochs', '-')} | "
              f"{t.get('train_s', '-')} |")
    result({"pred_error": {k: round(v[0], 4) for k, v in errors.items()},
            "pred_std": {k: round(v[1], 4) for k, v in errors.items()},
            "budget_s": args.budget_s, "hidden": args.hidden,
            "updates": {k: v["updates"] for k, v in trained.items()},
            "epochs": {k: v["epochs"] for k, v in trained.items()},
            "train_s": {k: v["train_s"] for k, v in trained.items()}, "eval_s": eval_s,
            "batch": args.batch, "lr": args.lr, "k": args.k, "k_final": args.k_final,
            "predict_steps": args.predict_steps, "chains": args.chains, "n_train": args.n_train,
            "n_test": args.n_test, "seed": args.seed, "wall_s": round(wall_s, 1), **machine()})


def _rbm_error(ctx, name: str, test: "torch.Tensor") -> tuple[float, float]:
    """The per-frame RBM's prediction error (its mean-field reconstruction of the previous frame)."""
    from engine.evaluation.prediction import prediction_error
    return prediction_error(ctx.registry[name].module, test.to(ctx.device))


if __name__ == "__main__":
    main()
