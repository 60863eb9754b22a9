"""The SB3 callback that runs the preference side of the loop while PPO trains."""

from __future__ import annotations

import time
from collections import deque
from typing import Callable

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from prefrl.query.schedule import LabelSchedule
from prefrl.reward.ensemble import chunk_slices
from prefrl.rl.exploration import StateEntropyReward
from prefrl.rl.learner import PreferenceLearner
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv, RewardScaler, RolloutRecord


def label_rollout(agent, model: torch.nn.Module, rollout: RolloutRecord, scaler: RewardScaler | None,
                  last_values: torch.Tensor, dones: np.ndarray, disagreement: float = 0.0) -> np.ndarray:
    """Give the agent's just-finished rollout `model`'s rewards for the recorded steps (scored in
    chunks of ~16 MB of observations), scaled as VecNormalize would where `scaler` is given, and
    recompute its returns and advantages. The rewards are added to what SB3 stored: zero
    placeholders, plus the discounted value of the last state where a time limit cut an episode
    off. `disagreement` adds that multiple of the members' std (`agent_reward`). Returns the
    model's unscaled rewards, (T, n_envs)."""
    T, n = rollout.dones.shape
    flat = rollout.obs.reshape(T * n, *rollout.obs.shape[2:])
    acts = rollout.actions.reshape(T * n, -1)
    rewards = np.concatenate([model.predict_reward(flat[sl], acts[sl], disagreement=disagreement)
                              for sl in chunk_slices(len(flat), flat[0].nbytes)]).reshape(T, n)
    pay_rollout(agent, rewards, rollout, scaler, last_values, dones)
    return rewards


def pay_rollout(agent, rewards: np.ndarray, rollout: RolloutRecord, scaler: RewardScaler | None,
                last_values: torch.Tensor, dones: np.ndarray) -> None:
    """Add `rewards` (T, n_envs) for the recorded steps to the agent's rollout buffer, scaled as
    VecNormalize would where `scaler` is given, and recompute its returns and advantages."""
    buffer = agent.rollout_buffer
    if len(rewards) != buffer.buffer_size:
        raise RuntimeError(f"recorded {len(rewards)} steps for a rollout of {buffer.buffer_size}: "
                           f"the record was not cleared")
    buffer.rewards += scaler(rewards, rollout.dones) if scaler is not None else rewards
    buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)


