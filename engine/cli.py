"""``boltzmann``: train, sample, evaluate and inspect models from a terminal.

It runs the same engine and jobs as the studio: it submits a job, shows the job's events with tqdm, and
on Ctrl+C cancels the job and saves what was trained so far.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import queue
import sys
from pathlib import Path
from typing import Any, Sequence

from engine import events as ev
from engine.config import ConfigError, config_from_dict, field_types
from engine.data import LOADERS

EXIT_INTERRUPTED = 130
ALIASES = {"n_hidden": ["--hidden"], "n_visible": ["--visible-units"]}


def _add_config_options(parser: argparse.ArgumentParser, cls: type, title: str,
                        skip: Sequence[str] = ()) -> None:
    """One option per config field, named after it, with its help, range and choices."""
    group = parser.add_argument_group(title)
    types = field_types(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        meta, typ = f.metadata, types[f.name]
        flag = "--" + f.name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": f"{cls.__name__}.{f.name}", "default": None,
                                  "help": f"{meta.get('help', '')} (default: {f.default})"}
        if typ is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = typ if typ in (int, float, str) else str
            if meta.get("choices"):
                kwargs["choices"] = meta["choices"]
            else:
                kwargs["metavar"] = {int: "N", float: "X"}.get(typ, "TEXT")
        group.add_argument(flag, *ALIASES.get(f.name, []), **kwargs)


def _config_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    prefix = cls.__name__ + "."
    return {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}


def _data_spec(args: argparse.Namespace) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": args.data}
    for key in ("binarize", "limit", "valid"):
        if getattr(args, key, None) is not None:
            spec[key] = getattr(args, key)
    if args.data_root:
        spec["root"] = args.data_root
    if args.data_path:
        spec["path"] = args.data_path
    for item in args.data_opt:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--data-opt expects KEY=VALUE, got {item!r}")
        try:
            spec[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            spec[key.strip()] = value
    return spec


def _print_error(message: str) -> None:
    print(f"boltzmann: {message}", file=sys.stderr)


class _Runner:
    """Runs jobs on an engine, showing their events, until they end."""

    def __init__(self, device: str, quiet: bool = False) -> None:
        from engine import Engine

        self.engine = Engine(device=device)
        self.events: queue.Queue[ev.Event] = queue.Queue()
        self.engine.subscribe(self.events.put)
        self.quiet = quiet

    def run(self, fn: Any, *args: Any, desc: str = "", **kwargs: Any) -> Any:
        from tqdm import tqdm

        handle = self.engine.submit(fn, *args, **kwargs)
        bar = None
        postfix: dict[str, str] = {}
        try:
            while True:
                try:
                    e = self.events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if e.job != handle.id:
                    continue
                if isinstance(e, ev.Progress) and not self.quiet:
                    if bar is None:
                        bar = tqdm(total=e.total, desc=desc or handle.name, unit="step", dynamic_ncols=True,
                                   file=sys.stderr)
                    bar.total = e.total
                    bar.update(e.step - bar.n)
                elif isinstance(e, ev.Metrics) and bar is not None:
                    tag = "" if e.split == "train" else "val_"
                    postfix.update({tag + k: f"{v:.4g}" for k, v in e.values.items() if k != "lr"})
                    postfix["epoch"] = f"{e.epoch:.2f}"
                    bar.set_postfix(postfix, refresh=False)
                elif isinstance(e, ev.Log) and not self.quiet:
                    (bar.write if bar else lambda m: print(m, file=sys.stderr))(e.message)
                elif isinstance(e, (ev.Finished, ev.Failed, ev.Cancelled)):
                    break
        except KeyboardInterrupt:
            self.engine.cancel(handle)
            handle.wait(10)
            raise
        finally:
            if bar is not None:
                bar.close()
        return handle.result()

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.engine.call(fn, *args, **kwargs)

    def close(self) -> None:
        self.engine.shutdown(5)


def cmd_train(args: argparse.Namespace) -> int:
    from engine import jobs
    from engine.data import load_dataset
    from engine.models import family
    from engine.training import checkpoint
    from engine.training.trainer import TrainConfig, train

    fam = family(args.kind)
    # check the options here so a bad value is a usage error, not a failed job
    config_from_dict(TrainConfig, _config_values(args, TrainConfig))
    config_from_dict(fam.config_cls, {"n_visible": 1, **_config_values(args, fam.config_cls)})
    dataset = load_dataset(_data_spec(args))
    out = Path(args.out)
    runner = _Runner(args.device, args.quiet)
    try:
        has_ckpt = (checkpoint.resolve(out) / checkpoint.META).is_file()
        if has_ckpt and not args.resume:
            _print_error(f"{out} already holds a checkpoint; add --resume to continue training it, or choose "
                         "another --out")
            return 2
        if has_ckpt:
            info = runner.call(jobs.load_model, str(out), expected_kind=args.kind)
            given = _config_values(args, fam.config_cls)
            tunable = {k: v for k, v in given.items() if k in getattr(fam.module_cls, "TRAINING_OPTIONS", ())}
            if tunable:  # how it learns may change (an RBM fine-tuned with another learning rule)
                info = runner.call(jobs.retune, info["name"], tunable)
            if set(given) - set(tunable):
                print("boltzmann: resuming: model options other than "
                      f"{', '.join(getattr(fam.module_cls, 'TRAINING_OPTIONS', ())) or 'none'} are taken from the "
                      "checkpoint", file=sys.stderr)
        else:
            cfg = {"n_visible": dataset.dim, **_config_values(args, fam.config_cls)}
            seed = _config_values(args, TrainConfig).get("seed", 0)
            info = runner.call(jobs.create_model, args.kind, cfg, name=out.name, seed=seed)
        name = info["name"]
        tc = _config_values(args, TrainConfig)
        if has_ckpt:  # continue as it was trained: the options given change only what they name
            tc = {**_resumed_train_config(runner, name), **tc}
        try:
            result = runner.run(train, name, dataset, tc, save_to=str(out), save_every=args.save_every,
                                desc=f"train {name}")
        except KeyboardInterrupt:
            folder = runner.call(jobs.save_model, name, str(out))
            print(f"\ninterrupted: saved the model as trained so far to {folder}; continue with --resume",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception:
            # a diverged run has already restored its last good parameters; keep them if finite
            try:
                runner.call(jobs.save_model, name, str(out))
            except Exception:
                pass
            raise
        folder = runner.call(jobs.save_model, name, str(out))
        last = ", ".join(f"{k} {v:.4g}" for k, v in result["last"].items())
        print(f"saved {folder} after {result['epoch']:.2f} epochs ({result['elapsed_s']:.0f} s): {last}")
        return 0
    finally:
        runner.close()


def _resumed_train_config(runner: _Runner, name: str) -> dict[str, Any]:
    """The training options a checkpoint was last trained with, but its time budget (one run's)."""
    from engine.training.trainer import TrainConfig

    saved = runner.call(lambda ctx: dict(ctx.registry[name].trainer.get("train_config") or {}))
    keep = {f.name for f in dataclasses.fields(TrainConfig)} - {"time_budget_s"}
    return {k: v for k, v in saved.items() if k in keep}


def _checkpoint_data(args: argparse.Namespace, info: dict) -> dict | None:
    """The data to evaluate on: ``--data`` with its options on top of the checkpoint's own spec when it
    names the same dataset (so ``--data bouncing_balls`` keeps the resolution trained on), else the
    checkpoint's spec in ``--data-root``; None: the checkpoint's spec as it is."""
    saved = dict(info["data"].get("spec") or {})
    if args.data:
        spec = _data_spec(args)
        return {**(saved if saved.get("name") == spec["name"] else {}), **spec}
    if args.data_root:
        if not saved:
            raise ValueError("the checkpoint does not say what it was trained on: give --data")
        return {**saved, "root": args.data_root}
    return None


def _print_json(r: dict) -> None:
    """One JSON object; NaN and infinities (not JSON) become null."""
    print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}))


