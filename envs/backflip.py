"""The paper's novel-behaviour task: teach the Hopper a backflip from comparisons alone.

`prefrl/HopperBackflip-v0` is Hopper-v5 with episodes that stay alive through flips (no
unhealthy-state termination, 1000-step episodes). The agent never sees an env reward; the env's
reward here is the torso's backward rotation in the step (radians), which only the scripted
stand-in teacher and the logs read: an episode whose return reaches 2*pi has made a full backflip.
"""

from __future__ import annotations

import math

import gymnasium as gym

BACKFLIP_ID = "prefrl/HopperBackflip-v0"
ROOT_PITCH = 2
"""Index of the torso's pitch (the `rooty` hinge) in Hopper's qpos. Positive pitch leans the torso
forward (towards +x), so a backflip turns it by -2*pi."""
FULL_TURN = 2 * math.pi


class BackwardRotationReward(gym.Wrapper):
    """Reward = backward rotation of the torso during the step; `info["pitch"]` is the torso pitch."""

    def step(self, action):
        before = float(self.env.unwrapped.data.qpos[ROOT_PITCH])
        obs, _, terminated, truncated, info = self.env.step(action)
        after = float(self.env.unwrapped.data.qpos[ROOT_PITCH])
        info["pitch"] = after
        return obs, before - after, terminated, truncated, info


def make_backflip(**kwargs) -> gym.Env:
    base = gym.envs.registration.load_env_creator(gym.spec("Hopper-v5").entry_point)(
        terminate_when_unhealthy=False, **kwargs)
    return BackwardRotationReward(base)


def register_backflip() -> None:
    if BACKFLIP_ID not in gym.registry:
        gym.register(id=BACKFLIP_ID, entry_point=make_backflip, max_episode_steps=1000)
