"""Professor Forcing (Goyal, Lamb et al., NIPS 2016): the same GRU generator trained by teacher forcing and by
professor forcing, with the same seed, size and number of updates, on music or bouncing-balls video.

    python benchmarks/professor_forcing.py --dataset jsb --epochs 100       # 1900 updates per mode
    python benchmarks/professor_forcing.py --dataset nottingham --epochs 20 --cost-f 0.05 --project
    python benchmarks/professor_forcing.py --dataset nottingham --epochs 20 --adv-start 5 --adv-lr 0.001
    python benchmarks/professor_forcing.py --dataset balls --epochs 60      # 1000 videos of 50 frames, 20x20

``--project`` (not in the paper) takes out the part of C_f's gradient that opposes the NLL's: on Nottingham the
plain sum costs the NLL about 40%. ``--adv-lr`` (not in the paper either) steps C_f's gradient with an Adam of its
own, so the NLL's optimiser runs as under teacher forcing.

Trains through the engine's train job and measures with :mod:`engine.evaluation.professor` (the code the
studio runs): teacher-forced test NLL per frame, the hidden-state gap (mean distance from each free-running
state to the nearest teacher-forced state of the same step; beside it ``gap_data``, the gap held-out validation
pieces leave, its floor), and the long-horizon distance (free runs 4x the training length against the test
data: notes per frame, pitch classes, note lengths for music; brightness and blobs per frame for video; mean
total-variation distance). Target (the issue): professor forcing reduces the
gap by >= 25% and the long-horizon distance, with test NLL no worse than teacher forcing by more than 2%
(the paper: gap 22.8 -> 16.4 on its vocal task).
"""
from __future__ import annotations

import argparse
import time

from _common import machine, result, run_args, schedule_args, set_threads

