"""Building the agent (PPO, or A2C for Atari) and its vectorised envs, the same way for every arm."""

from __future__ import annotations

import numpy as np
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize

from prefrl.rl.hyperparams import PPOHyperparams
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv, RewardFn
from prefrl_envs import make_task

ALGOS = {"ppo": PPO, "a2c": A2C}


class SignRewardVecEnv(VecEnvWrapper):
    """The sign of the env's reward (-1, 0, +1): the standard training signal on Atari scores."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        return obs, np.sign(rewards).astype(np.float32), dones, infos


def make_ppo(env_id: str, hp: PPOHyperparams, seed: int, reward_fn: RewardFn | None = None,
             label_later: bool = False) -> tuple[BaseAlgorithm, VecNormalize, LearnedRewardVecEnv | None]:
    """The agent over `hp.n_envs` envs of `env_id` under VecNormalize. With `reward_fn`, the agent
    sees that reward (through a `LearnedRewardVecEnv` on the raw envs, returned third) instead of
    the env's own; with `label_later`, that wrapper hides the env's reward and the rollout's rewards
    are filled in at its end (`PreferenceCallback(label_rollouts=...)`). Step the agent's own
    `agent.env` (pixels arrive channel-first there)."""
    raw = make_vec_env(lambda: make_task(env_id), n_envs=hp.n_envs, seed=seed)
    reward_env = LearnedRewardVecEnv(raw, reward_fn) if reward_fn is not None or label_later else None
    inner = reward_env or (SignRewardVecEnv(raw) if hp.clip_reward else raw)
    env = VecNormalize(inner, norm_obs=hp.normalize_obs, norm_reward=hp.normalize_reward, gamma=hp.gamma)
    agent = ALGOS[hp.algo](hp.policy, env, seed=seed, device="cpu", verbose=0, **hp.ppo_kwargs())
    return agent, env, reward_env