def cmd_eval_prediction(args: argparse.Namespace) -> int:
    """One-step-ahead prediction error of a sequence model, beside the copy-last baseline."""
    from engine import jobs
    from engine.data import load_dataset
    from engine.evaluation.prediction import evaluate_prediction

    runner = _Runner(args.device, args.quiet or args.json)
    try:
        info = runner.call(jobs.load_model, args.checkpoint)
        if not info.get("sequence"):
            raise ValueError(f"prediction error is for sequence models (rtrbm, trbm); {args.checkpoint} holds "
                             f"a {info['kind']}: use --method ais or exact")
        spec = _checkpoint_data(args, info) or dict(info["data"].get("spec") or {})
        if not spec:
            raise ValueError("the checkpoint does not say what it was trained on: give --data")
        if spec.get("name") == "bouncing_balls" and args.split == "test":
            spec.update(n_train=1, valid=0, limit=0)  # the test videos do not depend on the training set
        data = load_dataset(spec)
        r = runner.run(evaluate_prediction, info["name"], data=data, split=args.split, n_seqs=args.sequences,
                       steps=args.predict_steps, chains=args.chains, seed=args.seed, desc="prediction")
    finally:
        runner.close()
    if args.json:
        _print_json(r)
    else:
        print(f"{r['split']} prediction error: {r['pred_error']:.4g} +/- {r['pred_error_std']:.3g}   "
              f"copy-last baseline: {r['copy_last_error']:.4g} +/- {r['copy_last_error_std']:.3g}   "
              f"(squared error per frame; mean +/- std over {r['n']} sequences of {r['dataset']}, "
              f"{r['wall_s']:.1f} s)")
        if "pred_mse_original" in r:
            print(f"mean squared error per channel in {r['units']}: {r['pred_mse_original']:.4g}   "
                  f"copy-last baseline: {r['copy_last_mse_original']:.4g}")
    return 0


