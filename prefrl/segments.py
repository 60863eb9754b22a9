"""Trajectory segments: fixed-length pieces of the agent's own rollouts, in a bounded buffer.

A segment holds, per step, the observation the action was taken from, the action, the true reward
(read only by synthetic teachers and diagnostics, never by the agent) and an opaque render state
(for MuJoCo the physics state `qpos ++ qvel` after the step) so that it can be drawn later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    """One segment. Arrays are indexed by step: `obs[t]`, `acts[t]`, `true_rewards[t]`."""

    id: int
    obs: np.ndarray
    acts: np.ndarray
    true_rewards: np.ndarray
    render_states: np.ndarray

    @property
    def length(self) -> int:
        return int(self.true_rewards.shape[0])

    @property
    def true_return(self) -> float:
        return float(self.true_rewards.sum())


class SegmentBuffer:
    """Ring buffer of the most recent `capacity` segments, preallocated so memory never grows.

    Segment ids increase forever; id `i` lives in slot `i % capacity` until it is overwritten.

    >>> buf = SegmentBuffer(2, length=3, obs_shape=(1,), obs_dtype=np.float32, act_dim=1, state_dim=0)
    >>> sid = buf.add(np.zeros((3, 1)), np.zeros((3, 1)), np.ones(3), np.zeros((3, 0)))
    >>> buf.get(sid).true_return
    3.0
    """

    def __init__(
        self,
        capacity: int,
        length: int,
        obs_shape: tuple[int, ...],
        obs_dtype: np.dtype | type,
        act_dim: int,
        state_dim: int,
    ) -> None:
        if capacity < 2:
            raise ValueError(f"segment buffer capacity must be at least 2, got {capacity}")
        if length < 1:
            raise ValueError(f"segment length must be at least 1 step, got {length}")
        self.capacity = capacity
        self.length = length
        self.obs = np.zeros((capacity, length, *obs_shape), dtype=obs_dtype)
        self.acts = np.zeros((capacity, length, act_dim), dtype=np.float32)
        self.true_rewards = np.zeros((capacity, length), dtype=np.float32)
        self.render_states = np.zeros((capacity, length, state_dim), dtype=np.float64)
        self.next_id = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.obs, self.acts, self.true_rewards, self.render_states))

    def __len__(self) -> int:
        return min(self.next_id, self.capacity)

    def add(self, obs, acts, true_rewards, render_states) -> int:
        sid = self.next_id
        slot = sid % self.capacity
        self.obs[slot] = obs
        self.acts[slot] = acts
        self.true_rewards[slot] = true_rewards
        self.render_states[slot] = render_states
        self.next_id += 1
        return sid

    def live_ids(self) -> np.ndarray:
        return np.arange(max(0, self.next_id - self.capacity), self.next_id)

    def _slots(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        oldest = self.next_id - self.capacity
        if ids.size and (ids.min() < max(oldest, 0) or ids.max() >= self.next_id):
            raise KeyError("segment id no longer (or not yet) in the buffer")
        return ids % self.capacity

    def batch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(obs, acts, true_rewards) stacked for `ids`, each with a leading `len(ids)` axis."""
        slots = self._slots(ids)
        return self.obs[slots], self.acts[slots], self.true_rewards[slots]

    def get(self, sid: int) -> Segment:
        slot = int(self._slots(np.array([sid]))[0])
        return Segment(
            id=int(sid),
            obs=self.obs[slot].copy(),
            acts=self.acts[slot].copy(),
            true_rewards=self.true_rewards[slot].copy(),
            render_states=self.render_states[slot].copy(),
        )


class SegmentCollector:
    """Cuts the per-step transitions of a vectorised env into segments for a `SegmentBuffer`.

    Segments never cross an episode boundary: a partial segment at episode end is dropped, because
    a clip that jumps to a reset state would leak the episode end to the teacher.
    """

    def __init__(self, buffer: SegmentBuffer, n_envs: int) -> None:
        self.buffer = buffer
        self.n_envs = n_envs
        L = buffer.length
        self._obs = np.zeros((n_envs, L, *buffer.obs.shape[2:]), dtype=buffer.obs.dtype)
        self._acts = np.zeros((n_envs, L, buffer.acts.shape[2]), dtype=np.float32)
        self._rews = np.zeros((n_envs, L), dtype=np.float32)
        self._states = np.zeros((n_envs, L, buffer.render_states.shape[2]), dtype=np.float64)
        self._pos = np.zeros(n_envs, dtype=np.int64)
        self._env_index = np.arange(n_envs)

    def drop_partial(self) -> None:
        """Forget half-filled segments, e.g. after an env reset the collector did not see."""
        self._pos[:] = 0

    def observe(self, obs, acts, true_rewards, dones, render_states) -> int:
        """Record one vectorised step. Returns the number of segments completed by it."""
        idx, pos = self._env_index, self._pos
        self._obs[idx, pos] = obs
        self._acts[idx, pos] = np.asarray(acts, dtype=np.float32).reshape(self.n_envs, -1)
        self._rews[idx, pos] = true_rewards
        if render_states is not None:
            self._states[idx, pos] = render_states
        pos += 1
        full = pos == self.buffer.length
        completed = 0
        for e in np.flatnonzero(full):
            self.buffer.add(self._obs[e], self._acts[e], self._rews[e], self._states[e])
            completed += 1
        pos[full | np.asarray(dones, dtype=bool)] = 0
        return completed
