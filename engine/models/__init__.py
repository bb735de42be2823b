"""Model families: each kind names its config dataclass and its module class.

A later family (rtrbm, rnnrbm, walkback, ...) registers itself here; the trainer, checkpoints, CLI and
studio find models only through this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.models.ladder import LadderConfig, RLadder
from engine.models.note_rnn import NoteRNN, NoteRNNConfig
from engine.models.professor import Professor, ProfessorConfig
from engine.models.rbm import RBM, RBMConfig
from engine.models.rnnnade import RNNNADE, RNNNADEConfig
from engine.models.rnnrbm import RNNRBM, RNNRBMConfig
from engine.models.rtrbm import RTRBM, RTRBMConfig
from engine.models.trbm import TRBM, TRBMConfig
from engine.models.walkback import Walkback, WalkbackConfig


@dataclass(frozen=True)
class Family:
    kind: str
    title: str
    config_cls: type
    module_cls: type

    def build(self, config: Any, generator: Any = None) -> Any:
        return self.module_cls(config, generator=generator)


FAMILIES: dict[str, Family] = {
    "rbm": Family("rbm", "Restricted Boltzmann Machine", RBMConfig, RBM),
    "rtrbm": Family("rtrbm", "Recurrent Temporal RBM", RTRBMConfig, RTRBM),
    "trbm": Family("trbm", "Temporal RBM", TRBMConfig, TRBM),
    "rnnrbm": Family("rnnrbm", "RNN-RBM (polyphonic music)", RNNRBMConfig, RNNRBM),
    "rnnnade": Family("rnnnade", "RNN-NADE (polyphonic music)", RNNNADEConfig, RNNNADE),
    "note_rnn": Family("note_rnn", "Per-note RNN (music baseline)", NoteRNNConfig, NoteRNN),
    "walkback": Family("walkback", "Variational Walkback (a learned transition operator)", WalkbackConfig,
                       Walkback),
    "professor": Family("professor", "Professor Forcing (GRU generator, teacher or professor mode)",
                        ProfessorConfig, Professor),
    "ladder": Family("ladder", "Recurrent Ladder (next-step prediction and iterative inference)", LadderConfig,
                     RLadder),
}


def family(kind: str) -> Family:
    try:
        return FAMILIES[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(FAMILIES)}") from None
