"""MuJoCo environment type: the physics state travels with every step so segments can be rendered."""

from __future__ import annotations

import warnings

import gymnasium as gym
import mujoco
import numpy as np


def _forward_mujoco_warning(message: str) -> None:
    # Gymnasium's HalfCheetah XML uses an attribute that MuJoCo 4 deprecates; that notice is for
    # Gymnasium's maintainers, not our users. Every other MuJoCo warning goes through `warnings`.
    if "settotalmass" not in message:
        warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)


mujoco.set_mju_user_warning(_forward_mujoco_warning)


def is_mujoco(env: gym.Env) -> bool:
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    return isinstance(env.unwrapped, MujocoEnv)


class PhysicsStateInfo(gym.Wrapper):
    """Adds `info["render_state"]`: qpos ++ qvel after the step (what the frame at that step shows).

    >>> env = PhysicsStateInfo(gym.make("InvertedPendulum-v5"))
    >>> _ = env.reset(seed=0)
    >>> env.step(env.action_space.sample())[-1]["render_state"].shape
    (4,)
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        data = env.unwrapped.data
        self.state_dim = data.qpos.size + data.qvel.size

    def _state(self) -> np.ndarray:
        data = self.env.unwrapped.data
        return np.concatenate([data.qpos, data.qvel])

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["render_state"] = self._state()
        return obs, reward, terminated, truncated, info


def set_physics_state(env: gym.Env, state: np.ndarray) -> None:
    """Put a MuJoCo env into a saved `render_state` (for drawing a stored segment)."""
    base = env.unwrapped
    nq = base.data.qpos.size
    base.set_state(state[:nq], state[nq:])


def fast_offscreen_rendering(env: gym.Env) -> None:
    """Offscreen rendering for clips: a camera that follows the body, and software (EGL/llvmpipe)
    rendering about 10x faster: no multisampling, shadows,
    reflections or skybox (measured on HalfCheetah at 320x240: 165 ms a frame down to 15 ms).
    Call before the env's first render."""
    base = env.unwrapped
    base.model.vis.quality.offsamples = 0
    # the renderer's own call: no reset needed first (wrappers would insist on one)
    viewer = base.mujoco_renderer._get_viewer(base.render_mode)
    for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION,
                 mujoco.mjtRndFlag.mjRND_SKYBOX):
        viewer.scn.flags[flag] = 0
    # Gymnasium's camera configs name a body to track but leave the camera free, so offscreen it
    # stays put and a hopper leaves the frame; make it follow the body, as the paper's clips did.
    if viewer.cam.trackbodyid >= 0 and base.mujoco_renderer.camera_id == -1:
        viewer.cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        base.mujoco_renderer.camera_id = None  # -1 would reset the camera to free at every render
