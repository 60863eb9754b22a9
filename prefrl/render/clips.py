"""Segments to clips: a stored segment's render states drawn frame by frame into a WebM file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from prefrl.render.video import WebmWriter, frame_stride
from prefrl.segments import Segment

MAX_CLIP_FPS = 30
"""Real-time clips of fast-stepping tasks (the backflip hopper: 125 steps/s) keep every k-th step
to stay at or under this rate, without rendering hundreds of frames. The paper's eight tasks play
each step as a frame at the paper's own clip rate instead (`TaskInfo.clip_fps`)."""


def clip_name(segment_id: int) -> str:
    return f"seg-{segment_id}.webm"


class SegmentClipRenderer:
    """Draws segments of one task. For MuJoCo the env is put into each saved physics state and
    rendered offscreen (EGL, no display needed). For Atari each step's saved emulator state is
    restored and its action replayed, giving the game's own frames (RGB, score masked as the reward
    model sees it) at 30 of the emulator's 60 frames per second, scaled up 2x."""

    def __init__(self, env_id: str, width: int = 320, height: int = 240) -> None:
        os.environ.setdefault("MUJOCO_GL", "egl")
        from prefrl_envs import fast_offscreen_rendering, is_mujoco, make_task, task_info

        info = task_info(env_id)
        self.atari = info.kind == "atari"
        if self.atari:
            from prefrl_envs.atari import EMULATOR_FPS

            self.env = make_task(env_id)
            self.env.reset(seed=0)
            self.every, self.fps = frame_stride(1 / EMULATOR_FPS, MAX_CLIP_FPS)
            return
        self.env = make_task(env_id, render_mode="rgb_array", width=width, height=height)
        self.env.reset(seed=0)
        if is_mujoco(self.env):
            fast_offscreen_rendering(self.env)
        if info.clip_fps:  # the paper's tasks: every step a frame, at the paper's clip rate (1.5 s)
            self.every, self.fps = 1, info.clip_fps
        else:
            self.every, self.fps = frame_stride(info.dt or 1 / 15, MAX_CLIP_FPS)

    def frames(self, segment: Segment):
        from prefrl_envs import set_physics_state

        if self.atari:
            for frame in self.env.unwrapped.replay_frames(segment.render_states, segment.acts, self.every):
                yield np.repeat(np.repeat(frame, 2, axis=0), 2, axis=1)
            return
        for state in segment.render_states[:: self.every]:
            set_physics_state(self.env, state)
            yield self.env.render()

    def render(self, segment: Segment, folder: Path) -> Path:
        """Write the segment's clip into `folder` (atomically: a reader never sees half a file)."""
        path = Path(folder) / clip_name(segment.id)
        tmp = path.with_suffix(".tmp.webm")
        with WebmWriter(tmp, self.fps) as writer:
            for frame in self.frames(segment):
                writer.write(np.asarray(frame))
        os.replace(tmp, path)
        return path

    def close(self) -> None:
        self.env.close()
