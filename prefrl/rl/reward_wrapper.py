"""The VecEnv wrapper that shows the agent the learned reward instead of the true one."""

from __future__ import annotations

from collections import deque
from typing import Callable, NamedTuple

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

RewardFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class StepRecord(NamedTuple):
    """One vectorised step as the reward model sees it: the action and the obs it was taken from."""

    obs: np.ndarray
    actions: np.ndarray
    true_rewards: np.ndarray
    dones: np.ndarray
    infos: list[dict]


class LearnedRewardVecEnv(VecEnvWrapper):
    """Replaces the reward with `reward_fn(obs, action)` (zeros when `reward_fn` is None: the
    rewards are filled in later); the true reward moves to `info["true_reward"]`. Keeps the last
    step (`last_step`) for segment collectors, and the true and predicted returns of finished
    episodes (`episode_returns`); a game that ends inside an endless stream (`info["game_over"]`)
    counts as an episode there.

    Place it directly on the raw envs (below any VecNormalize) so the reward model sees raw obs.
    """

    def __init__(self, venv: VecEnv, reward_fn: RewardFn | None, episode_window: int = 100) -> None:
        super().__init__(venv)
        self.reward_fn = reward_fn
        self.last_step: StepRecord | None = None
        self.episode_returns: deque[tuple[float, float]] = deque(maxlen=episode_window)
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None
        self._true_return = np.zeros(self.num_envs)
        self._pred_return = np.zeros(self.num_envs)

    def reset(self) -> np.ndarray:
        self._obs = self.venv.reset()
        self._true_return[:] = 0.0
        self._pred_return[:] = 0.0
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self):
        obs, true_rewards, dones, infos = self.venv.step_wait()
        if self.reward_fn is None:
            rewards = np.zeros(self.num_envs, dtype=np.float32)
        else:
            rewards = np.asarray(self.reward_fn(self._obs, self._actions), dtype=np.float32)
        self.last_step = StepRecord(self._obs, self._actions, true_rewards, dones, infos)
        self._true_return += true_rewards
        self._pred_return += rewards
        for i, info in enumerate(infos):
            info["true_reward"] = float(true_rewards[i])
        ends = dones | np.fromiter((info.get("game_over", False) for info in infos), bool, self.num_envs)
        for i in np.flatnonzero(ends):
            self.episode_returns.append((float(self._true_return[i]), float(self._pred_return[i])))
            self._true_return[i] = 0.0
            self._pred_return[i] = 0.0
        self._obs = obs
        return obs, rewards, dones, infos
