"""Side-by-side MuJoCo benchmark: SB3 PPO on the true reward versus prefrl from synthetic labels.

Same env, seeds, PPO hyperparameters and env steps for both arms; each arm's final policy is
evaluated on the true reward. Prints and writes (results.md, results.json) a table of final true
return, wall time and env steps per second, with the ratios prefrl / true-reward.

    python scripts/bench_mujoco.py --envs HalfCheetah-v5 --seeds 0 1 2 --timesteps 1000000 --labels 700

Runs `--jobs` arm-runs at once, one process each (one torch thread each): on 2 cores use 2, so both
arms of a seed share the machine's load alike.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np


def run_arm(job: dict) -> dict:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from prefrl.config import TrainConfig
    from prefrl.rl.baseline import train_true_reward
    from prefrl.rl.evaluation import evaluate_checkpoint
    from prefrl.rl.training import train

    out = Path(job["out"]) / f"{job['env']}__{job['arm']}__{job['seed']}"
    started = time.time()
    if job["arm"] == "true_reward":
        train_true_reward(job["env"], job["timesteps"], job["seed"], out)
        checkpoint = out / "checkpoint"
    else:
        config = TrainConfig(env=job["env"], labels=job["labels"], timesteps=job["timesteps"],
                             seed=job["seed"], name="bench", runs_dir=str(out), progress=False)
        checkpoint = train(config) / "checkpoint"
    wall = time.time() - started
    returns = evaluate_checkpoint(checkpoint, job["env"], n_episodes=job["eval_episodes"])
    return job | {"wall_s": wall, "steps_per_s": job["timesteps"] / wall,
                  "return_mean": float(returns.mean()), "return_std": float(returns.std())}


def summarise(results: list[dict]) -> str:
    lines = ["| env | arm | seeds | final true return (mean ± sd over seeds) | wall s | env steps/s |",
             "|---|---|---|---|---|---|"]
    ratios = []
    for env in sorted({r["env"] for r in results}):
        by_arm = {}
        for arm in ("true_reward", "prefrl"):
            rows = [r for r in results if r["env"] == env and r["arm"] == arm]
            if not rows:
                continue
            ret = np.array([r["return_mean"] for r in rows])
            sps = np.array([r["steps_per_s"] for r in rows])
            wall = np.array([r["wall_s"] for r in rows])
            by_arm[arm] = (ret.mean(), sps.mean())
            lines.append(f"| {env} | {arm} | {len(rows)} | {ret.mean():.0f} ± {ret.std():.0f} | "
                         f"{wall.mean():.0f} | {sps.mean():.0f} |")
        if len(by_arm) == 2:
            (rt, st), (rp, sp) = by_arm["true_reward"], by_arm["prefrl"]
            ratios.append(f"| {env} | {rp / rt:.2f}x | {sp / st:.2f}x |")
    if ratios:
        lines += ["", "| env | return prefrl / true-reward | steps/s prefrl / true-reward |", "|---|---|---|", *ratios]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", nargs="+", default=["HalfCheetah-v5"], help="env ids to benchmark")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds, shared by both arms")
    p.add_argument("--timesteps", type=int, default=1_000_000, help="env steps per arm-run")
    p.add_argument("--labels", type=int, default=700, help="prefrl's label budget")
    p.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes per final policy")
    p.add_argument("--arms", nargs="+", default=["true_reward", "prefrl"], choices=["true_reward", "prefrl"],
                   help="which arms to run")
    p.add_argument("--jobs", type=int, default=2, help="arm-runs at once (one process each)")
    p.add_argument("--out", type=Path, default=Path("runs/bench_mujoco"), help="output folder")
    args = p.parse_args()
    if args.timesteps <= 0 or args.labels <= 0 or args.jobs <= 0 or args.eval_episodes <= 0:
        print("bench_mujoco: error: --timesteps, --labels, --jobs and --eval-episodes must be positive",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [dict(env=e, seed=s, arm=a, timesteps=args.timesteps, labels=args.labels,
                 eval_episodes=args.eval_episodes, out=str(args.out))
            for s in args.seeds for e in args.envs for a in args.arms]  # seed-major: partial runs cover every env
    results = []
    with mp.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
        for r in pool.imap_unordered(run_arm, jobs):
            results.append(r)
            (args.out / "results.json").write_text(json.dumps(results, indent=2))  # survive an early stop
            print(f"{r['env']} {r['arm']} seed {r['seed']}: return {r['return_mean']:.0f} "
                  f"({r['steps_per_s']:.0f} steps/s, {r['wall_s']:.0f} s)", flush=True)
    table = summarise(results)
    command = "python scripts/bench_mujoco.py " + " ".join(sys.argv[1:])
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    (args.out / "results.md").write_text(f"`{command}`\n\n{table}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
