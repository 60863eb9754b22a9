"""Evaluate a saved policy on the task's true reward."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from prefrl.config import ConfigError, TrainConfig
from prefrl_envs import make_task


def evaluate_run(run_dir: Path, n_episodes: int = 10, seed: int = 10_000,
                 deterministic: bool = True) -> np.ndarray:
    """True returns of the policy saved in a run folder (ConfigError if it is not one)."""
    run_dir = Path(run_dir)
    checkpoint = run_dir / "checkpoint"
    if not (run_dir / "config.json").is_file() or not (checkpoint / "policy.zip").is_file():
        raise ConfigError(f"{run_dir} has no config.json and checkpoint/policy.zip; "
                          f"pass a run folder written by `prefrl train`")
    config = TrainConfig.from_json_file(run_dir / "config.json")
    return evaluate_checkpoint(checkpoint, config.env, n_episodes, seed, deterministic)


def evaluate_checkpoint(checkpoint: Path, env_id: str, n_episodes: int = 10, seed: int = 10_000,
                        deterministic: bool = True) -> np.ndarray:
    """True returns of `n_episodes` episodes of the policy in `checkpoint/` (policy.zip and
    vecnormalize.pkl), with observation statistics frozen. Seeds differ from training's."""
    checkpoint = Path(checkpoint)
    venv = make_vec_env(lambda: make_task(env_id), n_envs=1, seed=seed)
    env = VecNormalize.load(str(checkpoint / "vecnormalize.pkl"), venv)
    env.training = False
    env.norm_reward = False
    agent = PPO.load(checkpoint / "policy.zip", device="cpu")
    returns: list[float] = []
    obs = env.reset()
    total = 0.0
    while len(returns) < n_episodes:
        action, _ = agent.predict(obs, deterministic=deterministic)
        obs, _, dones, infos = env.step(action)
        total += float(env.get_original_reward()[0])
        if dones[0]:
            returns.append(total)
            total = 0.0
    env.close()
    return np.array(returns)
