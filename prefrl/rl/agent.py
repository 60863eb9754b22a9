"""Building the PPO agent and its vectorised envs, the same way for every arm."""

from __future__ import annotations

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from prefrl.rl.hyperparams import PPOHyperparams
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv, RewardFn
from prefrl_envs import make_task


def make_ppo(env_id: str, hp: PPOHyperparams, seed: int,
             reward_fn: RewardFn | None = None) -> tuple[PPO, VecNormalize, LearnedRewardVecEnv | None]:
    """PPO over `hp.n_envs` envs of `env_id` under VecNormalize. With `reward_fn`, the agent sees
    that reward (through a `LearnedRewardVecEnv` on the raw envs, returned third) instead of the
    env's own."""
    raw = make_vec_env(lambda: make_task(env_id), n_envs=hp.n_envs, seed=seed)
    reward_env = LearnedRewardVecEnv(raw, reward_fn) if reward_fn is not None else None
    env = VecNormalize(reward_env or raw, norm_obs=hp.normalize_obs, norm_reward=hp.normalize_reward,
                       gamma=hp.gamma)
    agent = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **hp.ppo_kwargs())
    return agent, env, reward_env
