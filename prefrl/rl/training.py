"""The training orchestrator: check the plan, make the run folder, run the loop, save everything.

Reads top to bottom as the paper's loop: (1) the random initial policy's segments get the first
share of labels and the reward model its first fit; (2) PPO optimises the learned reward while a
callback collects segments, asks for labels on the schedule and retrains the ensemble. With
`--explore-steps` (PEBBLE), PPO first spends that many steps on the state entropy of what it visits,
and the first labels, asked at its end, compare segments of that exploration too.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from prefrl.config import ConfigError, TrainConfig
from prefrl.plotting import plot_learning_curve
from prefrl.preferences import PreferenceStore
from prefrl.query.schedule import LabelSchedule
from prefrl.query.selectors import make_selector
from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.cnn import CNNRewardEnsemble
from prefrl.reward.ensemble import MLPRewardEnsemble
from prefrl.reward.trainer import RewardTrainer, RewardTrainerConfig
from prefrl.rl.agent import make_ppo, resolve_device
from prefrl.rl.callback import PreferenceCallback
from prefrl.rl.checkpoint import checkpoint_state, has_checkpoint, restore_agent, save_checkpoint
from prefrl.rl.compute import configure_process
from prefrl.rl.defaults import (TypeDefaults, default_frame_stride, initial_label_fraction, reward_settings,
                                type_defaults)
from prefrl.rl.hyperparams import PPOHyperparams, ppo_hyperparams
from prefrl.rl.learner import PreferenceLearner
from prefrl.rl.reward_wrapper import RewardScaler
from prefrl.rl.run_logger import run_logger
from prefrl.run_dir import create_run_dir
from prefrl.segments import SegmentBuffer
from prefrl.teachers import make_teacher
from prefrl_envs import env_exists, known_env_ids, task_info


@dataclass(frozen=True)
class RunPlan:
    """Everything decided before any file is written."""

    config: TrainConfig
    kind: str
    defaults: TypeDefaults
    segment_length: int
    segment_buffer: int
    label_buffer: int | None
    pretrain_epochs: float
    ppo: PPOHyperparams
    schedule: LabelSchedule
    initial_segments: int
    initial_steps: int
    obs_shape: tuple[int, ...]
    obs_dtype: type
    act_dim: int
    state_dim: int
    state_dtype: type


def _segments_per_env(steps: int, segment_length: int, episode_steps: int | None) -> int:
    """Whole segments one env yields in `steps` steps when segments never cross an episode end."""
    if not episode_steps:
        return steps // segment_length
    return (steps // episode_steps) * (episode_steps // segment_length) + (steps % episode_steps) // segment_length


def _steps_for_segments(n_segments: int, segment_length: int, episode_steps: int | None) -> int:
    """Steps one env needs to yield `n_segments` (assuming full-length episodes)."""
    if not episode_steps:
        return n_segments * segment_length
    per_episode = episode_steps // segment_length
    episodes, rest = divmod(n_segments, per_episode)
    return episodes * episode_steps + rest * segment_length


def plan_run(config: TrainConfig) -> RunPlan:
    """Validate the whole configuration against the task; raise ConfigError on bad input."""
    config.validate()
    if not env_exists(config.env):
        close = difflib.get_close_matches(config.env, known_env_ids(), n=3)
        hint = ", ".join(close or ["HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Swimmer-v5"])
        raise ConfigError(f"unknown env id {config.env!r}; use a registered Gymnasium id such as {hint}")
    info = task_info(config.env)
    obs_space, act_space = info.observation_space, info.action_space
    if info.kind == "atari":
        act_dim = 1  # the action index; the CNN reward model sees frames only
    elif not isinstance(act_space, gym.spaces.Box) or not isinstance(obs_space, gym.spaces.Box):
        raise ConfigError(f"env {config.env!r} needs Box observations and actions for the MLP reward model")
    else:
        act_dim = int(np.prod(act_space.shape))
    if config.explore_steps and info.kind == "atari":
        raise ConfigError("--explore-steps is for the vector tasks (MuJoCo and other Box observations), "
                          "not pixels; leave it at 0 on the Atari games")
    if config.reward_dropout and info.kind == "atari":
        raise ConfigError("--reward-dropout is for the vector tasks' MLP reward model; the Atari CNN's is "
                          "--reward-conv-dropout: leave --reward-dropout at 0 on the Atari games")
    if config.reward_conv_dropout is not None and info.kind != "atari":
        raise ConfigError("--reward-conv-dropout is for the Atari games' CNN reward model; the vector tasks' "
                          "MLP has --reward-dropout")
    if config.algo != "ppo" and info.kind != "atari":
        raise ConfigError(f"--algo {config.algo} is for the Atari games (prefrl/Pong-v0, ...); use --algo ppo")
    defaults = type_defaults(info.kind)
    length = config.segment_length or info.default_segment_length
    episode = info.max_episode_steps
    if episode and length > episode:
        raise ConfigError(f"--segment-length {length} exceeds the env's {episode}-step episodes; lower it")
    ppo = ppo_hyperparams(config.env, config.n_envs, config.algo)
    schedule = LabelSchedule(config.labels, config.timesteps, initial_label_fraction(config, defaults),
                             config.schedule_horizon or defaults.schedule_horizon)
    available = ppo.n_envs * _segments_per_env(config.timesteps // ppo.n_envs, length, episode)
    if 2 * config.labels > available:
        raise ConfigError(
            f"--labels {config.labels} cannot be spent in --timesteps {config.timesteps}: the run yields "
            f"at most {available} segments of {length} steps and each label needs two; "
            f"lower --labels to {available // 2} or raise --timesteps")
    initial_segments = max(2, 2 * schedule.initial_labels)
    segment_buffer = config.segment_buffer or defaults.segment_buffer
    if initial_segments > segment_buffer:
        raise ConfigError(f"the {schedule.initial_labels} labels asked before RL need {initial_segments} segments "
                          f"but --segment-buffer holds {segment_buffer}; raise --segment-buffer or lower --labels")
    initial_episode = config.initial_episode_steps
    if initial_episode is not None:
        if initial_episode % length:
            raise ConfigError(f"--initial-episode-steps {initial_episode} is not a multiple of the {length}-step "
                              f"segments; use {max(1, round(initial_episode / length)) * length}")
        if episode and initial_episode > episode:
            raise ConfigError(f"--initial-episode-steps {initial_episode} exceeds the env's {episode}-step "
                              f"episodes; lower it or leave it out")
    initial_steps = ppo.n_envs * _steps_for_segments(math.ceil(initial_segments / ppo.n_envs), length,
                                                     initial_episode or episode)
    rollout = ppo.n_envs * ppo.n_steps
    if initial_steps + rollout > config.timesteps:
        raise ConfigError(
            f"--labels {config.labels} asks {schedule.initial_labels} labels up front, which need about "
            f"{initial_steps} steps of the random policy, leaving less than one PPO rollout ({rollout} steps) "
            f"of --timesteps {config.timesteps}; raise --timesteps or lower --labels")
    if config.explore_steps and initial_steps + config.explore_steps + rollout > config.timesteps:
        raise ConfigError(
            f"--explore-steps {config.explore_steps} leaves less than one PPO rollout ({rollout} steps) of "
            f"--timesteps {config.timesteps} for learning from labels; lower --explore-steps")
    return RunPlan(config, info.kind, defaults, length, segment_buffer,
                   config.label_buffer or defaults.label_buffer, config.pretrain_epochs or defaults.pretrain_epochs,
                   ppo, schedule, initial_segments, initial_steps, tuple(obs_space.shape), obs_space.dtype.type,
                   act_dim, info.state_dim, info.state_dtype)


def make_reward_model(plan: RunPlan, device: str = "cpu") -> torch.nn.Module:
    """The paper's reward ensemble for the task: a CNN over stacked frames for Atari, else an MLP
    over (observation, action) or the observation alone (`--reward-inputs`); on `device`."""
    n = plan.config.ensemble_size
    if plan.kind == "atari":
        return CNNRewardEnsemble(n, frame_shape=plan.obs_shape, precision=plan.config.reward_precision,
                                 dropout=conv_dropout(plan), device=device)
    return MLPRewardEnsemble(int(np.prod(plan.obs_shape)), plan.act_dim, n_members=n,
                             use_actions=reward_settings(plan.config).inputs == "obs_act",
                             dropout=plan.config.reward_dropout).to(device)


def conv_dropout(plan: RunPlan) -> float | None:
    """The Atari CNN's dropout: the flag, else the Atari default (None for the vector tasks)."""
    if plan.kind != "atari":
        return None
    given = plan.config.reward_conv_dropout
    return plan.defaults.reward_conv_dropout if given is None else given


