"""Jobs shared by the CLI and the studio: create, load, save and sample models.

Each is a function ``fn(ctx, ...)`` for :meth:`engine.Engine.submit`; training is
:func:`engine.training.trainer.train` and evaluation :func:`engine.evaluation.evaluate`.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch

from engine import events as ev
from engine.config import config_from_dict
from engine.models import family
from engine.registry import ModelEntry
from engine.training import checkpoint


class Pacer:
    """Keeps a job's frames to at most ``fps`` a second (0: as fast as they come): ``yield pace.wait()``
    after each frame gives the engine a Wait (other jobs run meanwhile) or None; a job that falls behind
    does not try to catch up."""

    def __init__(self, fps: float) -> None:
        import time

        self.fps, self._clock = fps, time.perf_counter
        self._next = self._clock()

    def wait(self) -> ev.Wait | None:
        if self.fps <= 0:
            return None
        self._next += 1.0 / self.fps
        wait = self._next - self._clock()
        if wait > 0:
            return ev.Wait(wait)
        self._next = self._clock()
        return None


def create_model(ctx: Any, kind: str, config: dict | None = None, name: str | None = None,
                 seed: int = 0) -> dict:
    fam = family(kind)
    cfg = config_from_dict(fam.config_cls, config or {})
    gen = torch.Generator().manual_seed(seed)
    module = fam.build(cfg, generator=gen).to(ctx.device)
    entry = ModelEntry(ctx.registry.unique_name(name or kind), kind, cfg, module, dirty=True)
    return ctx.registry.add(entry).info()


def load_model(ctx: Any, path: str, name: str | None = None, expected_kind: str | None = None,
               replace: bool = False) -> dict:
    entry = checkpoint.load(path, expected_kind=expected_kind, device=ctx.device, name=name)
    if not replace:
        entry.name = ctx.registry.unique_name(entry.name)
    return ctx.registry.add(entry, replace=replace).info()


def save_model(ctx: Any, model: str, path: str | None = None) -> str:
    entry = ctx.registry[model]
    target = path or entry.path
    if not target:
        raise ValueError(f"{model!r} has never been saved: choose where to save it")
    folder = checkpoint.save(entry, target)
    ctx.registry.changed(model)
    return str(folder)


def model_info(ctx: Any, model: str) -> dict:
    return ctx.registry[model].info()


def sample(ctx: Any, model: str, n_chains: int = 64, steps: int = 1000, every: int = 1,
           init: np.ndarray | None = None, mask: np.ndarray | None = None, seed: int = 0,
           shape: tuple[int, ...] | None = None, start: str = "noise", data: dict | None = None,
           fps: float = 0.0) -> Iterator[ev.Event | ev.Wait | None]:
    """Gibbs chains from noise, from random test examples (``start="data"``) or from ``init`` (with
    ``mask`` clamped); a Frame every ``every`` steps, at most ``fps`` frames a second when fps > 0.

    Returns the final visible means as an (N, *shape) array.
    """

    entry = ctx.registry[model]
    shape = tuple(shape or entry.data.get("shape") or _squareish(entry.config.n_visible))
    gen = torch.Generator(device=ctx.device).manual_seed(seed)
    if init is None and start == "data":
        init = _random_examples(entry, data, n_chains, seed, "start from noise instead")
    elif start not in ("noise", "data"):
        raise ValueError(f"unknown start {start!r}: use noise or data")
    t_init = None if init is None else torch.as_tensor(np.asarray(init, np.float32))
    t_mask = None if mask is None else torch.as_tensor(np.asarray(mask, bool))
    last = None
    pace = Pacer(fps)
    for step, mean in entry.module.gibbs(n_chains, steps, init=t_init, mask=t_mask, every=every,
                                         generator=gen):
        last = mean.float().cpu().numpy().reshape(-1, *shape)
        yield ev.Frame(job=ctx.job, step=step, image=ev.frozen_array(last), label="gibbs")
        yield ev.Progress(job=ctx.job, step=step, total=steps, unit="Gibbs steps")
        yield pace.wait()
    return last


def _random_examples(entry: ModelEntry, data: dict | None, n: int, seed: int, otherwise: str) -> np.ndarray:
    """``n`` random test examples (training ones when there is no test split) of ``data``, default the data
    ``entry`` was trained on; without either, a ValueError that ends with what to do ``otherwise``."""
    from engine.data import cached_dataset

    spec = data or entry.data.get("spec")
    if not spec:
        raise ValueError(f"{entry.name!r} does not say what data it was trained on: {otherwise}")
    pool = cached_dataset(spec)
    pool_x = pool.test if len(pool.test) else pool.train
    idx = torch.randint(len(pool_x), (n,), generator=torch.Generator().manual_seed(seed))
    return pool_x[idx.numpy()]


def generate_video(ctx: Any, model: str, n_frames: int = 100, gibbs_steps: int = 25, n_seqs: int = 1,
                   prime: int = 0, data: dict | None = None, sequence: int = 0, seed: int = 0,
                   every_gibbs: bool = False, fps: float = 0.0, feed_mean: bool | None = None,
                   ) -> Iterator[ev.Event | ev.Wait | None]:
    """New videos from a sequence model, frame by frame: a job for the studio's video view and the CLI.

    First a :class:`~engine.events.VideoStarted` says how to draw the frames and carries the real test
    sequence number ``sequence`` of ``data`` (default: the data the model was trained on), whose first
    ``prime`` frames start the ``n_seqs`` generated videos. Then a Frame (label "video", ``index`` = frame
    number, ``step`` = ``gibbs_steps``) as each frame's Gibbs chain finishes, and with ``every_gibbs`` one
    (label "gibbs") for each Gibbs step before; at most ``fps`` Frames a second when fps > 0. Frames are
    images (n_seqs, H, W), or joint positions (n_seqs, J, 3) for motion capture. ``feed_mean`` (default:
    for Gaussian visibles) feeds each frame's means rather than its sample to the next frame.

    Returns the generated videos, (n_seqs, n_frames, *frame) in the Frames' layout.
    """
    import time

    entry = ctx.registry[model]
    module = entry.module
    if not hasattr(module, "generate"):
        if entry.kind == "ladder":
            raise ValueError(f"{model!r} is a Recurrent Ladder: it reads and predicts sequences but does not "
                             "generate them (see what it makes of one in the Inference view)")
        raise ValueError(f"{model!r} is a {entry.kind} model, of single examples, not of sequences: sample it "
                         "in the Sampling view instead")
    if n_frames < 1 or gibbs_steps < 1 or n_seqs < 1 or prime < 0:
        raise ValueError("a video needs at least one frame, one Gibbs step a frame and one sequence")
    V = int(entry.config.n_visible)
    spec = data or entry.data.get("spec")
    real, meta, shape = None, {}, tuple(entry.data.get("shape") or ())
    if spec:
        real, meta, shape = _real_sequence(spec, sequence, prime + n_frames)
        if real.shape[-1] != V:
            raise ValueError(f"{model!r} has {V} visible units but frames of {spec.get('name')} have "
                             f"{real.shape[-1]} values")
    elif prime:
        raise ValueError(f"{model!r} does not say what data it was trained on: priming needs real sequences "
                         "(give the data)")
    if prime > (0 if real is None else len(real)):
        raise ValueError(f"cannot prime with {prime} frames: the real sequence has {len(real)}")

    skeleton = "positions" in meta and "to_original" in meta
    if skeleton:
        to_positions = lambda x: meta["positions"](meta["to_original"](x)).astype(np.float32)  # noqa: E731
        history = np.empty((n_seqs, prime + n_frames, V), np.float32)  # the channels so far: the root's
        history[:, :prime] = real[:prime]  # path is integrated from the first frame
        frame_shape = to_positions(real[:1]).shape[1:]
    else:
        if len(shape) != 2 or shape[0] * shape[1] != V:
            shape = _squareish(V)
        frame_shape = shape
    if feed_mean is None:
        feed_mean = getattr(entry.config, "visible", "binary") == "gaussian"

    def display(x: np.ndarray, t: int) -> np.ndarray:
        """Frames (n_seqs, *frame) from visible means (n_seqs, V) of video frame ``t``."""
        if not skeleton:
            return x.reshape(n_seqs, *frame_shape)
        history[:, prime + t] = x
        return np.stack([to_positions(history[s, :prime + t + 1])[-1] for s in range(n_seqs)])

    yield ev.VideoStarted(
        job=ctx.job, model=model, layout="skeleton" if skeleton else "image", shape=tuple(frame_shape),
        n_frames=n_frames, n_seqs=n_seqs, gibbs_steps=gibbs_steps, prime=prime,
        real=None if real is None else ev.frozen_array(to_positions(real) if skeleton
                                                       else real.reshape(-1, *frame_shape)),
        bones=tuple(tuple(map(int, b)) for b in meta.get("bones", ())), fps=float(meta.get("fps", 0.0)))
    video = np.empty((n_seqs, n_frames, *frame_shape), np.float32)
    gen = torch.Generator(device=ctx.device).manual_seed(seed)
    primes = torch.from_numpy(np.ascontiguousarray(real[:prime])).to(ctx.device) if prime else None
    t0 = last_progress = time.perf_counter()
    pace = Pacer(fps)
    for f in module.generate(n_seqs, n_frames, gibbs_steps, primes, gen, every_gibbs, feed_mean):
        final = f.step == gibbs_steps
        image = display(f.mean.float().cpu().numpy(), f.index)
        if final:
            video[:, f.index] = image
        yield ev.Frame(job=ctx.job, step=f.step, image=ev.frozen_array(image),
                       label="video" if final else "gibbs", index=f.index)
        now = time.perf_counter()
        if final and (now - last_progress > 0.1 or f.index == n_frames - 1):
            last_progress = now
            rate = (f.index + 1) * n_seqs / (now - t0)
            yield ev.Progress(job=ctx.job, step=f.index + 1, total=n_frames, rate=rate, unit="frames",
                              eta_s=(n_frames - f.index - 1) * n_seqs / rate)
        yield pace.wait()
    return video


def _real_sequence(spec: dict, sequence: int, length: int) -> tuple[np.ndarray, dict, tuple[int, ...]]:
    """Test sequence number ``sequence`` of a dataset (the training one if there is no test split), with the
    dataset's meta and frame shape, at least ``length`` frames long where the data allows.

    Bouncing balls are simulated for just that video: their test videos do not depend on the training set,
    and a longer or larger draw begins with the same videos. Motion capture is cut into test windows of
    ``length`` frames if its test parts are that long (the channels are standardised by the training
    frames alone, whatever the window length, so the model sees the same numbers).
    """
    from engine.data import DataError, cached_dataset

    spec = dict(spec)
    T = int(spec.get("T", 100 if spec.get("name") == "bouncing_balls" else 50))
    if spec.get("name") == "bouncing_balls":
        spec.update(n_train=1, n_test=sequence + 1, T=max(T, length), valid=0, limit=0)
    elif spec.get("name") in ("mocap_mit", "bvh") and length > T:
        try:
            longer = cached_dataset({**spec, "T": length, "stride": length, "valid": 0, "limit": 0})
        except DataError:  # longer than the motions: keep the windows the model was trained on
            longer = None
        if longer is not None and len(longer.test) > sequence:
            spec = longer.spec
    dataset = cached_dataset(spec)
    if not dataset.is_sequence:
        raise ValueError(f"{dataset.name} holds single examples, not sequences")
    pool = dataset.test if len(dataset.test) else dataset.train
    if not 0 <= sequence < len(pool):
        raise ValueError(f"there is no sequence {sequence}: {dataset.name} has {len(pool)} test sequences")
    return pool[sequence], dataset.meta, tuple(dataset.shape)


#: the most frames of a piece of music :func:`ladder_inference` reads when no length is given
MAX_PIECE = 400


def ladder_inference(ctx: Any, model: str, data: dict | None = None, index: int = 0, split: str = "test",
                     length: int = 0) -> dict:
    """What a Recurrent Ladder makes of sequence ``index`` of ``split`` (the training split when there is no
    test split) of ``data`` (default: the data it was trained on), step by step, for the studio's inference
    view: ``frames`` (T, *shape) as observed, ``prediction`` (T, *shape), after step t the probability of each
    unit of frame t+1 (None for a ladder that does not predict), ``classes`` (T, K) the class probabilities
    after step t (None without a classifier), ``label`` (the sequence's true class, or None), ``shape``,
    ``music``, ``lo`` (the lowest pitch of a piano roll), ``index`` and ``n`` (sequences in the split).
    ``length`` > 0 reads at most that many frames; pieces of music are read up to :data:`MAX_PIECE`."""
    from engine.data import MUSIC_DATASETS, cached_dataset
    from engine.data.sequences import Sequences

    entry = ctx.registry[model]
    if entry.kind != "ladder":
        raise ValueError(f"{model!r} is a {entry.kind} model: inference step by step is for Recurrent Ladder "
                         "models")
    spec = data or entry.data.get("spec")
    if not spec:
        raise ValueError(f"{model!r} has not been trained yet: train it first, or give the data to read")
    if split not in ("train", "valid", "test"):
        raise ValueError(f"unknown split {split!r}: use train, valid or test")
    dataset = cached_dataset(spec)
    if not dataset.is_sequence:
        raise ValueError(f"{dataset.name} holds single examples, not sequences")
    pool = getattr(dataset, split)
    if split == "test" and not len(pool):
        split, pool = "train", dataset.train
    n, D = len(pool), int(entry.config.n_visible)
    if not 0 <= index < n:
        raise ValueError(f"there is no sequence {index}: {dataset.name} has {n} {split} sequences")
    if pool.shape[-1] != D:
        raise ValueError(f"{model!r} reads frames of {D} values but {dataset.name} has {pool.shape[-1]}")
    cut = length if length > 0 else MAX_PIECE if isinstance(pool, Sequences) else 0
    frames = np.asarray(pool[int(index)], np.float32)[:cut or None]
    out = entry.module.infer(frames)
    music = dataset.name in MUSIC_DATASETS
    shape = tuple(int(s) for s in dataset.shape)
    if music or len(shape) != 2 or min(shape) < 2 or shape[0] * shape[1] != D:
        shape = (D,)
    labels = (dataset.meta.get("labels") or {}).get(split)
    as_numpy = lambda x: None if x is None else x[0].float().cpu().numpy()  # noqa: E731
    prediction = as_numpy(out["prediction"])
    return {"frames": frames.reshape(-1, *shape), "prediction": None if prediction is None
            else prediction.reshape(-1, *shape), "classes": as_numpy(out["classes"]),
            "label": None if labels is None else int(labels[index]), "shape": shape, "music": music,
            "lo": int(dataset.meta["lo"]) if music and "lo" in dataset.meta else None, "index": int(index),
            "n": n, "data": dataset.name, "split": split}


def data_example(ctx: Any, spec: dict, index: int = 0) -> dict:
    """Test example number ``index`` (modulo their number; the training examples when there is no test split)
    of the dataset ``spec``, as an image: ``{"image": (H, W) float32, "index", "count", "name"}``."""
    from engine.data import cached_dataset

    dataset = cached_dataset(spec)
    if dataset.is_sequence or len(dataset.shape) != 2:
        raise ValueError(f"{dataset.name} holds sequences, not images")
    pool = dataset.test if len(dataset.test) else dataset.train
    if not len(pool):
        raise ValueError(f"{dataset.name} has no examples")
    i = int(index) % len(pool)
    image = np.asarray(pool[i], np.float32).reshape(dataset.shape)
    return {"image": image, "index": i, "count": len(pool), "name": dataset.name}


def rename_model(ctx: Any, model: str, new: str) -> dict:
    new = new.strip()
    if not new:
        raise ValueError("a model needs a name")
    ctx.registry.rename(model, new)
    return ctx.registry[new].info()


def delete_model(ctx: Any, model: str) -> None:
    ctx.registry.remove(model)


def duplicate_model(ctx: Any, model: str, name: str | None = None) -> dict:
    import copy

    src = ctx.registry[model]
    entry = ModelEntry(ctx.registry.unique_name(name or f"{model} copy"), src.kind, copy.deepcopy(src.config),
                       copy.deepcopy(src.module), copy.deepcopy(src.history), copy.deepcopy(src.trainer),
                       copy.deepcopy(src.data), path=None, dirty=True)
    if hasattr(src.module, "train_state"):
        entry.module.load_train_state(copy.deepcopy(src.module.train_state()))
    return ctx.registry.add(entry).info()


def set_mode(ctx: Any, model: str, mode: str) -> dict:
    """Switch a professor-forcing model between teacher and professor forcing, keeping its generator; the
    next training run starts fresh optimiser buffers (the set of parameters changed)."""
    entry = ctx.registry[model]
    if not hasattr(entry.module, "set_mode"):
        raise ValueError(f"{model!r} is a {entry.kind} model: only professor-forcing models have a training mode")
    if entry.training:
        raise ValueError(f"{model!r} is training: stop it before switching its mode")
    if entry.config.mode != mode:
        entry.module.set_mode(mode)
        entry.config = entry.module.config
        entry.trainer.pop("optimizer", None)
        entry.dirty = True
        ctx.registry.changed(model)
    return entry.info()


def retune(ctx: Any, model: str, changes: dict[str, Any]) -> dict:
    """Change options of a trained model that only say how it learns (its family's ``TRAINING_OPTIONS``: an
    RBM's learning rule and Gibbs steps, say) and keep its weights; the next training run starts fresh
    optimiser buffers and chains. Any other option is refused: it would change what the weights mean."""
    import dataclasses

    entry = ctx.registry[model]
    allowed = tuple(getattr(entry.module, "TRAINING_OPTIONS", ()))
    other = sorted(set(changes) - set(allowed))
    if other:
        can = ", ".join(allowed) if allowed else "none"
        raise ValueError(f"{', '.join(other)} cannot change once a {entry.kind} model exists (it can change: {can})")
    if entry.training:
        raise ValueError(f"{model!r} is training: stop it before changing how it trains")
    new = config_from_dict(type(entry.config), {**dataclasses.asdict(entry.config), **changes})
    if new != entry.config:
        entry.config = entry.module.config = new
        if hasattr(entry.module, "forget_chains"):
            entry.module.forget_chains()
        entry.trainer.pop("optimizer", None)
        entry.dirty = True
        ctx.registry.changed(model)
    return entry.info()


def model_history(ctx: Any, model: str) -> list[dict]:
    return [dict(r) for r in ctx.registry[model].history]


def model_chains(ctx: Any, model: str, n: int = 64) -> np.ndarray | None:
    """The images of a model's persistent chains (what it last dreamt in training), or None."""
    from engine.training.trainer import frames_of

    entry = ctx.registry[model]
    shape = tuple(entry.data.get("shape") or _squareish(entry.config.n_visible))
    return frames_of(entry.module, shape, n)


def filters(ctx: Any, model: str, n: int = 100, data: dict | None = None, n_data: int = 500) -> dict | None:
    """Receptive fields (the first ``n`` weight columns as images) and histograms of the weights and of
    the hidden units' mean activations on data, for the studio's filters panel. For a sequence model,
    those of each frame's RBM (its static hidden biases; the past shifts them frame by frame). None for a
    model with no weight matrix between visibles and hiddens."""
    from engine.data import cached_dataset

    entry = ctx.registry[model]
    module = entry.module
    if hasattr(module, "standard_params"):
        p = module.standard_params()
        W_dev = p.W
        hidden = lambda X: module.hidden_probs(X, p)  # noqa: E731
    elif getattr(module, "takes_sequences", False) and hasattr(module, "W") and hasattr(module, "b_h"):
        W_dev = module.W  # an RTRBM, TRBM or RNN-RBM
        hidden = lambda X: module.hidden_probs(X, module.b_h)  # noqa: E731
    else:
        return None  # a walkback operator, an RNN-NADE, a GRU generator: no RBM weights to show
    W = W_dev.detach().float().cpu()
    shape = tuple(entry.data.get("shape") or ())
    if len(shape) != 2 or shape[0] * shape[1] != W.shape[0]:
        shape = _squareish(W.shape[0])
    fields = W[:, :n].T.reshape(-1, *shape)
    lo = fields.flatten(1).min(1).values[:, None, None]
    hi = fields.flatten(1).max(1).values[:, None, None]
    fields = (fields - lo) / (hi - lo).clamp_min(1e-12)
    w_counts, w_edges = np.histogram(W.numpy(), bins=60)
    out = {"filters": fields.numpy(), "weight_hist": (w_counts, w_edges), "hidden_hist": None,
           "shape": shape, "n_hidden": int(W.shape[1])}
    spec = dict(data or entry.data.get("spec") or {})
    if spec:
        if spec.get("name") == "bouncing_balls":  # simulate only the videos needed, not the training set
            spec.update(n_train=-(-n_data // int(spec.get("T", 100))), valid=0, limit=0)
        try:
            train = cached_dataset(spec).train
            X = torch.from_numpy(train.reshape(-1, train.shape[-1])[:n_data]).to(W_dev.device)
        except ValueError:
            X = None
        if X is not None and X.shape[1] == W.shape[0]:
            with torch.no_grad():
                h = hidden(X).mean(0).float().cpu().numpy()
            out["hidden_hist"] = np.histogram(h, bins=40, range=(0.0, 1.0))
    return out


def _squareish(n: int) -> tuple[int, int]:
    import math

    h = int(math.sqrt(n))
    while n % h:
        h -= 1
    return (h, n // h)


def walkback(ctx: Any, model: str, direction: str = "cool", n_chains: int = 16, start: np.ndarray | None = None,
             extra_steps: int = 0, seed: int = 0, every: int = 1, fps: float = 0.0,
             ) -> Iterator[ev.Event | ev.Wait | None]:
    """The walk of a walkback model, step by step, for the studio's walkback animation.

    ``direction="cool"``: ``n_chains`` walks from noise (the prior p*) down to T = 1, then ``extra_steps`` more
    at T = 1; ``"heat"``: the training walk away from data images ``start`` (n, H, W) (default:
    ``n_chains`` random test digits of the model's data). Yields a Frame (label "walkback", ``image`` the
    operator's means (n, H, W), ``temperature`` of the step) for step 0 and every ``every`` steps after, at most
    ``fps`` a second when fps > 0, and Progress. Returns ``{"images": the last frame's images, "temperatures":
    the temperature of each frame}``.
    """
    entry = ctx.registry[model]
    module = entry.module
    if not hasattr(module, "cool"):
        raise ValueError(f"{model!r} is a {entry.kind} model, not a walkback model")
    if direction not in ("cool", "heat") or every < 1:
        raise ValueError(f"direction must be cool or heat (not {direction!r}) and every >= 1")
    shape = tuple(entry.data.get("shape") or _squareish(entry.config.n_visible))
    gen = torch.Generator(device=ctx.device).manual_seed(seed)
    if direction == "heat":
        if start is None:
            start = _random_examples(entry, None, n_chains, seed, "give start images")
        start = np.asarray(start, np.float32)
        if start.ndim < 2 or start[0].size != entry.config.n_visible:
            raise ValueError(f"start images must be (n, {shape[0]}, {shape[1]}) for {model!r}, not {start.shape}")
        x = torch.from_numpy(start.reshape(len(start), -1))
        walk = module.heat(x.to(ctx.device), generator=gen)
        total = len(module.heating_temperatures())
    else:
        walk = module.cool(n_chains, extra_steps=extra_steps, generator=gen)
        total = len(module.heating_temperatures()) + extra_steps
    images, temps = None, []
    pace = Pacer(fps)
    for w in walk:
        if w.step % every and w.step != total:
            continue
        images = w.mean.float().clamp(0, 1).cpu().numpy().reshape(-1, *shape)
        temps.append(float(w.temperature))
        yield ev.Frame(job=ctx.job, step=w.step, image=ev.frozen_array(images), label="walkback",
                       temperature=float(w.temperature))
        yield ev.Progress(job=ctx.job, step=w.step, total=total, unit="steps")
        yield pace.wait()
    return {"images": images, "temperatures": temps}