def finished_episode_sums(rewards: np.ndarray, ends: np.ndarray, carry: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Sums of `rewards` (T, n_envs) over the episodes that end in them (`ends`), in the order they
    end (by step, then env), each counted from `carry` (n_envs,), the sums of the episodes
    running when these steps began. Returns those sums and the new carry."""
    running = carry + np.cumsum(rewards, axis=0, dtype=np.float64)
    started = np.zeros(rewards.shape[1])  # running total at each env's latest episode start
    sums = []
    for t, i in np.argwhere(ends):
        sums.append(float(running[t, i] - started[i]))
        started[i] = running[t, i]
    return sums, running[-1] - started


class PreferenceCallback(BaseCallback):
    """At the end of each rollout: its rewards are filled in and its steps cut into segments. Every
    `update_every` env steps (at the end of a rollout): labels are asked up to the schedule's
    target, the reward model retrained, and the run's metrics recorded to SB3's logger (CSV and
    TensorBoard)."""

    def __init__(
        self,
        learner: PreferenceLearner,
        reward_env: LearnedRewardVecEnv,
        schedule: LabelSchedule,
        update_every: int,
        online_start: int,
        started_at: float,
        wall_before: float = 0.0,
        on_checkpoint: Callable[[], None] | None = None,
        checkpoint_every: int = 0,
        progress: bool = True,
        resumed_at: int | None = None,
        scaler: RewardScaler | None = None,
        rollout_steps: int = 1024,
        disagreement_weight: float = 0.0,
        disagreement_until: int = 0,
        explore_steps: int = 0,
        on_explored: Callable[[], None] | None = None,
    ) -> None:
        """At each rollout's end its steps get the reward model's rewards in one batch (scaled by
        `scaler` where the agent's rewards are normalised) and go to the segment collector. With
        `disagreement_weight` other than 0 they include that multiple of the members' std, the
        multiple falling linearly to none at env step `disagreement_until`. With `explore_steps`,
        the first that-many steps from `online_start` pay the state entropy instead
        (`StateEntropyReward`) and ask nothing; then `on_explored` runs (the first labels and the
        reward model's first fit), the label schedule starts and the reward scaling starts afresh.
        `started_at` is this process's start (time.time()), `wall_before` the seconds the run spent
        before it: a resumed run's clock goes on."""
        super().__init__()
        self.learner = learner
        self.reward_env = reward_env
        self.schedule = schedule
        self.update_every = update_every
        self.online_start = online_start
        self.started_at = started_at
        self.wall_before = wall_before
        self.on_checkpoint = on_checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self._steps_at_start = resumed_at or 0  # the steps this process did not run itself
        self._last_update = resumed_at or online_start
        self._last_checkpoint = resumed_at or online_start
        self._bar: tqdm | None = None
        self.scaler = scaler
        self.disagreement_weight, self.disagreement_until = disagreement_weight, disagreement_until
        self.predicted_returns: deque[float] = deque(maxlen=100)
        """Predicted (learned-reward) returns of finished episodes, as the agent was paid them."""
        self._predicted = np.zeros(reward_env.num_envs)
        self.log_interval = max(1, 1024 // rollout_steps)
        """Rollouts per progress.csv row (pass to `learn`): a row about every 1,000 steps or more
        (A2C's rollouts are 80 steps); the last rollout always gets its row."""
        self._rollouts = 0
        self.explore_steps = explore_steps
        self.explorer = StateEntropyReward() if explore_steps > 0 else None
        self.on_explored = on_explored

    def _on_training_start(self) -> None:
        self._bar = tqdm(total=self.schedule.total_timesteps, initial=self.model.num_timesteps,
                         unit="step", unit_scale=True, dynamic_ncols=True, mininterval=1.0,
                         disable=not self.progress, desc="train")

    def _on_step(self) -> bool:
        if self._bar is not None:
            self._bar.update(self.training_env.num_envs)
        return True

    def _on_rollout_end(self) -> None:
        self._rollouts += 1
        rollout = self.reward_env.rollout
        if self.explorer is not None:
            self._explore(rollout)
            return
        rewards = label_rollout(self.model, self.learner.model, rollout, self.scaler, self.locals["values"],
                                self.locals["dones"], disagreement=self.disagreement_now())
        finished, self._predicted = finished_episode_sums(rewards, rollout.ends, self._predicted)
        self.predicted_returns.extend(finished)
        self.learner.observe(rollout)
        rollout.clear()
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

    def _explore(self, rollout: RolloutRecord) -> None:
        """A rollout of the exploration phase: paid its state entropy, cut into segments; at the
        phase's end, the hand-over to the preference loop."""
        rewards = self.explorer(rollout.obs)
        pay_rollout(self.model, rewards, rollout, self.scaler, self.locals["values"], self.locals["dones"])
        self.logger.record("explore/state_entropy", float(rewards.mean()))
        self.learner.observe(rollout)
        rollout.clear()
        step = self.model.num_timesteps
        if step - self.online_start >= self.explore_steps:
            self.explorer = None
            if self.scaler is not None:
                self.scaler.reset()
            self.online_start = self._last_update = self._last_checkpoint = step
            if self.on_explored is not None:
                self.on_explored()
        self.record_metrics()

    def disagreement_now(self) -> float:
        """The multiple of the members' std paid now: `disagreement_weight`, falling linearly to 0
        at `disagreement_until`."""
        if self.disagreement_weight == 0 or self.disagreement_until <= 0:
            return 0.0
        return self.disagreement_weight * max(0.0, 1.0 - self.model.num_timesteps / self.disagreement_until)

    def record_metrics(self) -> None:
        step = self.model.num_timesteps
        recent = 2 * self.training_env.num_envs
        true = np.array(list(self.reward_env.true_returns)[-recent:])
        pred = list(self.predicted_returns)[-recent:]
        self.logger.record("charts/env_steps", step)
        self.logger.record("charts/labels", self.learner.labels_asked)
        if self.disagreement_weight != 0:
            self.logger.record("reward/disagreement_weight", self.disagreement_now())
        if len(true):
            self.logger.record("charts/true_return", float(true.mean()))
            self.logger.record("charts/true_return_max", float(true.max()))
        if pred:
            self.logger.record("charts/pred_return", float(np.mean(pred)))
        self.logger.record("charts/wall_seconds", self.wall_before + time.time() - self.started_at)
        self.logger.record("charts/steps_per_second",
                           (step - self._steps_at_start) / max(time.time() - self.started_at, 1e-9))
        for key, value in self.learner.metrics.items():
            self.logger.record(key, value)
        if self._bar is not None and len(true):
            self._bar.set_postfix(labels=self.learner.labels_asked, true_return=f"{true.mean():.0f}",
                                  refresh=False)

    def _on_training_end(self) -> None:
        if self._rollouts % self.log_interval:  # SB3 left the last rollouts' row unwritten
            self.logger.dump(self.model.num_timesteps)
        if self._bar is not None:
            self._bar.close()
