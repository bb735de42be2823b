"""Polyphonic music: test negative log-likelihood per time step of the RNN-RBM, the RNN-NADE and the per-note
RNN baseline, beside the published figures (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012, Table 1;
the Recurrent Ladder of Prémont-Schwarz et al. 2017), with the wall time of an epoch.

    python benchmarks/music_nll.py --dataset jsb                       # all three models, 200 epochs each
    python benchmarks/music_nll.py --dataset jsb --budget-s 600        # ten minutes of training each
    python benchmarks/music_nll.py --dataset nottingham --models rnnrbm --epochs 1 --eval none  # epoch time
    python benchmarks/music_nll.py --dataset jsb --models rnnnade --epochs 300 --select-every 10 --dropout 0.5
    python benchmarks/music_nll.py --dataset nottingham --models rnnrbm --epochs 200 --dropout 0.2 \
        --weight-decay 0.0003 --select-every 50 --select-by reverse --select-betas 1000 --select-seqs 5 \
        --finetune-epochs 50 --finetune-lr 0.0003 --eval none --out runs/nott   # train and keep it, then evaluate:
    python benchmarks/music_nll.py --dataset nottingham --models rnnrbm --load runs/nott --ais-runs 10 --ais-reverse

Trains through the engine's train job and evaluates through its evaluate_music job (the code the CLI and
the studio run): exact NLL for the RNN-NADE and the baseline, AIS per frame for the RNN-RBM (reported with
its +/- 3 standard-error interval; forward AIS reads optimistic for sharp models, so ``--ais-reverse`` adds
reverse AIS from the test frames, which errs the other way: the two bracket the NLL), and the expected
frame-level accuracy. Targets: RNN-RBM <= 6.3 on JSB
and <= 2.5 on Nottingham; RNN-NADE <= 5.6 on JSB (JSB is small: every model overfits it within
minutes: ``--dropout`` on the RNN's state lets it train on, and ``--select-every`` keeps the parameters of the
best validation NLL, as the paper does; a decaying ``--lr-schedule`` spans the whole run); one Nottingham epoch
of the RNN-RBM (150 hidden, 100 recurrent, CD-15) <= 8 s on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import copy
import time
from typing import Any

from _common import machine, result, run_args, schedule_args, set_threads

DATASETS = {"jsb": "jsb_chorales", "nottingham": "nottingham", "piano": "piano_midi_de", "muse": "musedata"}
#: test NLL per time step: RNN-RBM, RNN-NADE (with HF pre-training) and the Recurrent Ladder
PUBLISHED = {"rnnrbm": {"jsb": 6.27, "nottingham": 2.39, "piano": 7.09, "muse": 6.01},
             "rnnnade": {"jsb": 5.56, "nottingham": 2.31, "piano": 7.05, "muse": 5.60},
             "ladder": {"jsb": 5.64, "nottingham": 2.42, "piano": 6.19, "muse": 5.69}}
KINDS = {"rnnrbm": "rnnrbm", "rnnnade": "rnnnade", "baseline": "note_rnn", "ladder": "ladder"}


def train_model(engine: Any, args: argparse.Namespace, data: Any, label: str, epochs: dict, epoch_s: dict,
                train_s: dict, selected: dict) -> str:
    """Create and train one model through the engine's jobs (with ``--select-every``, keep the parameters of
    the best validation NLL); its name. Fills in the model's figures in the dicts given."""
    from engine import jobs
    from engine.evaluation.music import evaluate_music
    from engine.training.trainer import train

    kind = KINDS[label]
    cfg = {"n_visible": data.dim, "n_recurrent": args.recurrent, "cell": args.cell,
           "pretrain_epochs": args.pretrain_epochs, "dropout": args.dropout}
    if kind == "ladder":  # next-step prediction only: no labels, no classifier
        cfg = {"n_visible": data.dim, "n_classes": 0, "n_units": args.recurrent, "n_levels": args.ladder_levels}
    elif kind != "note_rnn":
        cfg["n_hidden"] = args.hidden
    if kind == "rnnrbm":
        cfg["k"] = args.k
        cfg["rnn_pretrain_epochs"] = args.rnn_pretrain_epochs
    name = engine.call(jobs.create_model, kind, cfg, name=f"{args.dataset}-{label}", seed=args.seed)["name"]
    tc = {"epochs": args.epochs, "batch_size": args.batch, "seq_chunk": args.chunk, "lr": args.lr,
          "lr_schedule": args.lr_schedule, "lr_final": args.lr_final, "optimizer": args.optimizer,
          "grad_clip": args.grad_clip, "weight_decay": args.weight_decay, "seed": args.seed,
          "time_budget_s": args.budget_s,
          "monitor_every": 1_000_000, "monitor_size": 20}
    t0 = time.perf_counter()
    best, best_valid = None, float("inf")
    target = args.select_every or args.epochs
    while True:  # train, and with --select-every keep the parameters of the best validation NLL
        out = engine.submit(train, name, data, tc, until_epoch=min(target, args.epochs)).result()
        if args.select_every:
            reverse = args.select_by == "reverse"
            r = engine.submit(evaluate_music, name, data, split="valid", n_seqs=args.select_seqs,
                              ais_runs=10, ais_betas=args.select_betas, ais_base="bias" if reverse else "meanfield",
                              ais_reverse=reverse, accuracy_samples=1, accuracy_steps=2, seed=args.seed).result()
            score = r.get("nll_reverse", r["nll"]) if reverse else r["nll"]
            if score < best_valid:
                best_valid, selected[label] = score, round(out["epoch"], 2)
                best = engine.call(lambda ctx, n=name: copy.deepcopy(ctx.registry[n].module.state_dict()))
            also = f" (reverse AIS {r['nll_reverse']:.3f})" if "nll_reverse" in r else ""
            print(f"{label}: epoch {out['epoch']:.1f}, valid NLL {r['nll']:.3f}{also}", flush=True)
        if out["epoch"] >= args.epochs or (args.budget_s and out["elapsed_s"] >= args.budget_s):
            break
        target += args.select_every
    if best is not None:
        engine.call(lambda ctx, n=name, b=best: ctx.registry[n].module.load_state_dict(b))
    if args.finetune_epochs:  # then on from there at a lower learning rate
        more = {**tc, "epochs": round(out["epoch"]) + args.finetune_epochs, "lr": args.finetune_lr, "time_budget_s": 0}
        out = engine.submit(train, name, data, more).result()
        print(f"{label}: fine-tuned at lr {args.finetune_lr} to epoch {out['epoch']:.1f}", flush=True)
    train_s[label] = time.perf_counter() - t0
    epochs[label] = out["epoch"]
    epoch_s[label] = round(out["elapsed_s"] / max(out["epoch"], 1e-9), 2)
    print(f"{label}: {out['epoch']:.2f} epochs in {train_s[label]:.0f} s ({epoch_s[label]} s an epoch): "
          f"{out['last']}", flush=True)
    return name


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="jsb", choices=tuple(DATASETS))
    p.add_argument("--models", default="rnnrbm,rnnnade,baseline",
                   help="comma-separated: rnnrbm, rnnnade, baseline, ladder")
    p.add_argument("--epochs", type=int, default=200, help="epochs per model (default 200, the tutorial's)")
    p.add_argument("--budget-s", type=float, default=0.0, help="training seconds per model (0: no limit)")
    p.add_argument("--hidden", type=int, default=150, help="hidden units of the RBM / NADE")
    p.add_argument("--recurrent", type=int, default=100, help="RNN units (the ladder: units of each level)")
    p.add_argument("--ladder-levels", type=int, default=3, help="levels of the Recurrent Ladder")
    p.add_argument("--cell", default="tanh", choices=("tanh", "gru"))
    p.add_argument("--k", type=int, default=15, help="CD steps of the RNN-RBM (the tutorial: 15)")
    p.add_argument("--pretrain-epochs", type=float, default=0.0, help="epochs of frame-model pre-training")
    p.add_argument("--rnn-pretrain-epochs", type=float, default=0.0,
                   help="RNN-RBM: epochs of RNN pre-training by cross-entropy")
    p.add_argument("--optimizer", default="adam", choices=("sgd", "nesterov", "adam"))
    p.add_argument("--lr", type=float, default=0.001)
    schedule_args(p)
    p.add_argument("--grad-clip", type=float, default=5.0)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--dropout", type=float, default=0.0, help="dropout on the RNN's state where it sets the frame "
                   "model's biases (training only)")
    p.add_argument("--batch", type=int, default=10, help="chunks per update")
    p.add_argument("--chunk", type=int, default=100, help="frames per chunk (the tutorial: 100)")
    p.add_argument("--select-every", type=int, default=0,
                   help="early stopping: every N epochs measure the validation NLL (AIS 10 runs x --select-betas "
                   "temperatures for the RNN-RBM) and keep the best parameters (0: keep the last)")
    p.add_argument("--finetune-epochs", type=int, default=0, help="then train this many more epochs (from the "
                   "selected parameters) at --finetune-lr: the final lower-learning-rate stretch (0: none)")
    p.add_argument("--finetune-lr", type=float, default=0.0003)
    p.add_argument("--select-seqs", type=int, default=0, help="validation pieces used to select (0: all)")
    p.add_argument("--select-by", default="forward", choices=("forward", "reverse"),
                   help="RNN-RBM: select on forward AIS from a mean-field base (default), or on reverse AIS from "
                   "the visible-bias base (with the forward figure beside it). Forward AIS reads the lower the "
                   "sharper the model, whatever its true NLL, so on long runs it picks the sharpest model; the "
                   "reverse figure errs high and picks the model that is surely good")
    p.add_argument("--select-betas", type=int, default=100, help="RNN-RBM: AIS temperatures of the selection")
    p.add_argument("--eval", default="test", choices=("test", "valid", "none"))
    p.add_argument("--eval-seqs", type=int, default=0, help="evaluate the first N pieces only (0: all)")
    p.add_argument("--ais-runs", type=int, default=20, help="RNN-RBM: AIS runs per frame (default 20)")
    p.add_argument("--ais-betas", type=int, default=1000, help="RNN-RBM: AIS temperatures (default 1000)")
    p.add_argument("--ais-base", default="bias", choices=("bias", "meanfield"),
                   help="RNN-RBM: AIS base of each frame's RBM (default: its visible biases; see ais_frames)")
    p.add_argument("--ais-reverse", action="store_true", help="RNN-RBM: also reverse AIS from the test frames "
                   "(RAISE), a pessimistic estimate to bracket the optimistic forward one")
    p.add_argument("--ais-refine", type=float, default=0.0, help="RNN-RBM: this fraction of the frames, those whose "
                   "forward and reverse AIS disagree most in a pilot run, get --ais-refine-betas")
    p.add_argument("--ais-refine-betas", type=int, default=0, help="RNN-RBM: temperatures of the refined frames "
                   "(default 10x --ais-betas)")
    p.add_argument("--load", help="evaluate the models saved by an earlier run's --out in this folder instead of "
                   "training them")
    p.add_argument("--acc-samples", type=int, default=10, help="draws per frame for the expected accuracy")
    run_args(p, out="folder to save the trained models in (one sub-folder each)")
    args = p.parse_args()
    set_threads(args.threads)
    from engine import Engine, jobs
    from engine.data import load_dataset
    from engine.evaluation.music import evaluate_music

    spec = {"name": DATASETS[args.dataset]}
    if args.data_root:
        spec["root"] = args.data_root
    data = load_dataset(spec)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    engine = Engine(device=args.device)
    nll, interval, acc, epoch_s, epochs, train_s, selected = {}, {}, {}, {}, {}, {}, {}
    nll_rev, interval_rev, refined = {}, {}, {}
    for label in models:
        if args.load:  # evaluate a model trained by an earlier run
            name = engine.call(jobs.load_model, f"{args.load}/{args.dataset}-{label}")["name"]
            epochs[label] = engine.call(lambda ctx, n=name: float(ctx.registry[n].trainer.get("epoch", 0.0)))
        else:
            name = train_model(engine, args, data, label, epochs, epoch_s, train_s, selected)
        if args.out:
            engine.call(jobs.save_model, name, f"{args.out}/{args.dataset}-{label}")
        if args.eval != "none":
            r = engine.submit(evaluate_music, name, data, split=args.eval, n_seqs=args.eval_seqs,
                              ais_runs=args.ais_runs, ais_betas=args.ais_betas, ais_base=args.ais_base,
                              accuracy_samples=args.acc_samples, seed=args.seed, ais_reverse=args.ais_reverse,
                              ais_refine=args.ais_refine, ais_refine_betas=args.ais_refine_betas).result()
            nll[label], acc[label] = round(r["nll"], 3), round(r["accuracy"], 4)
            interval[label] = [round(r["nll_lo"], 3), round(r["nll_hi"], 3)]
            print(f"{label}: {args.eval} NLL {r['nll']:.3f} [{r['nll_lo']:.3f}, {r['nll_hi']:.3f}] ({r['method']}), "
                  f"accuracy {r['accuracy']:.3f}, {r['n_frames']} frames, {r['wall_s']:.0f} s", flush=True)
            if "nll_reverse" in r:
                nll_rev[label] = round(r["nll_reverse"], 3)
                interval_rev[label] = [round(r["nll_reverse_lo"], 3), round(r["nll_reverse_hi"], 3)]
                print(f"{label}: reverse AIS {args.eval} NLL {nll_rev[label]} {interval_rev[label]}", flush=True)
            if "ais_refined" in r:
                refined[label] = {k: r[k] for k in ("ais_refined", "ais_refine_betas", "ais_refined_gap_share")}
                print(f"{label}: {refined[label]}", flush=True)
    engine.shutdown()
    print(f"| model | epochs | s/epoch | {args.eval} NLL | interval | accuracy | published |")
    for label in models:
        pub = PUBLISHED.get(label, {}).get(args.dataset, "-")
        print(f"| {label} | {epochs[label]:.1f} | {epoch_s.get(label, '-')} | {nll.get(label, '-')} | "
              f"{interval.get(label, '-')} | {acc.get(label, '-')} | {pub} |")
    print(f"| Recurrent Ladder (published) | | | | | | {PUBLISHED['ladder'][args.dataset]} |")
    training = {} if args.load else {  # a loaded model's come from the run that trained it
        "hidden": args.hidden, "recurrent": args.recurrent, "dropout": args.dropout, "k": args.k,
        "optimizer": args.optimizer, "lr": args.lr, "weight_decay": args.weight_decay, "batch": args.batch,
        "finetune_epochs": args.finetune_epochs, "finetune_lr": args.finetune_lr,
        "chunk": args.chunk, "budget_s": args.budget_s}
    rev = {"nll_reverse": nll_rev, "nll_reverse_interval": interval_rev} if nll_rev else {}
    if refined:
        rev["refined"] = refined
    result({"dataset": args.dataset, "nll": nll, "epoch_s": epoch_s, "nll_interval": interval, **rev, "accuracy": acc,
            "epochs": {k: round(v, 2) for k, v in epochs.items()}, "selected_epoch": selected,
            "select_every": args.select_every,
            "train_s": {k: round(v, 1) for k, v in train_s.items()}, "split": args.eval,
            "eval_seqs": args.eval_seqs, "published": {k: v[args.dataset] for k, v in PUBLISHED.items()},
            **training,
            "ais_runs": args.ais_runs, "ais_betas": args.ais_betas, "ais_base": args.ais_base, "loaded": args.load,
            **machine()})


if __name__ == "__main__":
    main()
