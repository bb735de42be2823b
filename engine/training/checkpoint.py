"""Checkpoints: a folder with ``model.json`` and one ``weights-<hash>.safetensors``.

The JSON holds the model kind, config, engine version, training history, data description and the
trainer's plain values; tensors (parameters, persistent chains, optimiser buffers, generator state) are in
the safetensors file, whose name and sha256 the JSON records. A save writes the new weights file beside
the old one, then atomically replaces ``model.json`` (the commit point), then removes the old weights: a
crash at any moment leaves either the old or the new checkpoint, whole. Nothing here unpickles.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine import __version__
from engine.config import ConfigError, config_from_dict, config_to_dict
from engine.models import family
from engine.registry import ModelEntry

FORMAT = "boltzmann-studio/checkpoint"
FORMAT_VERSION = 1
META = "model.json"
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once, at import, when no other thread is creating files


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or read; the message is meant for the user."""


def _plain(trainer: dict) -> dict:
    """The trainer's position (steps, epochs, elapsed time) without its tensors and optimiser state."""
    keep = ("step", "epoch", "elapsed_s", "train_config", "optimizer_kind")
    return {k: trainer[k] for k in keep if k in trainer}


def _split_tensors(obj: Any, prefix: str, out: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested dict/list by a reference, collecting the tensors in ``out``."""
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj.detach().to("cpu").contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {str(k): _split_tensors(v, f"{prefix}.{k}", out) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split_tensors(v, f"{prefix}.{i}", out) for i, v in enumerate(obj)]
    return obj


def _join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        return {k: _join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join_tensors(v, tensors) for v in obj]
    return obj


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def resolve(path: str | os.PathLike) -> Path:
    """The checkpoint folder for a path to the folder or to its model.json."""
    p = Path(path).expanduser()
    return p.parent if p.name == META or p.suffix == ".safetensors" else p


def save(entry: ModelEntry, path: str | os.PathLike, trainer_state: bool = True) -> Path:
    """Write ``entry`` to the folder ``path``; refuses a model whose parameters are not finite.

    ``trainer_state=False`` leaves out what only resuming needs (optimiser buffers, persistent chains, the
    trainer's position): a smaller file to share or bundle; training it again starts those afresh."""
    folder = resolve(path)
    state = {k: v for k, v in entry.module.state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"not saved: {entry.name!r} has NaN/Inf in {', '.join(bad)} (it diverged); "
                              "the checkpoint already on disk is kept")
    tensors: dict[str, torch.Tensor] = {}
    _split_tensors(state, "model", tensors)
    model_state = (_split_tensors(getattr(entry.module, "train_state", dict)(), "model_state", tensors)
                   if trainer_state else {})
    trainer = _split_tensors(entry.trainer, "trainer", tensors) if trainer_state else _plain(entry.trainer)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".weights-", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        save_file(tensors, tmp)
        with open(tmp, "rb") as f:
            f.flush()
            os.fsync(f.fileno())
        digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
        weights = folder / f"weights-{digest[:16]}.safetensors"
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, weights)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "engine_version": __version__,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "name": entry.name,
        "kind": entry.kind,
        "config": config_to_dict(entry.config),
        "data": entry.data,
        "history": entry.history,
        "trainer": trainer,
        "model_state": model_state,
        "weights": weights.name,
        "sha256": digest,
    }
    meta_tmp = folder / f".{META}.tmp"
    _fsync_write(meta_tmp, json.dumps(meta, indent=1, allow_nan=True).encode())
    os.replace(meta_tmp, folder / META)  # the commit point
    for old in folder.glob("weights-*.safetensors"):
        if old.name != weights.name:
            old.unlink(missing_ok=True)
    entry.path = str(folder)
    entry.dirty = False
    return folder


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    folder = resolve(path)
    meta_path = folder / META
    if not meta_path.is_file():
        raise CheckpointError(f"no checkpoint at {folder}: expected a folder with {META} "
                              "(as written by `boltzmann train --out` or Save in the studio)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{meta_path} is damaged and cannot be read ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path} is not a Boltzmann Studio checkpoint")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{folder} was written by a newer Boltzmann Studio "
                              f"(format {meta['format_version']}); update to open it")
    return meta


def load(path: str | os.PathLike, expected_kind: str | None = None, device: str = "cpu",
         name: str | None = None) -> ModelEntry:
    """Read a checkpoint into a new :class:`ModelEntry`; a damaged or mismatched one raises CheckpointError."""
    folder = resolve(path)
    meta = read_meta(folder)
    kind = meta.get("kind")
    if expected_kind is not None and kind != expected_kind:
        raise CheckpointError(f"{folder} holds a {kind!r} model, not a {expected_kind!r} model")
    try:
        fam = family(kind)
        config = config_from_dict(fam.config_cls, meta.get("config", {}))
    except (ValueError, ConfigError) as exc:
        raise CheckpointError(f"{folder}: {exc}") from None
    weights = folder / str(meta.get("weights", ""))
    if not weights.is_file():
        raise CheckpointError(f"{folder}: the weights file {weights.name} is missing")
    if hashlib.sha256(weights.read_bytes()).hexdigest() != meta.get("sha256"):
        raise CheckpointError(f"{weights} is damaged (its checksum does not match model.json)")
    try:
        tensors = load_file(weights, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights} cannot be read: {exc}") from None
    module = fam.build(config)
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(model))
    if missing:
        raise CheckpointError(f"{folder}: the weights lack {', '.join(missing)}")
    for k, v in expected.items():
        if tuple(model[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{folder}: {k} has shape {tuple(model[k].shape)} but the config asks for "
                                  f"{tuple(v.shape)}; the checkpoint is inconsistent")
    module.load_state_dict({k: model[k] for k in expected})
    module.to(device)
    tensors_dev = {k: v.to(device) if k.startswith("model_state.") else v for k, v in tensors.items()}
    if hasattr(module, "load_train_state"):
        module.load_train_state(_join_tensors(meta.get("model_state", {}), tensors_dev))
    return ModelEntry(
        name=name or meta.get("name") or folder.name,
        kind=kind,
        config=config,
        module=module,
        history=list(meta.get("history", [])),
        trainer=_join_tensors(meta.get("trainer", {}), tensors),
        data=dict(meta.get("data", {})),
        path=str(folder),
    )
