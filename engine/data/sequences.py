"""Variable-length sequences in one array: :class:`Sequences`.

Music comes in pieces of different lengths (a JSB chorale has 50 frames, a Piano-midi.de piece thousands).
Padding them all to the longest would multiply the memory by ~10 and cutting them would lose the endings, so
a set of sequences is one concatenated (F, D) float32 array of all their frames plus ``offsets`` (N + 1,):
sequence ``i`` is ``frames[offsets[i]:offsets[i + 1]]``, a view, no copy.

How the trainer batches it, like the (N, T, D) arrays of the other sequence sets (examples on the first
axis): ``len(seqs)`` is N; ``seqs[index_array]`` is the batch as a smaller :class:`Sequences`, and
:meth:`Sequences.padded` turns it into a zero-padded (B, T_max, D) array with a (B, T_max) bool mask (or
``seqs.padded(index_array)`` in one step) for a model that runs over time with a mask, such as the RNN-RBM
(the trainer first cuts long pieces into :meth:`Sequences.chunks` of ``seq_chunk`` frames, as the RNN-RBM
tutorial does, so a batch wastes little on padding); :meth:`Sequences.windows` cuts fixed-length (M, T, D)
windows for models that want equal lengths (the RTRBM); :attr:`Sequences.frames` is every frame as (F, D),
for a model of single frames (an RBM).
``ndim`` is 3 and ``shape[-1]`` is D, so ``Dataset.is_sequence`` and ``Dataset.dim`` work unchanged;
``shape`` is the padded shape (N, T_max, D). ``np.asarray(seqs)`` is refused with a message rather than
silently making an object array.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

import numpy as np


class Sequences:
    """N sequences of D-dimensional frames, of lengths ``lengths``; see the module docstring."""

    def __init__(self, frames: np.ndarray, offsets: np.ndarray | Sequence[int]) -> None:
        frames = np.asarray(frames)
        offsets = np.asarray(offsets, np.int64)
        if frames.ndim != 2:
            raise ValueError(f"frames must be (F, D); got shape {frames.shape}")
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(frames) \
                or (np.diff(offsets) < 0).any():
            raise ValueError("offsets must rise from 0 to the number of frames")
        self.frames = frames
        self.offsets = offsets

    @classmethod
    def from_list(cls, seqs: Iterable[np.ndarray], dim: int | None = None, dtype: Any = np.float32) -> Sequences:
        """From a list of (T_i, D) arrays (``dim`` is needed only when the list is empty)."""
        seqs = [np.asarray(s) for s in seqs]
        if not seqs:
            return cls(np.zeros((0, dim or 0), dtype), [0])
        dims = {s.shape[-1] for s in seqs if s.ndim == 2}
        if len(dims) != 1 or any(s.ndim != 2 for s in seqs):
            raise ValueError("every sequence must be a (T, D) array with the same D")
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])])
        return cls(np.concatenate(seqs).astype(dtype, copy=False), offsets)

    # --- array-like -------------------------------------------------------------------------------------
    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def dim(self) -> int:
        return int(self.frames.shape[1])

    @property
    def n_frames(self) -> int:
        return int(len(self.frames))

    @property
    def ndim(self) -> int:
        return 3

    @property
    def dtype(self) -> np.dtype:
        return self.frames.dtype

    @property
    def shape(self) -> tuple[int, int, int]:
        """The padded shape (N, T_max, D)."""
        return (len(self), int(self.lengths.max()) if len(self) else 0, self.dim)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: Any) -> Any:
        """An int: that sequence, a (T_i, D) view. A slice, an index array or a bool mask: a Sequences."""
        if isinstance(index, (int, np.integer)):
            i = int(index)
            if i < 0:
                i += len(self)
            if not 0 <= i < len(self):
                raise IndexError(f"sequence {index} of {len(self)}")
            return self.frames[self.offsets[i]:self.offsets[i + 1]]
        if isinstance(index, slice) and index.step in (None, 1):
            a, b, _ = index.indices(len(self))
            b = max(a, b)
            return Sequences(self.frames[self.offsets[a]:self.offsets[b]], self.offsets[a:b + 1] - self.offsets[a])
        idx = np.arange(len(self))[index]
        if np.ndim(idx) != 1:
            raise IndexError(f"cannot index sequences with {index!r}")
        lengths = self.lengths[idx]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        rows = np.repeat(self.offsets[idx] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Sequences(self.frames[rows], offsets)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError("sequences of different lengths are not one array: use .padded(), .windows(T) or "
                        ".frames")

    def __repr__(self) -> str:
        lengths = self.lengths
        span = f"{lengths.min()}-{lengths.max()}" if len(self) else "-"
        return f"Sequences({len(self)} sequences of {span} frames, {self.n_frames} frames of {self.dim})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Sequences) and np.array_equal(self.offsets, other.offsets)
                and np.array_equal(self.frames, other.frames))

    __hash__ = None  # type: ignore[assignment]

    def astype(self, dtype: Any) -> Sequences:
        return Sequences(self.frames.astype(dtype), self.offsets)

    def to_list(self) -> list[np.ndarray]:
        return [self[i] for i in range(len(self))]

    # --- batching ---------------------------------------------------------------------------------------
    def padded(self, index: Any = None, length: int | None = None,
               value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(B, T, D) frames padded with ``value`` after each sequence's end and a (B, T) bool mask of the
        real frames, for the sequences ``index`` (default all). ``length``: T (default the longest); longer
        sequences are cut."""
        seqs = self if index is None else self[index]
        if isinstance(seqs, np.ndarray):  # a single int index
            seqs = Sequences(seqs, [0, len(seqs)])
        lengths = seqs.lengths
        T = int(lengths.max()) if length is None and len(seqs) else int(length or 0)
        out = np.full((len(seqs), T, seqs.dim), value, seqs.dtype)
        mask = np.arange(T)[None, :] < lengths[:, None]
        # the frames of every sequence, cut at T, in row order of the mask
        take = np.minimum(lengths, T)
        rows = np.repeat(seqs.offsets[:-1], take) + (np.arange(int(take.sum())) -
                                                    np.repeat(np.cumsum(take) - take, take))
        out[mask] = seqs.frames[rows]
        return out, mask

    def chunks(self, length: int) -> Sequences:
        """Every sequence cut into consecutive pieces of ``length`` frames, the last of each sequence
        shorter where it does not divide, as a Sequences over the same frames (no copy): nothing is lost,
        unlike :meth:`windows`. ``length`` 0: the sequences as they are."""
        if not length:
            return self
        if length < 0:
            raise ValueError(f"a chunk needs at least one frame, not {length}")
        starts = [o + np.arange(0, n, length) for o, n in zip(self.offsets[:-1], self.lengths)]
        return Sequences(self.frames, np.concatenate([*starts, [self.n_frames]]).astype(np.int64))

    def windows(self, length: int, stride: int | None = None) -> np.ndarray:
        """Every window of ``length`` frames, ``stride`` apart (default ``length``: no overlap), inside each
        sequence, as one (M, length, D) array (a copy). Sequences shorter than ``length`` give none."""
        if length < 1:
            raise ValueError(f"a window needs at least one frame, not {length}")
        stride = stride or length
        starts = [o + np.arange(0, n - length + 1, stride) for o, n in zip(self.offsets[:-1], self.lengths)
                  if n >= length]
        if not starts:
            return np.zeros((0, length, self.dim), self.dtype)
        s = np.concatenate(starts)
        return self.frames[s[:, None] + np.arange(length)[None, :]]