def reward_trainer_config(plan: RunPlan) -> RewardTrainerConfig:
    """The reward trainer's settings for a run: its flags, else its environment type's defaults."""
    config, d = plan.config, plan.defaults
    max_steps = config.reward_max_steps or d.reward_max_steps
    recent = d.reward_recent_fraction if config.reward_recent_fraction is None else config.reward_recent_fraction
    reward = reward_settings(config)
    return RewardTrainerConfig(
        lr=config.reward_lr, epochs_per_round=config.reward_epochs, random_answer_prob=config.random_answer_prob,
        batch_size=config.reward_batch_size or d.reward_batch_size, max_steps=max_steps, min_steps=min(10, max_steps),
        eval_comparisons=d.eval_comparisons, recent_fraction=recent,
        pretrain_l2_every_epoch=reward.pretrain_l2 == "epoch", l2_max=reward.l2_max,
        frame_stride=config.reward_frame_stride or default_frame_stride(d, plan.segment_length))


def resolved_config(plan: RunPlan) -> TrainConfig:
    """The run's config with each environment-type default it takes written in: its config.json
    then says what the run used, and a resume keeps those values if prefrl's defaults change."""
    trainer = reward_trainer_config(plan)
    reward = reward_settings(plan.config)
    return dataclasses.replace(
        plan.config, segment_length=plan.segment_length, segment_buffer=plan.segment_buffer,
        label_buffer=plan.label_buffer, initial_label_fraction=plan.schedule.initial_fraction,
        schedule_horizon=plan.schedule.horizon, pretrain_epochs=plan.pretrain_epochs,
        reward_max_steps=trainer.max_steps, reward_batch_size=trainer.batch_size,
        reward_recent_fraction=trainer.recent_fraction,
        reward_frame_stride=trainer.frame_stride, reward_conv_dropout=conv_dropout(plan), n_envs=plan.ppo.n_envs,
        reward_inputs=reward.inputs, reward_l2_max=reward.l2_max, pretrain_l2=reward.pretrain_l2,
        reward_norm_data=reward.norm_data)


