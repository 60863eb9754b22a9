"""When to ask for labels: the paper's MuJoCo schedule.

A fraction of the budget (25%) is asked up front about segments from the random initial policy;
after that labels arrive at a rate proportional to h / (T + h) after T env steps (h = 2e6 for
MuJoCo, 5e6 for Atari), scaled so the whole budget is spent by the end of the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelSchedule:
    total_labels: int
    total_timesteps: int
    initial_fraction: float = 0.25
    horizon: float = 2e6

    def __post_init__(self) -> None:
        if self.total_labels < 1:
            raise ValueError(f"label budget must be positive, got {self.total_labels}")
        if self.total_timesteps < 1:
            raise ValueError(f"timesteps must be positive, got {self.total_timesteps}")
        if not 0.0 <= self.initial_fraction <= 1.0:
            raise ValueError(f"initial fraction must be in [0, 1], got {self.initial_fraction}")
        if self.horizon <= 0:
            raise ValueError(f"schedule horizon must be positive, got {self.horizon}")

    @property
    def initial_labels(self) -> int:
        return int(round(self.total_labels * self.initial_fraction))

    def target(self, step: int, start_step: int = 0) -> int:
        """Cumulative labels wanted by env step `step`, when the online phase began at `start_step`.

        Integral of the rate h/(T+h) from start_step, normalised to the online budget."""
        online = self.total_labels - self.initial_labels
        span = self.total_timesteps - start_step
        if online == 0 or span <= 0 or step >= self.total_timesteps:
            return self.total_labels if step >= start_step else self.initial_labels
        done = max(step - start_step, 0)
        fraction = math.log1p(done / (start_step + self.horizon)) / math.log1p(span / (start_step + self.horizon))
        return self.initial_labels + int(math.floor(online * fraction))
