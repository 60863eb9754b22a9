"""prefrl's environment types and task definitions (installed as the package `prefrl_envs`).

The paper's eight MuJoCo tasks are registered as `prefrl/<Task>-v0` (fixed-length episodes,
termination as a penalty, no control cost in the true reward); raw Gymnasium ids work too. The
paper's seven Atari games are `prefrl/<Game>-v0` (pixels, score masked, one continuous stream).
`make_task` builds one environment of a task by id and attaches what prefrl needs beside the
observation (for MuJoCo the physics state per step); `task_info` tells the segment length and
render-state size without keeping an env around.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from prefrl_envs.mujoco import PhysicsStateInfo, fast_offscreen_rendering, is_mujoco, set_physics_state
from prefrl_envs.atari import ATARI_GAMES, STATE_BYTES, AtariStream, atari_id, is_atari, register_atari_games
from prefrl_envs.backflip import BACKFLIP_ID, register_backflip
from prefrl_envs.paper_mujoco import (CLIP_FPS, CLIP_SECONDS, PAPER_TASKS, paper_id, paper_segment_length,
                                      paper_task_of, register_paper_tasks)

register_paper_tasks()
register_backflip()
register_atari_games()

ATARI_SEGMENT_LENGTH = 25
"""The paper's Atari clip: 25 agent steps (1.7 s at 15 steps per second)."""
FALLBACK_SEGMENT_LENGTH = 25
"""Steps per segment for envs that do not state their time step."""


@dataclass(frozen=True)
class TaskInfo:
    env_id: str
    kind: str
    """'mujoco', 'atari' or 'other': which family of defaults a run of this task takes."""
    dt: float | None
    default_segment_length: int
    """The paper's for its eight tasks (`paper_mujoco.CLIP_FPS`); otherwise 1.5 simulated seconds."""
    clip_fps: float | None
    """Frame rate of the paper's clips of this task, one step a frame (None: play in real time)."""
    state_dim: int
    state_dtype: type
    """dtype of a step's render state (MuJoCo: float64 physics state; Atari: serialized bytes)."""
    max_episode_steps: int | None
    observation_space: gym.Space
    action_space: gym.Space


def env_exists(env_id: str) -> bool:
    return env_id in gym.registry


def known_env_ids(prefix: str = "") -> list[str]:
    return sorted(k for k in gym.registry if k.startswith(prefix))


def make_task(env_id: str, render_mode: str | None = None, **kwargs) -> gym.Env:
    """A single env of `env_id`; MuJoCo envs report `info["render_state"]` every step."""
    env = gym.make(env_id, render_mode=render_mode, **kwargs)
    if is_mujoco(env):
        env = PhysicsStateInfo(env)
    return env


def task_info(env_id: str) -> TaskInfo:
    env = make_task(env_id)
    try:
        dt = getattr(env.unwrapped, "dt", None)
        task = paper_task_of(env_id)
        if task:
            clip_fps, length = CLIP_FPS[task], paper_segment_length(task)
        else:
            clip_fps, length = None, (max(1, round(CLIP_SECONDS / dt)) if dt else FALLBACK_SEGMENT_LENGTH)
        episode = env.spec.max_episode_steps if env.spec else None
        if episode:
            length = min(length, episode)  # never longer than an episode
        if is_atari(env):
            kind, length, state_dim, state_dtype = "atari", ATARI_SEGMENT_LENGTH, STATE_BYTES, np.uint8
        elif isinstance(env, PhysicsStateInfo):
            kind, state_dim, state_dtype = "mujoco", env.state_dim, np.float64
        else:
            kind, state_dim, state_dtype = "other", 0, np.float64
        return TaskInfo(env_id, kind, dt, length, clip_fps, state_dim, state_dtype, episode, env.observation_space,
                        env.action_space)
    finally:
        env.close()


__all__ = [
    "ATARI_GAMES",
    "AtariStream",
    "atari_id",
    "is_atari",
    "BACKFLIP_ID",
    "CLIP_FPS",
    "CLIP_SECONDS",
    "PAPER_TASKS",
    "PhysicsStateInfo",
    "TaskInfo",
    "env_exists",
    "fast_offscreen_rendering",
    "known_env_ids",
    "make_task",
    "paper_id",
    "set_physics_state",
    "task_info",
]
