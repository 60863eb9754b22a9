"""Building the agent (PPO, or A2C for Atari) and its vectorised envs, the same way for every arm."""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize

from prefrl.config import ConfigError
from prefrl.rl.hyperparams import PPOHyperparams
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv
from prefrl_envs import make_task

ALGOS = {"ppo": PPO, "a2c": A2C}


def resolve_device(device: str, pixels: bool) -> str:
    """The torch device for a run's agent and reward model. `auto`: the first CUDA GPU for pixel
    tasks (CNNs) where torch sees one, else the CPU (small MLPs, as on MuJoCo, run faster there)."""
    if device == "auto":
        return "cuda" if pixels and torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: torch sees no CUDA GPU on this machine; use --device cpu or auto")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA GPU(s), "
                              f"numbered from 0; pick one of them")
    return device


class SignRewardVecEnv(VecEnvWrapper):
    """The sign of the env's reward (-1, 0, +1): the standard training signal on Atari scores."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        return obs, np.sign(rewards).astype(np.float32), dones, infos


def make_ppo(env_id: str, hp: PPOHyperparams, seed: int, learned_reward: bool = False,
             device: str = "cpu") -> tuple[BaseAlgorithm, VecNormalize, LearnedRewardVecEnv | None]:
    """The agent over `hp.n_envs` envs of `env_id` under VecNormalize. With `learned_reward`, a
    `LearnedRewardVecEnv` on the raw envs (returned third) hides the env's reward and records each
    rollout, whose rewards are filled in at its end (`PreferenceCallback`); VecNormalize then leaves
    rewards alone (their scaling is done at the rollout's end, `RewardScaler`). Step the agent's own
    `agent.env` (pixels arrive channel-first there). The policy lives on torch device `device`."""
    raw = make_vec_env(lambda: make_task(env_id), n_envs=hp.n_envs, seed=seed)
    reward_env = LearnedRewardVecEnv(raw, rollout_steps=hp.n_steps) if learned_reward else None
    inner = reward_env or (SignRewardVecEnv(raw) if hp.clip_reward else raw)
    env = VecNormalize(inner, norm_obs=hp.normalize_obs, norm_reward=hp.normalize_reward and not learned_reward,
                       gamma=hp.gamma)
    agent = ALGOS[hp.algo](hp.policy, env, seed=seed, device=device, verbose=0, **hp.ppo_kwargs())
    return agent, env, reward_env