def train(config: TrainConfig) -> Path:
    """Run the whole preference loop in a new run folder; returns the folder."""
    plan = plan_run(config)
    plan = dataclasses.replace(plan, config=resolved_config(plan))
    return _run(plan, create_run_dir(plan.config), state=None)


def resume(run_dir: Path) -> Path:
    """Continue a killed or stopped run from its last checkpoint, keeping every stored label."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not has_checkpoint(run_dir):
        raise ConfigError(f"{run_dir} has no config.json and checkpoint/; pass a run folder "
                          f"written by `prefrl train` that reached its first checkpoint")
    config = TrainConfig.from_json_file(run_dir / "config.json")
    try:
        state = checkpoint_state(run_dir)
    except Exception as exc:  # a truncated or foreign state.pt: torch raises several kinds
        raise ConfigError(f"cannot read {run_dir}'s checkpoint/state.pt ({type(exc).__name__}); "
                          f"it was not written by `prefrl train`, or is damaged") from None
    if state["num_timesteps"] >= config.timesteps:
        raise ConfigError(f"{run_dir} already finished its {config.timesteps} timesteps; nothing to resume")
    try:
        (run_dir / ".write-test").touch()
        (run_dir / ".write-test").unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write to {run_dir} ({exc.strerror}); resume needs write access") from None
    return _run(plan_run(config), run_dir, state=state)


def _run(plan: RunPlan, run_dir: Path, state: dict | None) -> Path:
    """The loop, in a fresh run folder (`state` None) or continuing from a checkpoint's state."""
    config, hp = plan.config, plan.ppo
    resume = state is not None
    started = time.time()
    wall_before = state.get("wall_seconds", 0.0) if state else 0.0  # the run's seconds before this process
    torch.manual_seed(config.seed)
    configure_process(config.torch_threads)
    rng = np.random.default_rng(config.seed)

    device = resolve_device(config.device, pixels=plan.kind == "atari")
    model = make_reward_model(plan, device)
    agent, env, reward_env = make_ppo(config.env, hp, config.seed, learned_reward=True, device=device)
    scaler = RewardScaler(hp.n_envs, hp.gamma) if hp.normalize_reward else None
    if state is not None:
        model.load_state_dict(state["model"])
        env = restore_agent(run_dir, agent, reward_env, state, device)
        if scaler is not None:
            if state.get("reward_scaler") is not None:
                scaler.load_state_dict(state["reward_scaler"])
            else:  # a checkpoint from before rewards were scaled at the rollout's end
                scaler.load_state_dict({"mean": env.ret_rms.mean, "var": env.ret_rms.var, "count": env.ret_rms.count})
        env.norm_reward = False  # the scaler does it
        rng.bit_generator.state = state["rng"]
    agent.set_logger(run_logger(run_dir, keep_until_step=state["num_timesteps"] if state else None))

    store = PreferenceStore(run_dir / "preferences.sqlite")
    dataset = (PreferenceDataset.from_store(store, config.ensemble_size, rng, plan.label_buffer)
               if resume else PreferenceDataset(config.ensemble_size, rng, plan.label_buffer))
    d = plan.defaults
    trainer = RewardTrainer(model, dataset, reward_trainer_config(plan), seed=config.seed)
    if state is not None:
        trainer.load_state_dict(state["trainer"])
    buffer = SegmentBuffer(plan.segment_buffer, plan.segment_length, plan.obs_shape, plan.obs_dtype,
                           plan.act_dim, plan.state_dim, plan.state_dtype,
                           frame_stack=plan.obs_shape[-1] if plan.kind == "atari" else 0)
    recent = (None if config.query_window is None
              else max(-(-config.query_window // plan.segment_length), plan.initial_segments))
    selector = make_selector(config.query_selector, model, config.oversample, d.candidate_pool, recent,
                             config.query_event_share)
    learner = PreferenceLearner(model, buffer, hp.n_envs, selector, make_teacher(config), store, dataset, trainer, rng,
                                normalization_steps=d.normalization_steps,
                                normalization_momentum=config.reward_norm_momentum,
                                normalization_data=reward_settings(config).norm_data)
    learner.stats_fitted = resume
    if state is not None:
        learner.reference = state.get("norm_reference")

    online_start = state["online_start"] if state else 0
    callback: PreferenceCallback | None = None

    def checkpoint() -> None:
        save_checkpoint(run_dir, agent, env, {
            "model": model.state_dict(), "trainer": trainer.state_dict(), "rng": rng.bit_generator.state,
            "num_timesteps": agent.num_timesteps,
            "online_start": callback.online_start if callback is not None else online_start,
            "labels": learner.labels_asked, "norm_reference": learner.reference,
            "wall_seconds": wall_before + time.time() - started,
            "reward_scaler": scaler.state_dict() if scaler is not None else None})

    if not resume:
        # (1) The random initial policy: its segments get the first share of the label budget.
        obs = agent.env.reset()  # the agent's own view (pixels channel-first)
        dones = np.ones(hp.n_envs, dtype=bool)
        while len(buffer) < plan.initial_segments:
            if online_start >= config.timesteps - hp.n_envs * hp.n_steps:
                store.close()
                env.close()
                shutil.rmtree(run_dir)  # no label was asked yet: leave nothing half-written
                raise ConfigError(
                    f"episodes of {config.env} end before {plan.initial_segments} segments of "
                    f"{plan.segment_length} steps fill; lower --segment-length or --labels")
            actions, _ = agent.predict(obs, deterministic=False)
            obs, _, dones, _ = agent.env.step(actions)
            learner.observe(reward_env.rollout)
            reward_env.rollout.clear()
            online_start += hp.n_envs
            if config.initial_episode_steps and online_start % (hp.n_envs * config.initial_episode_steps) == 0:
                # The envs started together, so all reach the shortened episode's end at once; its
                # steps fill whole segments, so none is cut short.
                obs, dones = agent.env.reset(), np.ones(hp.n_envs, dtype=bool)
        # PPO continues these same episodes.
        agent.num_timesteps = online_start
        agent._last_obs = obs
        agent._last_episode_starts = dones

    # Whether the first labels were asked: a checkpoint from before then (mid-exploration) would
    # resume without them, so none is written.
    begun = resume

    def first_labels() -> None:
        nonlocal begun
        begun = True
        learner.ask(plan.schedule.initial_labels)
        learner.collect_answers()  # a person's answers arrive later, at the updates
        learner.update_reward_model(epochs=plan.pretrain_epochs)
        checkpoint()  # from here on the run can be resumed

    explore = 0 if resume else config.explore_steps
    viewer = start_viewer(run_dir, config.viewer_port) if config.viewer else None
    try:
        if not resume and not explore:
            first_labels()
        # (2) PPO on the learned reward (after `explore` steps paid the state entropy, which end
        # in the first labels).
        callback = PreferenceCallback(learner, reward_env, plan.schedule, config.update_every,
                                      online_start=online_start, started_at=started, wall_before=wall_before,
                                      on_checkpoint=checkpoint, checkpoint_every=config.checkpoint_every,
                                      progress=config.progress, resumed_at=agent.num_timesteps,
                                      scaler=scaler, rollout_steps=hp.n_envs * hp.n_steps,
                                      disagreement_weight=config.disagreement_weight,
                                      disagreement_until=round(config.disagreement_until * config.timesteps),
                                      explore_steps=explore, on_explored=first_labels)
        agent.learn(config.timesteps - agent.num_timesteps, callback=callback, reset_num_timesteps=False,
                    log_interval=callback.log_interval)
    finally:
        if begun:
            checkpoint()
        store.close()
        env.close()
        plot_learning_curve(run_dir)
        if viewer is not None:
            viewer.terminate()
    return run_dir


def start_viewer(run_dir: Path, port: int) -> subprocess.Popen:
    """`prefrl viewer RUN_DIR` beside the training process, on loopback."""
    return subprocess.Popen([sys.executable, "-m", "prefrl.cli", "viewer", str(run_dir), "--port", str(port)])

