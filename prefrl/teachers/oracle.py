"""The synthetic oracle: prefers the segment with the larger summed true reward."""

from __future__ import annotations

from typing import Sequence

from prefrl.preferences import Answer
from prefrl.segments import Segment


class SyntheticOracle:
    """Answers from true returns; equal sums (within `tolerance`) answer 'equal'.

    >>> import numpy as np
    >>> seg = lambda i, r: Segment(i, np.zeros((2, 1)), np.zeros((2, 1)), np.array(r), np.zeros((2, 0)))
    >>> SyntheticOracle().answer([(seg(0, [1.0, 1.0]), seg(1, [0.0, 1.0]))])
    [<Answer.LEFT: 'left'>]
    """

    def __init__(self, tolerance: float = 0.0, name: str = "oracle") -> None:
        if tolerance < 0:
            raise ValueError(f"tolerance must be non-negative, got {tolerance}")
        self.tolerance = tolerance
        self.name = name

    def answer(self, pairs: Sequence[tuple[Segment, Segment]]) -> list[Answer]:
        answers = []
        for left, right in pairs:
            diff = left.true_return - right.true_return
            if abs(diff) <= self.tolerance:
                answers.append(Answer.EQUAL)
            else:
                answers.append(Answer.LEFT if diff > 0 else Answer.RIGHT)
        return answers
