"""Train a fresh agent on a finished run's reward model, frozen: did the learned reward suffice?

The agent starts from scratch with the run's task, PPO row and seed, and is paid the reward model
of the run's last checkpoint (members' normalised rewards averaged, scaled as `prefrl train` scales
them); no labels are asked and the model is never retrained. Its true return is logged as the
true-reward arm of `scripts/bench_mujoco.py` logs its own, so the two curves can be laid side by
side: where the frozen model teaches as fast as the true reward while the run itself learned
slowly, what held the run back was the reward model as it grew (its early versions, or its
changes), not the reward it ended with.

    python scripts/retrain_on_reward.py runs/bench_mujoco/prefrl/Walker2d-v0__prefrl-700__11/prefrl-* \\
        --compare runs/bench_mujoco/prefrl/Walker2d-v0__true_reward__11 --out runs/retrain_w2d_11

Writes OUT/curve.csv, OUT/checkpoint/, OUT/result.json (final true return, deterministic and
sampled actions) and OUT/retrain_curve.png (this agent's curve, the run's own and any --compare, as `prefrl plot` draws them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

MARKS = (100_000, 200_000, 300_000, 400_000, 600_000, 800_000, 1_000_000)
"""Env steps at which the printed table reads each curve (those past --timesteps are left out)."""


def at_marks(curve: np.ndarray, marks: list[int], window: int = 25_000) -> list[float]:
    """Mean of the curve's points within `window` steps of each mark (nan where none)."""
    out = []
    for mark in marks:
        near = curve[np.abs(curve[:, 0] - mark) < window, 1] if len(curve) else np.empty(0)
        out.append(float(near.mean()) if len(near) else float("nan"))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="run folder written by `prefrl train` (its last checkpoint's reward model)")
    p.add_argument("--timesteps", type=int, default=None, help="env steps of the fresh agent; default: the run's")
    p.add_argument("--seed", type=int, default=None, help="seed of the fresh agent's envs and networks; default: the run's")
    p.add_argument("--eval-episodes", type=int, default=10, help="episodes of the final evaluation (true return)")
    p.add_argument("--compare", nargs="*", type=Path, default=[],
                   help="other curves to lay beside this one: true-reward arms' folders (curve.csv), run folders "
                        "or bench_mujoco's prefrl arm folders")
    p.add_argument("--out", type=Path, default=None, help="output folder; default RUN_DIR/retrain_seedN")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from probe_reward import load_reward_model

    from prefrl.plotting import read_true_return

    try:
        for name in ("timesteps", "eval_episodes"):
            value = getattr(args, name)
            if value is not None and value <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
        config, kind, model = load_reward_model(args.run_dir)
        compare = [(str(path), read_true_return(path)) for path in args.compare]
    except ValueError as exc:
        print(f"retrain_on_reward: error: {exc}", file=sys.stderr)
        return 2
    from prefrl.rl.baseline import train_true_reward
    from prefrl.rl.evaluation import evaluate_checkpoint

    timesteps = args.timesteps or config.timesteps
    seed = config.seed if args.seed is None else args.seed
    out = args.out or args.run_dir / f"retrain_seed{seed}"
    print(f"{config.env}: a fresh agent, seed {seed}, {timesteps} steps, on the frozen reward model of {args.run_dir}")
    started = time.time()
    wall = train_true_reward(config.env, timesteps, seed, out, n_envs=config.n_envs, torch_threads=config.torch_threads,
                             algo=config.algo, reward_model=model, progress=not args.no_progress)
    checkpoint = out / "checkpoint"
    greedy = evaluate_checkpoint(checkpoint, config.env, n_episodes=args.eval_episodes, deterministic=True,
                                 algo=config.algo)
    sampled = evaluate_checkpoint(checkpoint, config.env, n_episodes=args.eval_episodes, deterministic=False,
                                  algo=config.algo)
    result = {"run_dir": str(args.run_dir), "env": config.env, "seed": seed, "timesteps": timesteps,
              "wall_s": wall, "steps_per_s": timesteps / wall, "return_mean": float(greedy.mean()),
              "return_std": float(greedy.std()), "return_sampled_mean": float(sampled.mean())}
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")

    curves = [("fresh agent, frozen reward", read_true_return(out)), ("the run itself", read_true_return(args.run_dir))]
    curves += compare
    marks = [m for m in MARKS if m <= timesteps] or [timesteps]
    print(f"\nfinal true return: {greedy.mean():.0f} ± {greedy.std():.0f} (deterministic), {sampled.mean():.0f} "
          f"(sampled), {args.eval_episodes} episodes; {time.time() - started:.0f} s\n")
    print("training-episode true return (sampled actions), mean within 25k steps of each mark:\n")
    print("| curve | " + " | ".join(f"{m // 1000}k" for m in marks) + " |")
    print("|---|" + "---:|" * len(marks))
    for name, pts in curves:
        print(f"| {name} | " + " | ".join(f"{v:.0f}" for v in at_marks(pts, marks)) + " |")

    from prefrl.plotting import plot_comparison

    figure = plot_comparison([out, args.run_dir, *args.compare], out / "retrain_curve.png", smooth=5)
    print(f"\nwrote {figure} (first line: the fresh agent) and {out / 'result.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
