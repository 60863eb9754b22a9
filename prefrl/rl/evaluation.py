"""Evaluate a saved policy on the task's true reward."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from prefrl.config import ConfigError, TrainConfig
from prefrl.render.video import WebmWriter, frame_stride
from prefrl.rl.agent import ALGOS
from prefrl_envs import fast_offscreen_rendering, is_atari, is_mujoco, make_task


def evaluate_run(run_dir: Path, n_episodes: int = 10, seed: int = 10_000,
                 deterministic: bool | None = None, video: Path | None = None,
                 video_seconds: float = 10.0, max_episode_steps: int | None = None) -> np.ndarray:
    """True returns of the policy saved in a run folder (ConfigError if it is not one)."""
    run_dir = Path(run_dir)
    checkpoint = run_dir / "checkpoint"
    if not (run_dir / "config.json").is_file() or not (checkpoint / "policy.zip").is_file():
        raise ConfigError(f"{run_dir} has no config.json and checkpoint/policy.zip; "
                          f"pass a run folder written by `prefrl train`")
    config = TrainConfig.from_json_file(run_dir / "config.json")
    return evaluate_checkpoint(checkpoint, config.env, n_episodes, seed, deterministic, video, video_seconds,
                               config.algo, max_episode_steps)


def load_frozen_policy(checkpoint: Path, venv, algo: str = "ppo"):
    """The policy in `checkpoint/` (policy.zip) and `venv` wrapped in its saved observation
    statistics (vecnormalize.pkl), frozen: nothing updates them, and rewards come through as the
    env's own. Returns (agent, env)."""
    env = VecNormalize.load(str(Path(checkpoint) / "vecnormalize.pkl"), venv)
    env.training = False
    env.norm_reward = False
    return ALGOS[algo].load(Path(checkpoint) / "policy.zip", device="cpu"), env


MAX_VIDEO_FPS = 60
"""Videos of fast-stepping tasks (Hopper: 125 steps/s) keep every k-th frame to stay under this."""


def evaluate_checkpoint(checkpoint: Path, env_id: str, n_episodes: int = 10, seed: int = 10_000,
                        deterministic: bool | None = None, video: Path | None = None,
                        video_seconds: float = 10.0, algo: str = "ppo",
                        max_episode_steps: int | None = None) -> np.ndarray:
    """True returns of `n_episodes` episodes of the policy in `checkpoint/` (policy.zip and
    vecnormalize.pkl), with observation statistics frozen. Seeds differ from training's.
    On Atari an episode is one game of the endless stream and its return the game score; actions
    are sampled there by default (`deterministic` None), greedy elsewhere.
    With `video`, the first `video_seconds` of the first episode are also written there as a WebM
    clip in real time. With `max_episode_steps`, an episode (an Atari game) still going after that
    many agent steps is cut off there and counts with what it scored so far."""
    checkpoint = Path(checkpoint)
    render_mode = "rgb_array" if video else None
    venv = make_vec_env(lambda: make_task(env_id, render_mode=render_mode), n_envs=1, seed=seed)
    writer, every, max_frames = None, 1, 0
    if video:
        if is_mujoco(venv.envs[0]):
            fast_offscreen_rendering(venv.envs[0])
        dt = getattr(venv.envs[0].unwrapped, "dt", None) or 1 / 30
        every, fps = frame_stride(dt, MAX_VIDEO_FPS)
        writer = WebmWriter(video, fps=fps)
        max_frames = max(1, int(video_seconds / (dt * every)))
    atari = is_atari(venv.envs[0])
    if deterministic is None:
        deterministic = not atari
    agent, env = load_frozen_policy(checkpoint, venv, algo)
    returns: list[float] = []
    obs = env.reset()
    total, steps, episode_steps = 0.0, 0, 0
    while len(returns) < n_episodes:
        action, _ = agent.predict(obs, deterministic=deterministic)
        obs, _, dones, infos = env.step(action)
        # an Atari game's score leaves out the env's game-over penalty
        total += infos[0]["game_reward"] if atari else float(env.get_original_reward()[0])
        episode_steps += 1
        if writer is not None and writer.frames < max_frames:
            if steps % every == 0:
                writer.write(env.get_images()[0])
            steps += 1
        ended = infos[0]["game_over"] if atari else bool(dones[0])
        if ended or (max_episode_steps is not None and episode_steps >= max_episode_steps):
            returns.append(total)
            total, episode_steps = 0.0, 0
            if not ended:
                obs = env.reset()
    if writer is not None:
        writer.close()
    env.close()
    return np.array(returns)
