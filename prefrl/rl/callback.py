"""The SB3 callback that runs the preference side of the loop while PPO trains."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from prefrl.query.schedule import LabelSchedule
from prefrl.reward.ensemble import chunk_slices
from prefrl.rl.learner import PreferenceLearner
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv


def label_rollout(agent, model: torch.nn.Module, last_values: torch.Tensor, dones: np.ndarray) -> None:
    """Fill the agent's just-finished rollout with `model`'s rewards, in chunks of ~16 MB of
    observations, and recompute its returns and advantages (SB3 computed them from the env's placeholder zeros)."""
    buffer = agent.rollout_buffer
    obs = buffer.observations  # (T, n_envs, ...) as the agent saw them
    if obs.ndim == 5:
        obs = np.moveaxis(obs, 2, -1)  # pixels: the agent's (C, H, W) back to the model's (H, W, C)
    flat = obs.reshape(-1, *obs.shape[2:])
    acts = buffer.actions.reshape(len(flat), -1)
    rewards = np.concatenate([model.predict_reward(flat[sl], acts[sl])
                              for sl in chunk_slices(len(flat), flat[0].nbytes)])
    buffer.rewards[:] = rewards.reshape(buffer.rewards.shape)
    buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)


class PreferenceCallback(BaseCallback):
    """Each env step: segments are collected. Every `update_every` env steps (at the end of a
    rollout): labels are asked up to the schedule's target, the reward model retrained, and the
    run's metrics recorded to SB3's logger (CSV and TensorBoard)."""

    def __init__(
        self,
        learner: PreferenceLearner,
        reward_env: LearnedRewardVecEnv,
        schedule: LabelSchedule,
        update_every: int,
        online_start: int,
        started_at: float,
        on_checkpoint: Callable[[], None] | None = None,
        checkpoint_every: int = 0,
        progress: bool = True,
        resumed_at: int | None = None,
        label_rollouts: torch.nn.Module | None = None,
        rollout_steps: int = 1024,
    ) -> None:
        """With `label_rollouts` (a reward model), the env hides rewards and each finished rollout
        gets this model's rewards in one batch, before its advantages are recomputed."""
        super().__init__()
        self.learner = learner
        self.reward_env = reward_env
        self.schedule = schedule
        self.update_every = update_every
        self.online_start = online_start
        self.started_at = started_at
        self.on_checkpoint = on_checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self._steps_at_start = resumed_at or 0  # the steps this process did not run itself
        self._last_update = resumed_at or online_start
        self._last_checkpoint = resumed_at or online_start
        self._bar: tqdm | None = None
        self.label_rollouts = label_rollouts
        self.log_interval = max(1, 1024 // rollout_steps)
        """Rollouts per progress.csv row (pass to `learn`): a row about every 1,000 steps or more
        (A2C's rollouts are 80 steps); the last rollout always gets its row."""
        self._rollouts = 0

    def _on_training_start(self) -> None:
        self._bar = tqdm(total=self.schedule.total_timesteps, initial=self.model.num_timesteps,
                         unit="step", unit_scale=True, dynamic_ncols=True, mininterval=1.0,
                         disable=not self.progress, desc="train")

    def _on_step(self) -> bool:
        self.learner.observe(self.reward_env.last_step)
        if self._bar is not None:
            self._bar.update(self.training_env.num_envs)
        return True

    def _on_rollout_end(self) -> None:
        self._rollouts += 1
        if self.label_rollouts is not None:
            label_rollout(self.model, self.label_rollouts, self.locals["values"], self.locals["dones"])
        step = self.model.num_timesteps
        if step - self._last_update >= self.update_every or step >= self.schedule.total_timesteps:
            self._last_update = step
            wanted = self.schedule.target(step, self.online_start)
            if len(self.learner.buffer) >= 2:  # after a resume the buffer starts empty
                self.learner.ask(min(wanted, self.schedule.total_labels) - self.learner.labels_asked)
            self.learner.collect_answers()  # human answers given since the last update
            self.learner.update_reward_model()
        self.record_metrics()
        if self.on_checkpoint and self.checkpoint_every and step - self._last_checkpoint >= self.checkpoint_every:
            self._last_checkpoint = step
            self.on_checkpoint()

    def record_metrics(self) -> None:
        step = self.model.num_timesteps
        episodes = list(self.reward_env.episode_returns)[-2 * self.training_env.num_envs:]
        self.logger.record("charts/env_steps", step)
        self.logger.record("charts/labels", self.learner.labels_asked)
        if episodes:
            true, pred = np.array(episodes).T
            self.logger.record("charts/true_return", float(true.mean()))
            self.logger.record("charts/true_return_max", float(true.max()))
            if self.label_rollouts is None:  # labelled later, the env saw no predicted rewards
                self.logger.record("charts/pred_return", float(pred.mean()))
        self.logger.record("charts/wall_seconds", time.time() - self.started_at)
        self.logger.record("charts/steps_per_second",
                           (step - self._steps_at_start) / max(time.time() - self.started_at, 1e-9))
        for key, value in self.learner.metrics.items():
            self.logger.record(key, value)
        if self._bar is not None and episodes:
            self._bar.set_postfix(labels=self.learner.labels_asked, true_return=f"{true.mean():.0f}",
                                  refresh=False)

    def _on_training_end(self) -> None:
        if self._rollouts % self.log_interval:  # SB3 left the last rollouts' row unwritten
            self.logger.dump(self.model.num_timesteps)
        if self._bar is not None:
            self._bar.close()
