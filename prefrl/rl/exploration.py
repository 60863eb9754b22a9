"""Unsupervised exploration before the first labels (PEBBLE, Lee et al. 2021): the agent is paid
the state entropy of what it visits, so the first labels compare varied behaviour rather than
only the random policy's, and the first reward model has seen more of what the agent may do next.

The entropy is the particle estimate of APT/PEBBLE: each observation's reward is log(1 + d), d
its distance to its k-th nearest neighbour among the last `memory` observations visited (each
coordinate divided by its std over them, so joint angles and velocities weigh alike).
"""

from __future__ import annotations

import numpy as np
import torch


class StateEntropyReward:
    def __init__(self, k: int = 5, memory: int = 10_000, chunk: int = 512) -> None:
        if k < 1 or memory <= k:
            raise ValueError(f"need 1 <= k < memory, got k={k}, memory={memory}")
        self.k, self.memory, self.chunk = k, memory, chunk
        self._recent: np.ndarray | None = None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Rewards of observations (T, n_envs, ...) -> (T, n_envs), float32. They join the memory
        first, so each is compared with the others of its own rollout too."""
        flat = np.asarray(obs, dtype=np.float32).reshape(-1, int(np.prod(obs.shape[2:], dtype=int)))
        recent = flat if self._recent is None else np.concatenate([self._recent, flat])
        self._recent = recent[-self.memory:]
        reference = torch.from_numpy(self._recent)
        scale = reference.std(0).clamp_min(1e-6)
        reference = reference / scale
        k = min(self.k + 1, len(reference))  # +1: an observation's nearest is itself, at 0
        distances = torch.cat([torch.cdist(torch.from_numpy(flat[i:i + self.chunk]) / scale, reference)
                               .kthvalue(k, dim=1).values for i in range(0, len(flat), self.chunk)])
        return torch.log1p(distances).numpy().reshape(obs.shape[:2])
