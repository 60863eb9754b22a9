"""Labelled comparisons held in memory for reward training, with per-member bootstrap weights.

Bootstrap: each member sees every comparison a Poisson(1) number of times, drawn once when the
comparison arrives. That is the online form of resampling |D| items from D with replacement: it
stays stable as D grows, and the comparisons a member never sees (weight 0, a fraction 1/e) are
exactly the paper's 1/e held out for that member's validation.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch

from prefrl.preferences import Answer, Comparison, PreferenceStore
from prefrl.segments import Segment, is_stacked_view, pack_stacked, stacked_view


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
        self._segments: OrderedDict[int, Segment] = OrderedDict()
        self._left: list[int] = []
        self._right: list[int] = []
        self._target: list[float] = []
        self._weights: list[np.ndarray] = []
        self._cache: dict[str, torch.Tensor] | None = None

    def __len__(self) -> int:
        return len(self._target)

    def add(self, pairs: Sequence[tuple[Segment, Segment]], answers: Sequence[Answer]) -> int:
        """Add labelled pairs; returns how many carried a label (not incomparable)."""
        added = 0
        for (left, right), answer in zip(pairs, answers):
            target = Answer(answer).target
            if target is None:
                continue
            for seg in (left, right):
                if seg.id not in self._segments:  # training needs no render states: keep it lean
                    self._segments[seg.id] = dataclasses.replace(
                        seg, render_states=np.empty((seg.length, 0), np.float32))
            self._left.append(left.id)
            self._right.append(right.id)
            self._target.append(target)
            self._weights.append(self.rng.poisson(1.0, size=self.n_members).astype(np.float32))
            added += 1
        if self.max_size is not None and len(self) > self.max_size:
            drop = len(self) - self.max_size
            del self._left[:drop], self._right[:drop], self._target[:drop], self._weights[:drop]
            used = set(self._left) | set(self._right)
            for sid in [s for s in self._segments if s not in used]:
                del self._segments[sid]
        self._cache = None
        return added

    @classmethod
    def from_store(
        cls, store: PreferenceStore, n_members: int, rng: np.random.Generator,
        max_size: int | None = None,
    ) -> "PreferenceDataset":
        """Reload every stored comparison (offline reuse, or resuming a run)."""
        comparisons: list[Comparison] = [c for c in store.comparisons() if Answer(c.answer).target is not None]
        if max_size is not None:
            comparisons = comparisons[-max_size:]  # the FIFO keeps these: load no other segments
        segments = store.segments({c.left_id for c in comparisons} | {c.right_id for c in comparisons})
        data = cls(n_members, rng, max_size)
        data.add([(segments[c.left_id], segments[c.right_id]) for c in comparisons],
                 [c.answer for c in comparisons])
        return data

    def replace_with(self, store: PreferenceStore) -> None:
        """Reload every label from the store (after an answer was withdrawn there)."""
        fresh = PreferenceDataset.from_store(store, self.n_members, self.rng, self.max_size)
        self.__dict__.update(fresh.__dict__)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Stacked tensors: seg_obs (S, L, ...), seg_acts (S, L, A), left/right (N,) indices into
        them, target (N,), weights (M, N)."""
        if self._cache is None:
            row = {sid: i for i, sid in enumerate(self._segments)}
            segs = list(self._segments.values())
            self._cache = {
                "seg_obs": _stack_obs([s.obs for s in segs]),
                "seg_acts": torch.as_tensor(np.stack([s.acts for s in segs]).astype(np.float32)),
                "left": torch.as_tensor([row[i] for i in self._left], dtype=torch.long),
                "right": torch.as_tensor([row[i] for i in self._right], dtype=torch.long),
                "target": torch.as_tensor(self._target, dtype=torch.float32),
                "weights": torch.as_tensor(np.stack(self._weights, axis=1)),
            }
        return self._cache


def _stack_obs(obs: list[np.ndarray]) -> torch.Tensor:
    """(S, L, ...) observations. Stacked pixel frames are stacked as their distinct frames and
    shown through a strided view, so the label set costs a quarter of the memory."""
    if not is_stacked_view(obs[0]):
        return torch.as_tensor(np.stack(obs))
    return torch.as_tensor(stacked_view(np.stack([pack_stacked(o) for o in obs]), obs[0].shape[-1]))
