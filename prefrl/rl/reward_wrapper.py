"""The VecEnv wrapper that hides the env's reward from the agent and records each rollout, whose
rewards the learned model fills in at its end (`prefrl.rl.callback.label_rollout`)."""

from __future__ import annotations

from collections import deque

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper


class RolloutRecord:
    """The steps since the last `clear()`, as the reward model and the segment collector see them:
    per step, the observation each action was taken from, the action, the true reward, the env's
    done flags, episode ends (done, or a game over inside an endless stream) and, where the env
    reports one, each env's `info["render_state"]`. Arrays are (T, n_envs, ...), preallocated and
    reused; they grow only if a rollout outlasts them."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = max(1, capacity)
        self._arrays: dict[str, np.ndarray] = {}
        self._t = 0

    def __len__(self) -> int:
        return self._t

    def clear(self) -> None:
        self._t = 0

    def add(self, **step: np.ndarray | None) -> None:
        if not self._arrays or self._t == len(next(iter(self._arrays.values()))):
            self._grow(step)
        for name, value in step.items():
            if value is not None:
                self._arrays[name][self._t] = value
        self._t += 1

    def _grow(self, step: dict) -> None:
        rows = self._capacity if not self._arrays else 2 * self._t
        grown = {name: np.zeros((rows, *np.shape(v)), dtype=np.asarray(v).dtype)
                 for name, v in step.items() if v is not None}
        for name, old in self._arrays.items():
            grown[name][:self._t] = old[:self._t]
        self._arrays = grown

    def __getattr__(self, name: str) -> np.ndarray | None:
        """`obs`, `actions`, `true_rewards`, `dones`, `ends`, `render_states` of the recorded steps
        (None for render states the env does not report)."""
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._arrays:
            if name == "render_states":
                return None
            raise AttributeError(name)
        return self._arrays[name][:self._t]


class LearnedRewardVecEnv(VecEnvWrapper):
    """Hands the agent zero rewards (placeholders, replaced at the rollout's end) and records every
    step in `rollout` (a `RolloutRecord`). Keeps the true returns of finished episodes
    (`true_returns`); a game that ends inside an endless stream (`info["game_over"]`) counts as an
    episode there.

    Place it directly on the raw envs (below any VecNormalize) so the reward model sees raw obs.
    """

    def __init__(self, venv: VecEnv, rollout_steps: int = 256, episode_window: int = 100) -> None:
        super().__init__(venv)
        self.rollout = RolloutRecord(rollout_steps)
        self.true_returns: deque[float] = deque(maxlen=episode_window)
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None
        self._true_return = np.zeros(self.num_envs)
        self._zeros = np.zeros(self.num_envs, dtype=np.float32)

    def reset(self) -> np.ndarray:
        self._obs = self.venv.reset()
        self._true_return[:] = 0.0
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self):
        obs, true_rewards, dones, infos = self.venv.step_wait()
        ends = dones
        if "game_over" in infos[0]:
            ends = dones | np.fromiter((info["game_over"] for info in infos), bool, self.num_envs)
        states = np.stack([info["render_state"] for info in infos]) if "render_state" in infos[0] else None
        self.rollout.add(obs=self._obs, actions=self._actions, true_rewards=true_rewards, dones=dones, ends=ends,
                         render_states=states)
        self._true_return += true_rewards
        if ends.any():
            for i in np.flatnonzero(ends):
                self.true_returns.append(float(self._true_return[i]))
                self._true_return[i] = 0.0
        self._obs = obs
        return obs, self._zeros.copy(), dones, infos


class RewardScaler:
    """VecNormalize's reward scaling, applied to a whole rollout's learned rewards at its end: each
    step's reward is divided by the running std of the discounted return (per env, reset at episode
    ends) and clipped, the std at each step being that of every return up to and including it, so
    the agent gets what VecNormalize would have given it had the rewards arrived one at a time.
    The running statistics live in a `RunningMeanStd`, as in VecNormalize."""

    def __init__(self, n_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon
        self.ret_rms = RunningMeanStd(shape=())
        self.returns = np.zeros(n_envs)

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """(T, n_envs) raw rewards and done flags -> scaled rewards, float32."""
        returns = np.empty(rewards.shape)
        ret = self.returns
        for t in range(len(rewards)):
            ret = ret * self.gamma + rewards[t]
            returns[t] = ret
            ret = np.where(dones[t], 0.0, ret)
        self.returns = ret
        # VecNormalize updates its RunningMeanStd once a step with the n_envs returns; those updates
        # pool exactly, so the statistics after step t are those of everything seen up to it.
        rms, n = self.ret_rms, rewards.shape[1]
        count = rms.count + n * np.arange(1, len(rewards) + 1)
        total = rms.mean * rms.count + np.cumsum(returns.sum(1))
        mean = total / count
        centred = returns - rms.mean  # sums of squares about the old mean: no cancellation when it is large
        m2 = rms.var * rms.count + np.cumsum((centred ** 2).sum(1)) - count * (mean - rms.mean) ** 2
        var = np.maximum(m2 / count, 0.0)
        rms.mean, rms.var, rms.count = float(mean[-1]), float(var[-1]), float(count[-1])
        return np.clip(rewards / np.sqrt(var[:, None] + self.epsilon), -self.clip, self.clip).astype(np.float32)

    def reset(self) -> None:
        """Forget every return seen (a new kind of reward begins)."""
        self.ret_rms = RunningMeanStd(shape=())
        self.returns = np.zeros_like(self.returns)

    def state_dict(self) -> dict:
        return {"mean": self.ret_rms.mean, "var": self.ret_rms.var, "count": self.ret_rms.count}

    def load_state_dict(self, state: dict) -> None:
        self.ret_rms.mean, self.ret_rms.var, self.ret_rms.count = state["mean"], state["var"], state["count"]
