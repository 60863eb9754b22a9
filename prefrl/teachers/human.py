"""The human teacher: queries wait in the run's store until someone answers them in the viewer.

Training never waits: `PreferenceLearner.ask` files pending queries (at most `max_pending` at a
time, so nobody is buried) and goes on with the current reward model; answers committed by the
viewer are picked up at the next reward-model update.
"""

from __future__ import annotations

from typing import Sequence

from prefrl.preferences import Answer, PreferenceStore
from prefrl.segments import Segment


class HumanTeacher:
    asynchronous = True

    def __init__(self, max_pending: int = 20, name: str = "human") -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self.max_pending = max_pending
        self.name = name

    def answer(self, pairs: Sequence[tuple[Segment, Segment]]) -> list[Answer]:
        raise TypeError("a human teacher answers through the store (pending queries), not synchronously")

    def before_collect(self, store: PreferenceStore) -> None:
        """Called before answers are collected; a person needs nothing done here."""
