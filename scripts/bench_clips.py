"""Clip render time per segment: segments from a random rollout drawn to WebM as the viewer does.

    python scripts/bench_clips.py --envs HalfCheetah-v5 Hopper-v5 --segments 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", nargs="+", default=["HalfCheetah-v5", "Hopper-v5"], help="env ids")
    p.add_argument("--segments", type=int, default=10, help="segments to draw per env")
    args = p.parse_args()
    if args.segments <= 0:
        print("bench_clips: error: --segments must be positive", file=sys.stderr)
        return 2
    os.environ.setdefault("MUJOCO_GL", "egl")
    import prefrl_envs
    from prefrl.render.clips import SegmentClipRenderer
    from prefrl.segments import Segment

    print("| env | steps per segment | frames per clip | clip fps | ms per segment (mean) |")
    print("|---|---:|---:|---:|---:|")
    for env_id in args.envs:
        length = prefrl_envs.task_info(env_id).default_segment_length
        env = prefrl_envs.make_task(env_id)
        env.reset(seed=0)
        segments = []
        for i in range(args.segments):
            states = [env.step(env.action_space.sample())[-1]["render_state"] for _ in range(length)]
            segments.append(Segment(i, np.zeros((length, 1)), np.zeros((length, 1)), np.zeros(length),
                                    np.array(states)))
        renderer = SegmentClipRenderer(env_id)
        renderer.render(segments[0], tempfile.mkdtemp())  # warm-up: GL context, encoder
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            for segment in segments:
                renderer.render(segment, folder)
            ms = (time.perf_counter() - started) / len(segments) * 1000
        frames = len(range(0, length, renderer.every))
        print(f"| {env_id} | {length} | {frames} | {renderer.fps:.0f} | {ms:.0f} |")
        renderer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
