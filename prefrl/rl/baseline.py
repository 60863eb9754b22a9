"""The reference arm: SB3 PPO on the true reward, with the same hyperparameters as prefrl."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from prefrl.rl.agent import make_ppo
from prefrl.rl.hyperparams import ppo_hyperparams


def train_true_reward(env_id: str, timesteps: int, seed: int, out_dir: Path,
                      n_envs: int | None = None, torch_threads: int = 1) -> float:
    """Train PPO on the env's own reward; save `out_dir/checkpoint/`. Returns wall seconds."""
    torch.manual_seed(seed)
    torch.set_num_threads(torch_threads)
    hp = ppo_hyperparams(env_id, n_envs)
    started = time.time()
    agent, env, _ = make_ppo(env_id, hp, seed)
    agent.learn(timesteps)
    wall = time.time() - started
    checkpoint = Path(out_dir) / "checkpoint"
    checkpoint.mkdir(parents=True, exist_ok=True)
    agent.save(checkpoint / "policy.zip")
    env.save(str(checkpoint / "vecnormalize.pkl"))
    env.close()
    return wall