DATASETS = {"jsb": "jsb_chorales", "nottingham": "nottingham", "balls": "bouncing_balls"}
MODES = ("teacher", "professor")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="jsb", choices=tuple(DATASETS))
    p.add_argument("--epochs", type=int, default=30, help="epochs per mode (the same updates for both)")
    p.add_argument("--recurrent", type=int, default=128, help="GRU units of the generator")
    p.add_argument("--disc-hidden", type=int, default=64, help="units per direction of the discriminator's GRU")
    p.add_argument("--disc-mlp", type=int, default=64, help="units per hidden layer of its MLP")
    p.add_argument("--behaviour", default="hidden", choices=("hidden", "hidden+outputs"))
    p.add_argument("--free-ratio", type=int, default=2, help="free-running length / teacher-forced length (2: the "
                   "discriminator also sees the generator run past the training length)")
    p.add_argument("--cost-f", type=float, default=1.0)
    p.add_argument("--cost-t", type=float, default=0.0)
    p.add_argument("--project", action="store_true", help="professor mode: take out the part of C_f's gradient "
                   "that opposes the NLL's")
    p.add_argument("--adv-cap", type=float, default=0.0, help="professor mode: scale C_f's gradient down to at "
                   "most this many times the NLL's norm (0: no cap)")
    p.add_argument("--adv-start", type=float, default=0.0, help="professor mode: epochs of teacher forcing "
                   "before C_f reaches the generator (the discriminator learns from the start)")
    p.add_argument("--adv-lr", type=float, default=0.0, help="professor mode: step C_f's gradient with an Adam of "
                   "its own at this learning rate (0: the one optimiser, as in the paper)")
    p.add_argument("--optimizer", default="adam", choices=("sgd", "nesterov", "adam"))
    p.add_argument("--lr", type=float, default=0.001)
    schedule_args(p)
    p.add_argument("--grad-clip", type=float, default=5.0)
    p.add_argument("--batch", type=int, default=20, help="sequences (chunks) per update")
    p.add_argument("--chunk", type=int, default=50, help="music: frames per chunk, the training length")
    p.add_argument("--limit", type=int, default=0, help="music: first N training pieces only (0: all)")
    p.add_argument("--n-train", type=int, default=1000, help="balls: training videos (fresh each epoch)")
    p.add_argument("--n-test", type=int, default=100, help="balls: test videos")
    p.add_argument("--T", type=int, default=50, help="balls: frames per video, the training length")
    p.add_argument("--res", type=int, default=20, help="balls: pixels per side")
    p.add_argument("--eval-seqs", type=int, default=100, help="data windows (at most) and free runs for the gap "
                   "and the long-horizon statistics")
    run_args(p, out="folder to save the trained models in (one sub-folder each)")
    args = p.parse_args()
    set_threads(args.threads)
    from engine import Engine, jobs
    from engine.data import load_dataset
    from engine.evaluation.professor import measure
    from engine.training.trainer import train

    spec: dict = {"name": DATASETS[args.dataset]}
    if args.dataset == "balls":
        spec.update(n_train=args.n_train, n_test=args.n_test, T=args.T, res=args.res, seed=args.seed)
        chunk = 0
    else:
        chunk = args.chunk
        if args.limit:
            spec["limit"] = args.limit
    if args.data_root:
        spec["root"] = args.data_root
    data = load_dataset(spec)
    engine = Engine(device=args.device)
    rows: dict[str, dict] = {}
    for mode in MODES:
        cfg = {"n_visible": data.dim, "n_recurrent": args.recurrent, "mode": mode, "behaviour": args.behaviour,
               "disc_hidden": args.disc_hidden, "disc_mlp": args.disc_mlp, "free_ratio": args.free_ratio,
               "cost_f": args.cost_f, "cost_t": args.cost_t, "project": args.project,
               "adv_cap": args.adv_cap, "adv_start": args.adv_start,
               "adv_lr": args.adv_lr}
        name = engine.call(jobs.create_model, "professor", cfg, name=f"{args.dataset}-{mode}", seed=args.seed)["name"]
        tc = {"epochs": args.epochs, "batch_size": args.batch, "seq_chunk": chunk, "lr": args.lr,
              "lr_schedule": args.lr_schedule, "lr_final": args.lr_final, "optimizer": args.optimizer,
              "grad_clip": args.grad_clip, "seed": args.seed,
              "monitor_every": 1_000_000, "monitor_size": 20}
        t0 = time.perf_counter()
        out = engine.submit(train, name, data, tc).result()
        train_s = time.perf_counter() - t0
        print(f"{mode}: {out['step']} updates ({out['epoch']:.1f} epochs) in {train_s:.0f} s: {out['last']}",
              flush=True)
        if args.out:
            engine.call(jobs.save_model, name, f"{args.out}/{args.dataset}-{mode}")
        t0 = time.perf_counter()
        r = engine.call(lambda ctx, n=name: measure(ctx.registry[n].module, data, chunk, "test", args.eval_seqs,
                                                    4, args.seed))
        r.update(updates=out["step"], train_s=round(train_s, 1), eval_s=round(time.perf_counter() - t0, 1),
                 last=out["last"])
        rows[mode] = r
        floor = "-" if r["gap_data"] is None else f"{r['gap_data']:.3f}"
        print(f"{mode}: NLL {r['nll']:.3f}, gap {r['gap']:.3f} (real sequences: {floor}), "
              f"long-horizon {r['long_horizon']:.3f} "
              f"{ {k: round(v, 3) for k, v in r['statistics'].items()} }", flush=True)
    engine.shutdown()
    t, pf = rows["teacher"], rows["professor"]
    gap_cut = 1 - pf["gap"] / t["gap"] if t["gap"] > 0 else float("nan")
    nll_change = pf["nll"] / t["nll"] - 1
    stat_names = list(t["statistics"])
    print(f"| mode | updates | train s | test NLL | gap | long-horizon | {' | '.join(stat_names)} |")
    for mode in MODES:
        r = rows[mode]
        stats = " | ".join(f"{r['statistics'][k]:.3f}" for k in stat_names)
        print(f"| {mode} | {r['updates']} | {r['train_s']} | {r['nll']:.3f} | {r['gap']:.3f} | "
              f"{r['long_horizon']:.3f} | {stats} |")
    print(f"gap reduced by {100 * gap_cut:.1f}% (target >= 25%), NLL change {100 * nll_change:+.2f}% "
          f"(target <= +2%), long-horizon {t['long_horizon']:.3f} -> {pf['long_horizon']:.3f}")
    result({"dataset": args.dataset,
            "nll": {m: round(rows[m]["nll"], 4) for m in MODES},
            "gap": {m: round(rows[m]["gap"], 4) for m in MODES},
            "long_horizon": {m: round(rows[m]["long_horizon"], 4) for m in MODES},
            "statistics": {m: {k: round(v, 4) for k, v in rows[m]["statistics"].items()} for m in MODES},
            "gap_data": {m: None if rows[m]["gap_data"] is None else round(rows[m]["gap_data"], 4) for m in MODES},
            "gap_reduction": round(gap_cut, 4), "nll_change": round(nll_change, 4),
            "disc_accuracy": pf["last"].get("disc_accuracy"),
            "updates": {m: rows[m]["updates"] for m in MODES}, "train_s": {m: rows[m]["train_s"] for m in MODES},
            "length": t["length"], "horizon": t["horizon"], "eval_windows": t["n_windows"],
            "free_runs": args.eval_seqs,
            "epochs": args.epochs, "recurrent": args.recurrent, "disc_hidden": args.disc_hidden,
            "disc_mlp": args.disc_mlp, "behaviour": args.behaviour, "free_ratio": args.free_ratio,
            "cost_f": args.cost_f, "cost_t": args.cost_t, "project": args.project, "adv_cap": args.adv_cap,
            "adv_start": args.adv_start, "adv_lr": args.adv_lr, "optimizer": args.optimizer, "lr": args.lr,
            "lr_schedule": args.lr_schedule, "lr_final": args.lr_final, "batch": args.batch,
            "chunk": chunk, "seed": args.seed, "spec": spec, **machine()})


if __name__ == "__main__":
    main()
