"""Labelled comparisons held in memory for reward training, with per-member bootstrap weights.

Bootstrap: each member sees every comparison a Poisson(1) number of times, drawn once when the
comparison arrives. That is the online form of resampling |D| items from D with replacement: it
stays stable as D grows, and the comparisons a member never sees (weight 0, a fraction 1/e) are
exactly the paper's 1/e held out for that member's validation.

The labelled segments' observations and actions live in one preallocated array each, a row per
segment (stacked pixel frames as their distinct frames), rows freed by the FIFO reused. Training
reads them through zero-copy tensors, so a full Atari label buffer is held once, not twice.
"""

from __future__ import annotations

import heapq
from typing import Sequence

import numpy as np
import torch

from prefrl.preferences import Answer, Comparison, PreferenceStore
from prefrl.segments import Segment, is_frame_stack, pack_stacked, stacked_view


class PreferenceDataset:
    """Comparisons with answers left/right/equal (incomparable ones are dropped on the way in).

    `max_size` keeps only the most recent comparisons (a FIFO, as the paper's Atari label buffer);
    None keeps all.
    """

    def __init__(self, n_members: int, rng: np.random.Generator, max_size: int | None = None) -> None:
        if max_size is not None and max_size < 1:
            raise ValueError(f"max_size must be positive or None, got {max_size}")
        self.n_members = n_members
        self.rng = rng
        self.max_size = max_size
        self._rows: dict[int, int] = {}
        """Segment id -> its row in `_obs` / `_acts`."""
        self._refs: dict[int, int] = {}
        """Segment id -> how many kept labels use it."""
        self._free: list[int] = []
        """Rows not in use (a heap: the lowest is reused first, so touched memory stays compact)."""
        self._obs: np.ndarray | None = None
        self._acts: np.ndarray | None = None
        self._stack = 0
        """k > 0: observations are stacks of k consecutive frames, stored as their distinct frames."""
        self._left: list[int] = []
        self._right: list[int] = []
        self._target: list[float] = []
        self._weights: list[np.ndarray] = []
        self._cache: dict[str, torch.Tensor] | None = None
        self.total_added = 0
        """Labels added over the set's life, the FIFO's dropped ones included (the kept ones are
        the newest `len(self)`, oldest first)."""

    def __len__(self) -> int:
        return len(self._target)

    @property
    def n_segments(self) -> int:
        """Distinct segments the kept comparisons refer to."""
        return len(self._rows)

    def add(self, pairs: Sequence[tuple[Segment, Segment]], answers: Sequence[Answer]) -> int:
        """Add labelled pairs; returns how many carried a label (not incomparable)."""
        added = 0
        for (left, right), answer in zip(pairs, answers):
            target = Answer(answer).target
            if target is None:
                continue
            for seg in (left, right):
                if seg.id not in self._rows:  # training needs no render states: only obs and actions
                    self._store(seg)
                self._refs[seg.id] = self._refs.get(seg.id, 0) + 1
            self._left.append(left.id)
            self._right.append(right.id)
            self._target.append(target)
            self._weights.append(self.rng.poisson(1.0, size=self.n_members).astype(np.float32))
            added += 1
            self.total_added += 1
            if self.max_size is not None and len(self) > self.max_size:
                self._drop_oldest()
        self._cache = None
        return added

    def _drop_oldest(self) -> None:
        """The FIFO: forget the oldest label, and free the rows of segments no label uses now."""
        sides = (self._left.pop(0), self._right.pop(0))
        del self._target[0], self._weights[0]
        for sid in sides:
            self._refs[sid] -= 1
            if not self._refs[sid]:
                del self._refs[sid]
                heapq.heappush(self._free, self._rows.pop(sid))

    def _store(self, seg: Segment) -> None:
        if self._obs is None:
            self._stack = seg.obs.shape[-1] if is_frame_stack(seg.obs) else 0
            obs = pack_stacked(seg.obs) if self._stack else seg.obs
            # Bounded: room for both sides of every kept label; rows are only touched when used.
            rows = 2 * self.max_size + 2 if self.max_size is not None else 256
            self._obs = np.empty((rows, *obs.shape), dtype=obs.dtype)
            self._acts = np.empty((rows, *seg.acts.shape), dtype=np.float32)
            self._free = list(range(rows))
        if not self._free:  # only an unbounded label set grows
            rows = len(self._obs)
            self._obs, self._acts = _grown(self._obs), _grown(self._acts)
            self._free = list(range(rows, 2 * rows))
        row = heapq.heappop(self._free)
        self._obs[row] = pack_stacked(seg.obs) if self._stack else seg.obs
        self._acts[row] = seg.acts
        self._rows[seg.id] = row

    @classmethod
    def from_store(
        cls, store: PreferenceStore, n_members: int, rng: np.random.Generator,
        max_size: int | None = None,
    ) -> "PreferenceDataset":
        """Reload every stored comparison (offline reuse, or resuming a run)."""
        labelled: list[Comparison] = [c for c in store.comparisons() if Answer(c.answer).target is not None]
        # the FIFO keeps these: load no other segments
        comparisons = labelled[-max_size:] if max_size is not None else labelled
        segments = store.segments({c.left_id for c in comparisons} | {c.right_id for c in comparisons})
        data = cls(n_members, rng, max_size)
        data.add([(segments[c.left_id], segments[c.right_id]) for c in comparisons],
                 [c.answer for c in comparisons])
        data.total_added = len(labelled)  # over the run's life, the labels the FIFO dropped included
        return data

    def replace_with(self, store: PreferenceStore) -> None:
        """Reload every label from the store (after an answer was withdrawn there)."""
        fresh = PreferenceDataset.from_store(store, self.n_members, self.rng, self.max_size)
        self.__dict__.update(fresh.__dict__)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Tensors for training: seg_obs (S, L, ...), seg_acts (S, L, A), left/right (N,) indices into
        them, target (N,), weights (M, N). seg_obs and seg_acts are views of the stored rows (some of
        which are free: no label points at those)."""
        if self._cache is None:
            used = max(self._rows.values()) + 1 if self._rows else 0
            obs = self._obs[:used] if self._obs is not None else np.empty((0,))
            self._cache = {
                "seg_obs": torch.as_tensor(stacked_view(obs, self._stack) if self._stack else obs),
                "seg_acts": torch.as_tensor(self._acts[:used] if self._acts is not None else np.empty((0,))),
                "left": torch.as_tensor([self._rows[i] for i in self._left], dtype=torch.long),
                "right": torch.as_tensor([self._rows[i] for i in self._right], dtype=torch.long),
                "target": torch.as_tensor(self._target, dtype=torch.float32),
                "weights": torch.as_tensor(np.stack(self._weights, axis=1) if self._weights
                                           else np.empty((self.n_members, 0), np.float32)),
            }
        return self._cache


def _grown(rows: np.ndarray) -> np.ndarray:
    """Twice the rows, the old ones copied (the new ones untouched, so not yet resident)."""
    grown = np.empty((2 * len(rows), *rows.shape[1:]), dtype=rows.dtype)
    grown[:len(rows)] = rows
    return grown
