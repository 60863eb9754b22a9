"""How much a synthetic label can say about staying up, for a given segment length.

A random policy falls within the first few dozen steps of a Hopper or Walker2d episode, so only
the first segment of each episode holds any standing steps. This plays random episodes of a paper
task and reports, for each segment length, how often the oracle (larger true return) prefers an
episode's first segment over a later one of the same episode: near 0.5, labels about random-policy
segments carry almost no signal that standing is better than lying.

    python scripts/segment_signal.py --task Hopper --lengths 188 60 45 30

Actions are Gaussian with std 0.37 (the agent's initial log-std of -1), clipped to the action box.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def play(task: str, episodes: int, seed: int) -> list[np.ndarray]:
    """True rewards of `episodes` random-policy episodes of the paper variant of `task`."""
    import prefrl_envs

    env = prefrl_envs.make_task(prefrl_envs.paper_id(task))
    rng = np.random.default_rng(seed)
    out = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        rewards, done = [], False
        while not done:
            action = rng.normal(0.0, 0.37, env.action_space.shape).clip(env.action_space.low, env.action_space.high)
            _, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            done = terminated or truncated
        out.append(np.array(rewards))
    env.close()
    return out


def first_segment_wins(rewards: list[np.ndarray], length: int) -> float:
    """Share of (first segment, later segment of the same episode) pairs the first one wins."""
    wins = []
    for r in rewards:
        n = len(r) // length
        returns = r[: n * length].reshape(n, length).sum(1)
        wins.extend(returns[0] > returns[1:])
    return float(np.mean(wins))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="Hopper", help="paper task: Hopper, Walker2d, ...")
    p.add_argument("--lengths", nargs="+", type=int, default=[188, 60, 45, 30], help="segment lengths (steps)")
    p.add_argument("--episodes", type=int, default=30, help="random-policy episodes to play")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode and of the actions")
    args = p.parse_args()
    import prefrl_envs

    if args.task not in prefrl_envs.PAPER_TASKS:
        print(f"segment_signal: error: unknown task {args.task!r}; choose one of "
              f"{', '.join(sorted(prefrl_envs.PAPER_TASKS))}", file=sys.stderr)
        return 2
    if args.episodes < 1 or min(args.lengths) < 1:
        print("segment_signal: error: --episodes and --lengths must be positive", file=sys.stderr)
        return 2
    rewards = play(args.task, args.episodes, args.seed)
    print(f"| {args.task}: segment length | first segment beats a later one |\n|---:|---:|")
    for length in args.lengths:
        if length * 2 > min(len(r) for r in rewards):
            print(f"| {length} | (episodes too short for two segments) |")
            continue
        print(f"| {length} | {first_segment_wins(rewards, length):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
