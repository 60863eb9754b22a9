"""The paper's novel-behaviour task: teach the Hopper a backflip from comparisons alone.

`prefrl/HopperBackflip-v0` is Hopper-v5 with episodes that stay alive through flips (no
unhealthy-state termination, 1000-step episodes). The agent never sees an env reward; the env's
reward here is the torso's backward rotation in the step (radians) while the torso is up in the
air (above MIN_FLIP_HEIGHT), which only the scripted stand-in teacher and the logs read: an episode
whose return reaches 2*pi has turned a full circle backwards off the ground. The height condition
keeps a body that topples and tumbles backwards along the floor from counting as flipping.
"""

from __future__ import annotations

import math

import gymnasium as gym

BACKFLIP_ID = "prefrl/HopperBackflip-v0"
ROOT_PITCH = 2
"""Index of the torso's pitch (the `rooty` hinge) in Hopper's qpos. Positive pitch leans the torso
forward (towards +x), so a backflip turns it by -2*pi."""
ROOT_HEIGHT = 1
"""Index of the torso's height (the `rootz` slide) in Hopper's qpos: ~1.25 standing, ~0.2 lying."""
MIN_FLIP_HEIGHT = 0.7
"""Rotation counts only above this torso height (Hopper-v5's own 'healthy' minimum)."""
FULL_TURN = 2 * math.pi


class BackwardRotationReward(gym.Wrapper):
    """Reward = backward rotation of the torso during the step while it is above MIN_FLIP_HEIGHT;
    `info["pitch"]` and `info["height"]` are the torso's pitch and height after the step."""

    def step(self, action):
        qpos = self.env.unwrapped.data.qpos
        before = float(qpos[ROOT_PITCH])
        obs, _, terminated, truncated, info = self.env.step(action)
        info["pitch"], info["height"] = float(qpos[ROOT_PITCH]), float(qpos[ROOT_HEIGHT])
        rotation = before - info["pitch"] if info["height"] > MIN_FLIP_HEIGHT else 0.0
        return obs, rotation, terminated, truncated, info


def make_backflip(**kwargs) -> gym.Env:
    base = gym.envs.registration.load_env_creator(gym.spec("Hopper-v5").entry_point)(
        terminate_when_unhealthy=False, **kwargs)
    return BackwardRotationReward(base)


def register_backflip() -> None:
    if BACKFLIP_ID not in gym.registry:
        gym.register(id=BACKFLIP_ID, entry_point=make_backflip, max_episode_steps=1000)
