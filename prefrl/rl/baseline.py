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
from prefrl.rl.checkpoint import checkpoint_state, restore_agent, save_checkpoint
from prefrl.rl.compute import configure_process
from prefrl.rl.hyperparams import ppo_hyperparams
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv, RewardScaler


class ReturnCurve(BaseCallback):
    """Writes `curve.csv` (env_steps, wall_seconds, true_return): the mean true return of the episodes
    (on Atari: game scores) finished since the last rollout. With `progress`, a progress bar shows the
    steps and the latest of these returns. With `resumed_at`, a resumed run's curve goes on: its rows
    up to that step are kept (later ones, about to be redone, go). Its wall seconds count from
    `clock_start` (a time.time(); by default now)."""

    def __init__(self, path: Path, progress: bool = False, resumed_at: int | None = None,
                 clock_start: float | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.returns: list[float] = []
        self.started = time.time() if clock_start is None else clock_start
        self.progress = progress
        self.resumed_at = resumed_at
        self._bar: tqdm | None = None

    def _on_training_start(self) -> None:
        kept = []
        if self.resumed_at is not None and self.path.is_file():
            with self.path.open(newline="") as f:
                kept = [row for row in list(csv.reader(f))[1:] if row and float(row[0]) <= self.resumed_at]
        with self.path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["env_steps", "wall_seconds", "true_return"])
            out.writerows(kept)
        if self.progress:  # SB3 runs whole rollouts, so the last one may pass the steps asked for
            rollout = self.model.n_steps * self.training_env.num_envs
            total = -(-self.locals["total_timesteps"] // rollout) * rollout
            self._bar = tqdm(total=total, initial=self.num_timesteps, unit="step", dynamic_ncols=True)

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


class Checkpoints(BaseCallback):
    """Every `every` agent steps (at a rollout's end) `save()` writes the arm's checkpoint."""

    def __init__(self, every: int, save) -> None:
        super().__init__()
        self.every, self.save = every, save
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.num_timesteps - self._last >= self.every:
            self._last = self.num_timesteps
            self.save()


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
                      progress: bool = False, checkpoint_every: int = 0, resume: bool = False) -> float:
    """Train on the env's own reward, the policy on torch device `device`; save `out_dir/checkpoint/`
    and `out_dir/curve.csv` (the true return either way). With `reward_model`, the agent is paid that
    trained model's rewards instead, the model frozen (`FrozenRewardPayer`): does a learned reward,
    once it stops moving, teach a fresh agent as well as the true one? `progress` shows a progress
    bar. `checkpoint_every` > 0 writes the checkpoint every that many steps too; with `resume`, a
    run that left one in `out_dir` goes on from it (its curve and clock continue; the envs restart,
    so it is not the run an unbroken one would have been) and a finished one is left as it is.
    Returns the run's wall seconds, those before a resume included."""
    torch.manual_seed(seed)
    configure_process(torch_threads)
    hp = ppo_hyperparams(env_id, n_envs, algo)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = checkpoint_state(out_dir) if resume else None
    if state is not None and state["num_timesteps"] >= timesteps:
        return state["wall_seconds"]
    started = time.time()
    wall_before = state["wall_seconds"] if state else 0.0
    agent, env, reward_env = make_ppo(env_id, hp, seed, learned_reward=reward_model is not None, device=device)
    scaler = RewardScaler(hp.n_envs, hp.gamma) if reward_model is not None and hp.normalize_reward else None
    if state is not None:
        env = restore_agent(out_dir, agent, env.venv, state, device)
        if scaler is not None:
            scaler.load_state_dict(state["reward_scaler"])
    # The curve is this arm's log. Without a logger of its own, SB3 makes one that creates an
    # empty folder under the system temp dir (/tmp/SB3-<date>) on every run.
    agent.set_logger(Logger(folder=None, output_formats=[]))
    callbacks: list[BaseCallback] = [ReturnCurve(out_dir / "curve.csv", progress,
                                                 resumed_at=state["num_timesteps"] if state else None,
                                                 clock_start=started - wall_before)]
    if reward_model is not None:
        callbacks.append(FrozenRewardPayer(reward_model.to(device), reward_env, scaler))

    def save() -> None:
        save_checkpoint(out_dir, agent, env, {
            "num_timesteps": agent.num_timesteps, "wall_seconds": wall_before + time.time() - started,
            "reward_scaler": scaler.state_dict() if scaler is not None else None})

    if checkpoint_every > 0:
        callbacks.append(Checkpoints(checkpoint_every, save))
    agent.learn(timesteps - agent.num_timesteps, callback=callbacks, reset_num_timesteps=state is None)
    save()
    env.close()
    return wall_before + time.time() - started
