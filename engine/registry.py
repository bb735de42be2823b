"""The registry of named models held by the engine thread.

An entry keeps everything needed to resume training exactly where it stopped: the module, its config, the
training history (every metrics record, so a curve continues), the trainer's state (step, epoch, optimiser
buffers, random generator, data order) and a description of the data it was trained on.
Only the engine thread touches entries; other threads see :meth:`ModelEntry.info` snapshots.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from engine.config import config_to_dict


@dataclass
class ModelEntry:
    name: str
    kind: str
    config: Any
    module: torch.nn.Module
    history: list[dict] = field(default_factory=list)
    trainer: dict[str, Any] = field(default_factory=dict)  # step, epoch, optimizer/rng tensors, train config
    data: dict[str, Any] = field(default_factory=dict)  # description of the training data
    path: str | None = None  # where it was last saved or loaded
    dirty: bool = False  # changed since last save
    training: bool = False  # a training job is running on it (jobs that change its structure wait)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    @property
    def composes(self) -> bool:
        """A model of music: it draws piano-roll frames (``sample_frame``) and was not trained on other data."""
        from engine.data import MUSIC_DATASETS

        name = (self.data.get("spec") or {}).get("name")
        return hasattr(self.module, "sample_frame") and (name is None or name in MUSIC_DATASETS)

    def info(self) -> dict[str, Any]:
        """A plain-value summary for the studio's model list and `boltzmann info`."""
        best: dict[str, float] = {}
        for rec in self.history:
            for k, v in rec.get("values", {}).items():
                if isinstance(v, (int, float)) and k != "lr":
                    better = max if k.endswith(("ll", "likelihood")) else min
                    best[k] = better(best.get(k, v), v)
        return {
            "name": self.name,
            "kind": self.kind,
            "sequence": bool(getattr(self.module, "takes_sequences", False)),  # a model of sequences (videos)
            "music": self.composes,  # a model of music: the piano roll's generate job drives it
            "config": config_to_dict(self.config),
            "parameters": self.n_parameters,
            "step": int(self.trainer.get("step", 0)),
            "epoch": float(self.trainer.get("epoch", 0.0)),
            "data": dict(self.data),
            "best": best,
            "path": self.path,
            "dirty": self.dirty,
        }


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, ModelEntry] = {}
        #: called as on_change(name, info or None) after any change; the engine turns it into an event.
        self.on_change: Callable[[str, dict | None], None] | None = None

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> ModelEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"no model named {name!r}") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def unique_name(self, base: str) -> str:
        name, i = base, 2
        while name in self._entries:
            name, i = f"{base}-{i}", i + 1
        return name

    def add(self, entry: ModelEntry, replace: bool = False) -> ModelEntry:
        if entry.name in self._entries and not replace:
            raise ValueError(f"a model named {entry.name!r} already exists")
        self._entries[entry.name] = entry
        self.changed(entry.name)
        return entry

    def remove(self, name: str) -> None:
        del self._entries[self[name].name]
        self.changed(name)

    def rename(self, old: str, new: str) -> None:
        if new in self._entries:
            raise ValueError(f"a model named {new!r} already exists")
        entry = self._entries.pop(self[old].name)
        entry.name = new
        self._entries[new] = entry
        self.changed(old)
        self.changed(new)

    def changed(self, name: str) -> None:
        if self.on_change is not None:
            entry = self._entries.get(name)
            self.on_change(name, entry.info() if entry else None)
