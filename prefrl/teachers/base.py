"""The teacher protocol: segment pairs in, answers out."""

from __future__ import annotations

from typing import Protocol, Sequence

from prefrl.preferences import Answer
from prefrl.segments import Segment


class Teacher(Protocol):
    name: str
    """Stored with every answer, so labels from different teachers stay apart."""

    def answer(self, pairs: Sequence[tuple[Segment, Segment]]) -> list[Answer]:
        """One answer per (left, right) pair."""
