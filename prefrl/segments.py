"""Trajectory segments: fixed-length pieces of the agent's own rollouts, in a bounded buffer.

A segment holds, per step, the observation the action was taken from, the action, the true reward
(read only by synthetic teachers and diagnostics, never by the agent) and an opaque render state
(for MuJoCo the physics state `qpos ++ qvel` after the step) so that it can be drawn later.

Stacked pixel observations (Atari: 84x84 frames, 4 stacked, uint8) are stored once per frame: a
segment of L steps keeps its L+3 distinct frames and `obs` is a zero-copy strided view that shows
them as (L, 84, 84, 4), a quarter of the memory of the stacks themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def stacked_view(frames: np.ndarray, stack: int) -> np.ndarray:
    """(..., L+stack-1, H, W) distinct frames -> (..., L, H, W, stack) stacked observations, a view.

    >>> f = np.arange(5)[:, None, None] * np.ones((5, 2, 2), np.uint8)
    >>> stacked_view(f, 4)[1, 0, 0]
    array([1, 2, 3, 4], dtype=uint8)
    """
    *lead, n, h, w = frames.shape
    s = frames.strides
    return np.lib.stride_tricks.as_strided(frames, (*lead, n - stack + 1, h, w, stack),
                                           (*s[:-2], s[-2], s[-1], s[-3]), writeable=frames.flags.writeable)


def pack_stacked(obs: np.ndarray) -> np.ndarray:
    """(L, H, W, stack) stacked observations -> their (L+stack-1, H, W) distinct frames (a copy)."""
    return np.concatenate([np.moveaxis(obs[0], -1, 0), np.moveaxis(obs[1:, ..., -1:], -1, 1)[:, 0]])


def is_stacked_view(obs: np.ndarray) -> bool:
    """Whether `obs` is a `stacked_view` (whose frames are consecutive by construction)."""
    return obs.ndim == 4 and obs.shape[-1] > 1 and obs.strides[0] == obs.strides[-1]


def is_frame_stack(obs: np.ndarray) -> bool:
    """Whether a segment's (L, H, W, k) uint8 obs are consecutive frame stacks (frame t+1's stack
    is frame t's shifted by one), so they can be stored as their distinct frames."""
    return obs.ndim == 4 and obs.dtype == np.uint8 and obs.shape[-1] > 1 and (
        is_stacked_view(obs) or np.array_equal(obs[1:, ..., :-1], obs[:-1, ..., 1:]))


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
        state_dtype: np.dtype | type = np.float64,
        frame_stack: int = 0,
    ) -> None:
        """`frame_stack` k > 0: observations are (H, W, k) stacks of consecutive frames (uint8),
        kept as their distinct frames (see the module docstring)."""
        if capacity < 2:
            raise ValueError(f"segment buffer capacity must be at least 2, got {capacity}")
        if length < 1:
            raise ValueError(f"segment length must be at least 1 step, got {length}")
        self.capacity = capacity
        self.length = length
        self.frame_stack = frame_stack
        if frame_stack:
            if tuple(obs_shape[-1:]) != (frame_stack,) or len(obs_shape) != 3:
                raise ValueError(f"frame_stack={frame_stack} needs (H, W, {frame_stack}) observations, got {obs_shape}")
            self._frames = np.zeros((capacity, length + frame_stack - 1, *obs_shape[:2]), dtype=obs_dtype)
            self.obs = stacked_view(self._frames, frame_stack)
        else:
            self._frames = self.obs = np.zeros((capacity, length, *obs_shape), dtype=obs_dtype)
        self.acts = np.zeros((capacity, length, act_dim), dtype=np.float32)
        self.true_rewards = np.zeros((capacity, length), dtype=np.float32)
        self.render_states = np.zeros((capacity, length, state_dim), dtype=state_dtype)
        self.next_id = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self._frames, self.acts, self.true_rewards, self.render_states))

    def __len__(self) -> int:
        return min(self.next_id, self.capacity)

    def add(self, obs, acts, true_rewards, render_states) -> int:
        sid = self.next_id
        slot = sid % self.capacity
        if self.frame_stack:
            self._frames[slot] = pack_stacked(np.asarray(obs))
        else:
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
        obs = (stacked_view(self._frames[slot].copy(), self.frame_stack) if self.frame_stack
               else self.obs[slot].copy())
        return Segment(
            id=int(sid),
            obs=obs,
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
        self._states = np.zeros((n_envs, L, buffer.render_states.shape[2]), dtype=buffer.render_states.dtype)
        self._pos = np.zeros(n_envs, dtype=np.int64)
        self._env_index = np.arange(n_envs)

    def drop_partial(self) -> None:
        """Forget half-filled segments, e.g. after an env reset the collector did not see."""
        self._pos[:] = 0

    def observe(self, obs, acts, true_rewards, dones, render_states) -> int:
        """Record one vectorised step (arrays with a leading env axis). Returns the number of
        segments completed by it."""
        return self.observe_block(np.asarray(obs)[None], np.asarray(acts)[None], np.asarray(true_rewards)[None],
                                  np.asarray(dones)[None], None if render_states is None else np.asarray(render_states)[None])

    def observe_block(self, obs, acts, true_rewards, dones, render_states) -> int:
        """Record T consecutive vectorised steps at once (arrays (T, n_envs, ...)), exactly as T calls
        of `observe` would: the same segments, added to the buffer in the same order (by the step
        that completes them, then by env). Returns the number of segments completed."""
        T, n, L = len(dones), self.n_envs, self.buffer.length
        acts = np.asarray(acts, dtype=np.float32).reshape(T, n, -1)
        done_at = [np.flatnonzero(dones[:, e]) for e in range(n)]
        completed: list[tuple[int, int, tuple]] = []  # (completing step, env, segment arrays)
        for e in range(n):
            t, pos, ends = 0, int(self._pos[e]), done_at[e]
            while t < T:
                k = min(L - pos, T - t)  # steps that fit before the segment is full
                after = ends[np.searchsorted(ends, t):]
                cut = after.size and after[0] < t + k  # an episode ends inside: keep up to its last step
                if cut:
                    k = int(after[0]) - t + 1
                self._obs[e, pos:pos + k] = obs[t:t + k, e]
                self._acts[e, pos:pos + k] = acts[t:t + k, e]
                self._rews[e, pos:pos + k] = true_rewards[t:t + k, e]
                if render_states is not None:
                    self._states[e, pos:pos + k] = render_states[t:t + k, e]
                pos += k
                t += k
                if pos == L:
                    completed.append((t - 1, e, (self._obs[e].copy(), self._acts[e].copy(), self._rews[e].copy(),
                                                 self._states[e].copy())))
                if pos == L or cut:
                    pos = 0  # a partial segment at an episode end is dropped
            self._pos[e] = pos
        completed.sort(key=lambda c: (c[0], c[1]))
        for _, _, arrays in completed:
            self.buffer.add(*arrays)
        return len(completed)