def _evaluate_checkpoint(args: argparse.Namespace, fn: Any, **kwargs: Any) -> dict:
    """Run the evaluation job ``fn`` on the checkpoint's model and data (``--data`` or what it was trained on);
    the job refuses a model it does not evaluate, with a message that says so."""
    from engine import jobs

    runner = _Runner(args.device, args.quiet or args.json)
    try:
        info = runner.call(jobs.load_model, args.checkpoint)
        return runner.run(fn, info["name"], data=_checkpoint_data(args, info), split=args.split, seed=args.seed,
                          desc="evaluate", **kwargs)
    finally:
        runner.close()


def cmd_eval_music(args: argparse.Namespace) -> int:
    """Negative log-likelihood per frame (exact, or AIS per frame) and expected frame-level accuracy of a model
    of music."""
    from engine.evaluation.music import evaluate_music

    r = _evaluate_checkpoint(args, evaluate_music, n_seqs=args.sequences, ais_runs=args.runs or 100,
                             ais_betas=args.betas or 1000, ais_reverse=args.reverse, ais_refine=args.refine,
                             ais_refine_betas=args.refine_betas)
    if args.json:
        _print_json(r)
    else:
        err = "" if r["method"] == "exact" else f" [{r['nll_lo']:.3f}, {r['nll_hi']:.3f}] (AIS, +/- 3 s.e.)"
        if "nll_reverse" in r:
            err += (f", reverse AIS {r['nll_reverse']:.3f} [{r['nll_reverse_lo']:.3f}, {r['nll_reverse_hi']:.3f}] "
                    f"(pessimistic, as forward AIS is optimistic: the NLL lies between them)")
        if "ais_refined" in r:
            share = r["ais_refined_gap_share"]
            held = "" if share is None else f" (they held {share:.0%} of the pilot's disagreement)"
            err += f"; {r['ais_refined']} frames refined at {r['ais_refine_betas']} temperatures{held}"
        print(f"{r['split']} NLL per frame: {r['nll']:.3f} nats{err}   expected frame accuracy: "
              f"{r['accuracy']:.3f}   ({r['n_frames']} frames of {r['n_sequences']} pieces, {r['wall_s']:.1f} s)")
    return 0


