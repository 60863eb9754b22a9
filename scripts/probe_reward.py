"""Score policies' behaviour with a run's reward model: did the model or the agent fail?

Plays the run's own final policy, a random policy and any other saved policies (say the
true-reward arm's of `scripts/bench_mujoco.py`, or another run's) on the run's task, and reports
for each the true reward and the run's learned reward (members' normalised rewards averaged, as
the agent was paid before scaling), per step. Where the learned reward pays another policy's
behaviour more than the agent's own, and the true reward agrees, the model knew better and the
agent got stuck (an RL failure); where it pays the agent's own behaviour more, the model is wrong.

    python scripts/probe_reward.py runs/prefrl-Walker2d-v0__... \\
        --policies runs/bench_mujoco/prefrl/Walker2d-v0__true_reward__3/checkpoint --steps 1000

For the MuJoCo (vector-observation) tasks. Policies play with their mean action.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def load_reward_model(run_dir: Path):
    """The run's config, its environment type ("atari", "mujoco", ...) and its reward model as of
    its last checkpoint. ValueError where the folder is not a run that reached a checkpoint."""
    from prefrl.config import TrainConfig
    from prefrl.rl.checkpoint import checkpoint_state, has_checkpoint
    from prefrl.rl.training import make_reward_model, plan_run

    if not (run_dir / "config.json").is_file() or not has_checkpoint(run_dir):
        raise ValueError(f"{run_dir} has no config.json and checkpoint/state.pt; give a run folder "
                         f"written by `prefrl train` that reached its first checkpoint")
    config = TrainConfig.from_json_file(run_dir / "config.json")
    plan = plan_run(config)
    model = make_reward_model(plan)
    state = checkpoint_state(run_dir)
    model.load_state_dict(state["model"])
    return config, plan.kind, model.eval()


def play(env_id: str, checkpoint: Path | None, steps: int, seed: int) -> tuple[np.ndarray, ...]:
    """(obs, actions, true rewards) of `steps` steps of the policy in `checkpoint` (policy.zip and
    vecnormalize.pkl), or of uniformly random actions when None. Observations are the env's own,
    unnormalised, as the reward model sees them."""
    from stable_baselines3.common.env_util import make_vec_env

    from prefrl.rl.evaluation import load_frozen_policy
    from prefrl_envs import make_task

    venv = make_vec_env(lambda: make_task(env_id), n_envs=1, seed=seed)
    venv.action_space.seed(seed)
    agent, env = load_frozen_policy(checkpoint, venv) if checkpoint is not None else (None, venv)
    obs, acts, rewards = [], [], []
    o = env.reset()
    for _ in range(steps):
        a = agent.predict(o, deterministic=True)[0] if agent else np.array([venv.action_space.sample()])
        obs.append(env.get_original_obs()[0] if agent else o[0])
        acts.append(a[0])
        o, r, _, _ = env.step(a)
        rewards.append(env.get_original_reward()[0] if agent else r[0])
    env.close()
    return np.array(obs, np.float32), np.array(acts, np.float32), np.array(rewards, np.float64)


def checkpoint_dir(path: Path) -> Path:
    """A checkpoint folder from itself or from the run folder holding it; ValueError otherwise."""
    for candidate in (path, path / "checkpoint"):
        if (candidate / "policy.zip").is_file() and (candidate / "vecnormalize.pkl").is_file():
            return candidate
    raise ValueError(f"{path} holds no policy.zip and vecnormalize.pkl (nor does {path / 'checkpoint'}); "
                     f"give a checkpoint folder or a run folder")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="run folder written by `prefrl train` (its reward model is probed)")
    p.add_argument("--policies", nargs="*", type=Path, default=[],
                   help="other policies to score: checkpoint folders or run folders of the same task")
    p.add_argument("--steps", type=int, default=1000, help="env steps each policy plays")
    p.add_argument("--seed", type=int, default=10_000, help="env seed (the same for every policy)")
    args = p.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        if args.steps <= 0:
            raise ValueError(f"--steps must be positive, got {args.steps}")
        config, kind, model = load_reward_model(args.run_dir)
        if kind == "atari":
            raise ValueError(f"{args.run_dir} learned {config.env}, an Atari game; probe_reward scores "
                             f"vector-observation (MuJoCo) tasks only (for Atari: scripts/reward_event_profile.py)")
        policies = [("random actions", None), ("this run's policy", checkpoint_dir(args.run_dir))]
        policies += [(str(path), checkpoint_dir(path)) for path in args.policies]
    except ValueError as exc:
        print(f"probe_reward: error: {exc}", file=sys.stderr)
        return 2
    rows = []
    for name, checkpoint in policies:
        obs, acts, rewards = play(config.env, checkpoint, args.steps, args.seed)
        if obs.shape[1] != model.obs_dim:
            print(f"probe_reward: error: {name} plays a task with {obs.shape[1]}-dim observations; the run "
                  f"learned {config.env} ({model.obs_dim})", file=sys.stderr)
            return 2
        rows.append((name, rewards.mean(), float(model.predict_reward(obs, acts).mean())))
    print(f"{config.env}, {args.steps} steps each; reward model of {args.run_dir}\n")
    print("| # | policy | true reward per step | learned reward per step |\n|---:|---|---:|---:|")
    for i, (name, true, learned) in enumerate(rows, 1):
        print(f"| {i} | {name} | {true:+.3f} | {learned:+.3f} |")
    def order(column: int) -> str:
        return " > ".join(f"#{i}" for i in sorted(range(1, len(rows) + 1), key=lambda i: -rows[i - 1][column]))
    by_true, by_learned = order(1), order(2)
    verdict = (f"as the true reward does ({by_true})." if by_true == by_learned
               else f"differently from the true reward: {by_learned}, against {by_true}.")
    print(f"\nThe learned reward orders these policies {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
