"""The reference arms: SB3 on the true reward, or on a trained reward model held frozen, with the
same hyperparameters as prefrl."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from tqdm import tqdm

from prefrl.rl.agent import make_ppo
from prefrl.rl.callback import label_rollout
from prefrl.rl.compute import configure_process
from prefrl.rl.hyperparams import ppo_hyperparams
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv, RewardScaler


class ReturnCurve(BaseCallback):
    """Writes `curve.csv` (env_steps, wall_seconds, true_return): the mean true return of the episodes
    (on Atari: game scores) finished since the last rollout. With `progress`, a progress bar shows the
    steps and the latest of these returns."""

    def __init__(self, path: Path, progress: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.returns: list[float] = []
        self.started = time.time()
        self.progress = progress
        self._bar: tqdm | None = None

    def _on_training_start(self) -> None:
        with self.path.open("w", newline="") as f:
            csv.writer(f).writerow(["env_steps", "wall_seconds", "true_return"])
        if self.progress:  # SB3 runs whole rollouts, so the last one may pass the steps asked for
            rollout = self.model.n_steps * self.training_env.num_envs
            total = -(-self.locals["total_timesteps"] // rollout) * rollout
            self._bar = tqdm(total=total, unit="step", dynamic_ncols=True)

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _on_step(self) -> bool:
        if self._bar is not None:
            self._bar.update(self.training_env.num_envs)
        for info in self.locals["infos"]:
            if "game_score" in info:
                self.returns.append(info["game_score"])
            elif "episode" in info:
                self.returns.append(info["episode"]["r"])
        return True

    def _on_rollout_end(self) -> None:
        if self.returns:
            with self.path.open("a", newline="") as f:
                csv.writer(f).writerow([self.num_timesteps, round(time.time() - self.started, 2),
                                        float(np.mean(self.returns))])
            if self._bar is not None:
                self._bar.set_postfix(true_return=f"{np.mean(self.returns):.0f}")
            self.returns.clear()


class FrozenRewardPayer(BaseCallback):
    """Pays each finished rollout `reward_model`'s rewards (scaled as prefrl scales them), the model
    never retrained: PPO on a learned reward that no longer moves."""

    def __init__(self, reward_model: torch.nn.Module, reward_env: LearnedRewardVecEnv,
                 scaler: RewardScaler | None) -> None:
        super().__init__()
        self.reward_model = reward_model.eval()
        self.reward_env = reward_env
        self.scaler = scaler

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        label_rollout(self.model, self.reward_model, self.reward_env.rollout, self.scaler, self.locals["values"],
                      self.locals["dones"])
        self.reward_env.rollout.clear()


def train_true_reward(env_id: str, timesteps: int, seed: int, out_dir: Path,
                      n_envs: int | None = None, torch_threads: int = 1, algo: str = "ppo",
                      device: str = "cpu", reward_model: torch.nn.Module | None = None,
                      progress: bool = False) -> float:
    """Train on the env's own reward, the policy on torch device `device`; save `out_dir/checkpoint/`
    and `out_dir/curve.csv` (the true return either way). With `reward_model`, the agent is paid that
    trained model's rewards instead, the model frozen (`FrozenRewardPayer`): does a learned reward,
    once it stops moving, teach a fresh agent as well as the true one? `progress` shows a progress
    bar. Returns wall seconds."""
    torch.manual_seed(seed)
    configure_process(torch_threads)
    hp = ppo_hyperparams(env_id, n_envs, algo)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    agent, env, reward_env = make_ppo(env_id, hp, seed, learned_reward=reward_model is not None, device=device)
    # The curve is this arm's log. Without a logger of its own, SB3 makes one that creates an
    # empty folder under the system temp dir (/tmp/SB3-<date>) on every run.
    agent.set_logger(Logger(folder=None, output_formats=[]))
    callbacks: list[BaseCallback] = [ReturnCurve(out_dir / "curve.csv", progress)]
    if reward_model is not None:
        scaler = RewardScaler(hp.n_envs, hp.gamma) if hp.normalize_reward else None
        callbacks.append(FrozenRewardPayer(reward_model.to(device), reward_env, scaler))
    agent.learn(timesteps, callback=callbacks)
    wall = time.time() - started
    checkpoint = out_dir / "checkpoint"
    checkpoint.mkdir(parents=True, exist_ok=True)
    agent.save(checkpoint / "policy.zip")
    env.save(str(checkpoint / "vecnormalize.pkl"))
    env.close()
    return wall