def cmd_eval_walkback(args: argparse.Namespace) -> int:
    """The lower bound (Eq. 3.5), the importance-sampling estimate (Eq. 3.10) and the reversibility of a
    Variational Walkback model."""
    from engine.evaluation.walkback import evaluate_walkback

    r = _evaluate_checkpoint(args, evaluate_walkback, n_examples=args.examples,
                             n_samples=100 if args.runs is None else args.runs)
    if args.json:
        _print_json(r)
    else:
        s = r["split"]
        est = f"   importance sampling (M={r['n_samples']}): {r[s + '_is_ll']:.2f} nats" if r["n_samples"] else ""
        print(f"{s} lower bound: {r[s + '_bound']:.2f} nats{est}   entropy production: "
              f"{r['entropy_production']:.3f} +/- {r['entropy_production_se']:.3f} nats/step   "
              f"({r['n']} examples, {r['walk_steps']}-step walks, {r['wall_s']:.1f} s)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from engine import jobs
    from engine.evaluation import evaluate

    if args.method == "prediction":
        return cmd_eval_prediction(args)
    if args.method == "music":
        return cmd_eval_music(args)
    if args.method == "walkback":
        return cmd_eval_walkback(args)
    runner = _Runner(args.device, args.quiet or args.json)
    try:
        info = runner.call(jobs.load_model, args.checkpoint)
        if info.get("sequence"):
            method = "music" if info["music"] else "prediction"
            raise ValueError(f"{args.checkpoint} holds a {info['kind']}, a model of sequences: evaluate it with "
                             f"--method {method}")
        data: Any = None
        if args.data:
            data = _data_spec(args)
        elif args.data_root:
            spec = dict(info["data"].get("spec") or {})
            if not spec:
                raise ValueError("the checkpoint does not say what it was trained on: give --data")
            data = {**spec, "root": args.data_root}
        r = runner.run(evaluate, info["name"], method=args.method, data=data, split=args.split,
                       n_runs=args.runs or 100, n_betas=args.betas or 14500, seed=args.seed, desc="AIS")
    finally:
        runner.close()
    key = f"{args.split}_ll"
    if args.json:
        out = {"test_ll" if key == "test_ll" else key: r[key], "log_z": r["log_z"], "log_z_err": r["log_z_err"]}
        out.update({k: v for k, v in r.items() if k not in out})
        _print_json(out)
    else:
        err = f" +/- {r['log_z_err']:.2f}" if args.method == "ais" else " (exact)"
        print(f"{r['split']} log-likelihood: {r[key]:.2f} nats{err}   log Z = {r['log_z']:.2f}{err}   "
              f"({r['n']} examples, {r['wall_s']:.1f} s)")
    return 0


def cmd_sample_video(args: argparse.Namespace, runner: _Runner, info: dict) -> int:
    """``boltzmann sample`` on a sequence model: a generated video as a GIF (the real sequence beside it) or
    as a .npz of arrays."""
    import numpy as np

    from engine import jobs
    from engine.utils.video import save_video

    out = Path(args.out)
    if out.suffix.lower() not in (".gif", ".npz"):
        raise ValueError(f"{info['name']} is a {info['kind']}, a model of sequences: write its video to a .gif "
                         f"or .npz file, not {out.name}")
    started: list[ev.VideoStarted] = []
    runner.engine.subscribe(lambda e: isinstance(e, ev.VideoStarted) and started.append(e))
    video = runner.run(jobs.generate_video, info["name"], n_frames=args.frames, gibbs_steps=args.gibbs,
                       n_seqs=args.videos, prime=args.prime, data=_checkpoint_data(args, info),
                       sequence=args.sequence, seed=args.seed, desc="generate")
    head = started[0]
    if head.prime:
        primes = np.broadcast_to(head.real[:head.prime], (len(video), *head.real[:head.prime].shape))
        video = np.concatenate([primes, video], 1)
    real = head.real if args.real else None
    fps = args.fps or head.fps or 10
    path = save_video(out, video, head.layout, real=real, bones=head.bones, fps=fps, prime=head.prime,
                      scale=args.scale or 0)
    what = "stick figures" if head.layout == "skeleton" else "frames"
    print(f"wrote {path} ({len(video)} video{'s' * (len(video) > 1)} of {video.shape[1]} {what}, "
          f"{head.prime} of them real; {args.gibbs} Gibbs steps a frame)")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from engine import jobs
    from engine.utils.images import save_gif, save_png, tile

    runner = _Runner(args.device, args.quiet)
    frames: list = []
    try:
        info = runner.call(jobs.load_model, args.checkpoint)
        if info.get("sequence"):
            return cmd_sample_video(args, runner, info)
        if args.gif:
            runner.engine.subscribe(lambda e: isinstance(e, ev.Frame) and frames.append(tile(e.image)))
        every = max(1, args.steps // 100)  # also keeps the progress bar and the engine's slices short
        final = runner.run(jobs.sample, info["name"], n_chains=args.chains, steps=args.steps, every=every,
                           seed=args.seed, desc="sample")
    finally:
        runner.close()
    if final.ndim != 3:
        raise ValueError("this model's samples are not images; save them with the studio instead")
    scale = args.scale or 2
    path = save_png(tile(final), args.out, scale=scale)
    print(f"wrote {path} ({args.chains} samples after {args.steps} Gibbs steps)")
    if args.gif:
        print(f"wrote {save_gif(frames, args.gif, scale=scale)} ({len(frames)} frames)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from engine.training import checkpoint

    meta = checkpoint.read_meta(args.checkpoint)
    entry = checkpoint.load(args.checkpoint)
    info = entry.info()
    info["engine_version"] = meta.get("engine_version")
    info["saved"] = meta.get("saved")
    if args.json:
        print(json.dumps(info, default=str))
        return 0
    print(f"{info['name']}: {info['kind']} with {info['parameters']:,} parameters, "
          f"saved {info['saved']} by engine {info['engine_version']}")
    print("config: " + ", ".join(f"{k}={v}" for k, v in info["config"].items()))
    print(f"trained: {info['step']} updates, {info['epoch']:.2f} epochs on "
          f"{(info['data'].get('spec') or {}).get('name', 'unknown data')}")
    for k, v in sorted(info["best"].items()):
        print(f"  best {k}: {v:.4g}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """A copy of a checkpoint without what only resuming needs: smaller, to share or bundle."""
    from engine.training import checkpoint

    entry = checkpoint.load(args.checkpoint)
    if args.name:
        entry.name = args.name
    folder = checkpoint.save(entry, args.out, trainer_state=False)
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"{entry.name}: {entry.kind} written to {folder} ({size / 1e6:.1f} MB, no optimiser state)")
    return 0


def cmd_midi_inspect(args: argparse.Namespace) -> int:
    """What was read from a MIDI file; a malformed file is a MidiError (a ValueError: exit 2, one line)."""
    from engine.music.midi_io import read_midi

    score = read_midi(args.file)
    print(json.dumps(score.to_json()) if args.json else score.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from engine import __version__
    from engine.models import FAMILIES
    from engine.training.trainer import TrainConfig

    p = argparse.ArgumentParser(prog="boltzmann", description="Train, sample and evaluate energy-based "
                                "models (the command line of Boltzmann Studio).")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
        sp.add_argument("--data-root", help="folder holding mnist.npz etc. (default: $BOLTZMANN_DATA, the "
                        "saved setting, or ../shared/data)")
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    def data_opts(sp: argparse.ArgumentParser, required: bool) -> None:
        sp.add_argument("--data", required=required, choices=tuple(LOADERS), help="dataset")
        sp.add_argument("--data-path", help="a file or folder, for datasets read from one (folder, bvh)")
        sp.add_argument("--data-opt", action="append", default=[], metavar="KEY=VALUE",
                        help="a dataset option, e.g. n_train=4000 or T=100 (repeatable)")
        sp.add_argument("--binarize", choices=("threshold", "stochastic", "none"),
                        help="MNIST: one fixed stochastic draw per pixel (default, as in the literature), threshold at 0.5, or none")
        sp.add_argument("--limit", type=int, help="use only the first N training examples")
        sp.add_argument("--valid", type=int, help="hold out the last N training examples for validation")

    t = sub.add_parser("train", help="train a model and save it")
    kinds = t.add_subparsers(dest="kind", required=True, metavar="KIND")
    for fam in FAMILIES.values():
        k = kinds.add_parser(fam.kind, help=fam.title)
        k.add_argument("--out", required=True, help="checkpoint folder to write")
        k.add_argument("--resume", action="store_true", help="continue training the checkpoint in --out with "
                       "the training options it was trained with; those given here replace theirs")
        k.add_argument("--save-every", type=int, default=1,
                       help="epochs between checkpoint saves (0: only at the end)")
        common(k)
        data_opts(k, True)
        _add_config_options(k, fam.config_cls, f"{fam.kind} options", skip=("n_visible",))
        _add_config_options(k, TrainConfig, "training options")
        k.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="log-likelihood of a checkpoint (AIS or exact), or the prediction error of a "
                       "sequence model")
    e.add_argument("checkpoint")
    e.add_argument("--method", choices=("ais", "exact", "prediction", "music", "walkback"), default="ais",
                   help="ais or exact: log-likelihood of an RBM; prediction: one-step-ahead prediction error "
                   "of a sequence model (rtrbm, trbm) beside the copy-last baseline; music: NLL per frame and "
                   "expected accuracy of a model of music (rnnrbm, rnnnade, note_rnn); walkback: lower bound, "
                   "importance-sampling estimate and reversibility of a walkback model")
    e.add_argument("--split", choices=("test", "train", "valid"), default="test")
    e.add_argument("--runs", type=int, help="AIS runs (default 100); walkback: heating walks per example of "
                   "the importance-sampling estimate (default 100, 0: skip it)")
    e.add_argument("--examples", type=int, default=0, help="walkback: the first N examples only (0: all)")
    e.add_argument("--betas", type=int, help="AIS temperatures (default 14500; music: 1000 per frame)")
    e.add_argument("--reverse", action="store_true", help="music (RNN-RBM): also run reverse AIS from the test "
                   "frames, a pessimistic estimate; forward AIS's is optimistic, and the two bracket the NLL")
    e.add_argument("--refine", type=float, default=0.0, help="music (RNN-RBM): this fraction of the frames, those "
                   "whose forward and reverse AIS disagree most in a pilot run, get --refine-betas temperatures")
    e.add_argument("--refine-betas", type=int, default=0, help="music: temperatures of the refined frames "
                   "(default 10x --betas)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--sequences", type=int, default=0, help="prediction, music: the first N sequences only (0: all)")
    e.add_argument("--predict-steps", type=int, help="prediction: Gibbs steps of each prediction (default: the "
                   "model's predict_steps)")
    e.add_argument("--chains", type=int, default=1, help="prediction: chains averaged per prediction")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    common(e)
    data_opts(e, False)
    e.set_defaults(func=cmd_eval)

    s = sub.add_parser("sample", help="write a grid of samples as PNG, or a generated video (sequence models) as "
                       "GIF or .npz")
    s.add_argument("checkpoint")
    s.add_argument("--out", required=True, help="PNG file; for a sequence model a .gif or .npz file")
    s.add_argument("--gif", help="also write the chains' animation as a GIF")
    s.add_argument("--chains", type=int, default=64)
    s.add_argument("--steps", type=int, default=1000, help="Gibbs steps")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--scale", type=int, help="pixel size (default 2; videos: enlarged to about 120 pixels)")
    video = s.add_argument_group("videos of sequence models (rtrbm, trbm)")
    video.add_argument("--frames", type=int, default=100, help="frames to generate (default 100)")
    video.add_argument("--gibbs", type=int, default=25, help="Gibbs steps per frame (default 25)")
    video.add_argument("--videos", type=int, default=1, help="videos generated at once, drawn as a grid")
    video.add_argument("--prime", type=int, default=0, help="start from this many frames of a real test sequence")
    video.add_argument("--sequence", type=int, default=0, help="which test sequence is the real one (default 0)")
    video.add_argument("--fps", type=float, default=0.0, help="GIF frame rate (default: the data's own)")
    video.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                       help="draw the real sequence beside the generated one (default: yes, if the data is known)")
    common(s)
    data_opts(s, False)
    s.set_defaults(func=cmd_sample)

    m = sub.add_parser("midi", help="read MIDI files")
    midi = m.add_subparsers(dest="midi_command", required=True, metavar="COMMAND")
    mi = midi.add_parser("inspect", help="print the notes, drums and timing read from a MIDI file")
    mi.add_argument("file")
    mi.add_argument("--json", action="store_true", help='one JSON object: {"notes": [[pitch, start_s, end_s, '
                    'velocity, channel], ...], "drums": [...], "tempo_changes": n, "ticks_per_beat": n}')
    mi.set_defaults(func=cmd_midi_inspect)

    x = sub.add_parser("export", help="copy a checkpoint without its optimiser state and chains (smaller, to "
                       "share or bundle; training it again starts those afresh)")
    x.add_argument("checkpoint")
    x.add_argument("out", help="folder to write")
    x.add_argument("--name", help="the model's name in the copy")
    x.set_defaults(func=cmd_export)

    i = sub.add_parser("info", help="describe a checkpoint")
    i.add_argument("checkpoint")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from engine.data import DataError
    from engine.training.checkpoint import CheckpointError

    try:
        return args.func(args)
    except (DataError, CheckpointError, ConfigError, ValueError, KeyError) as exc:
        _print_error(str(exc).strip("'\""))
        return 2
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # a failed job: JobError carries the job's message
        _print_error(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
