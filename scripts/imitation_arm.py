"""Benchmark arm: HumanCompatibleAI `imitation` 1.0.1's preference comparisons on a paper-variant task.

Runs in its own virtual environment (scripts/setup_imitation_venv.sh), never imports prefrl:

    .venv-imitation/bin/python scripts/imitation_arm.py --task HalfCheetah --timesteps 1000000 \
        --labels 700 --seed 0 --segment-length 25 --ppo-json '{"n_envs": 8, ...}' --out result.json

The task is our "paper variant" over Gymnasium 0.29's MuJoCo v4 env (imitation 1.0.1 pins
gymnasium ~0.29, which has no v5 envs): the true reward leaves out the control cost, and episodes
always last the 1000-step time limit (the alive bonus becomes a term in the torso height, so a
fall costs reward on every step after it instead of ending the episode). Synthetic preferences
come from that true reward. The final policy is evaluated on it (deterministic actions, frozen
observation statistics) and a JSON summary is written to --out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

# The v4 envs need the MuJoCo bindings only; nothing here renders.
os.environ.setdefault("MUJOCO_GL", "egl")
# imitation's reward trainer draws tqdm progress bars on stderr; keep the arm's output quiet.
os.environ.setdefault("TQDM_DISABLE", "1")

TASKS = ("HalfCheetah", "Hopper", "Walker2d", "Swimmer")

# Control-cost weights of the Gymnasium v4 envs (their `ctrl_cost_weight` defaults, checked against
# gymnasium 0.29.1's half_cheetah_v4/hopper_v4/walker2d_v4/swimmer_v4.py). The wrapper reads the
# env's own `_ctrl_cost_weight` and asserts it equals this, so a changed default fails loudly.
CTRL_COST_WEIGHT = {"HalfCheetah": 0.1, "Hopper": 1e-3, "Walker2d": 1e-3, "Swimmer": 1e-4}

# What replaces the alive bonus of the v4 envs that terminate (the body fell): a term in the torso
# height after each step, the same as prefrl's paper variants (envs/paper_mujoco.py PAPER_TASKS).
STAY_UP = {"HalfCheetah": None, "Swimmer": None,
           "Hopper": lambda data: float(data.qpos[1]), "Walker2d": lambda data: float(data.qpos[1]) - 1.0}

EPISODE_STEPS = 1000  # the v4 envs' registered time limit
EVAL_SEED = 10_000  # evaluation env seed, as in prefrl's evaluate_checkpoint (differs from training's)

PPO_KEYS = {
    "n_envs": int, "n_steps": int, "batch_size": int, "n_epochs": int, "learning_rate": float,
    "gamma": float, "gae_lambda": float, "clip_range": float, "ent_coef": float, "vf_coef": float,
    "max_grad_norm": float, "log_std_init": float, "ortho_init": bool, "activation": str,
    "normalize_obs": bool, "normalize_reward": bool,
}

# --- imitation knobs not set by the CLI --------------------------------------------------------
# Unless noted, the defaults of imitation 1.0.1's own `train_preference_comparisons` script
# (imitation/scripts/config/train_preference_comparisons.py, `train_defaults`) and, where that
# leaves them unset, of the library classes.
INITIAL_COMPARISON_FRAC = 0.25  # set by the benchmark (script default 0.1)
ENSEMBLE_SIZE = 3  # set by the benchmark (the script's `reward_ensemble` named config uses 5)
REWARD_TRAINER_KWARGS = {"epochs": 3}  # script default; lr 1e-3, batch 32 are class defaults
INITIAL_EPOCH_MULTIPLIER = 200.0  # PreferenceComparisons default (the script does not set it)
TRANSITION_OVERSAMPLING = 1  # script default
FRAGMENTER_KWARGS = {"warning_threshold": 0}  # script default
QUERY_SCHEDULE = "hyperbolic"  # script default
EXPLORATION_FRAC = 0.0  # script default. Must stay 0 here: imitation's exploration wrapper is
# built before we put VecNormalize in front of the policy, so it would feed it raw observations.
# Deterministic labels from true returns, like prefrl's synthetic oracle, so both arms learn from
# labels of the same quality (imitation's script default samples them: temperature 1, sample=True).
GATHERER_KWARGS: dict = {"sample": False}
STEPS_PER_ITERATION = 50_000  # our choice, see default_iterations()


def default_iterations(timesteps: int, rollout: int) -> int:
    """imitation's script uses 5 iterations per 1M steps by default (commented "arbitrary, should
    be tuned") and 50 for 20M in its seals_half_cheetah config. The paper updates the reward model
    continually, so we take a finer ~50k env steps per iteration (20 for 1M steps), at least 2 so
    that the learned reward is refit at least once, at most 50, and never more than PPO rollouts."""
    return max(1, min(max(2, round(timesteps / STEPS_PER_ITERATION)), 50, timesteps // rollout))


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # main() prints it as one line and exits with code 2
        raise UsageError(message)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = _Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", required=True, choices=TASKS,
                   help="paper-variant task over Gymnasium's <task>-v4 MuJoCo env")
    p.add_argument("--timesteps", type=int, required=True,
                   help="PPO env steps (imitation's total_timesteps); the extra steps imitation "
                        "takes to sample fragments are reported as env_steps")
    p.add_argument("--labels", type=int, required=True,
                   help="total synthetic comparisons (imitation's total_comparisons), at least 4")
    p.add_argument("--seed", type=int, default=0, help="seed for envs, networks and sampling")
    p.add_argument("--segment-length", type=int, required=True,
                   help="env steps per compared fragment (imitation's fragment_length)")
    p.add_argument("--ppo-json", required=True,
                   help="JSON object of PPO settings, all of: " + ", ".join(PPO_KEYS)
                        + " (activation: relu or tanh)")
    p.add_argument("--eval-episodes", type=int, default=10,
                   help="episodes to evaluate the final policy on the true reward")
    p.add_argument("--iterations", type=int, default=None,
                   help="imitation's num_iterations (reward refits); default about one per 50k "
                        "PPO steps, 2 to 50")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch CPU threads (1 is fastest for small nets on few cores)")
    p.add_argument("--log-dir", default=None,
                   help="folder for imitation's progress logs (log.txt, progress.csv); default none")
    p.add_argument("--out", required=True, help="path of the JSON result file to write")
    args = p.parse_args(argv)

    for name in ("timesteps", "segment_length", "eval_episodes", "torch_threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.labels < 4:
        # int(labels * 0.25) initial comparisons must be at least one pair.
        p.error(f"--labels must be at least 4, got {args.labels}")
    if args.segment_length > EPISODE_STEPS:
        p.error(f"--segment-length must be at most the episode length {EPISODE_STEPS}, "
                f"got {args.segment_length}")
    args.ppo = parse_ppo(args.ppo_json, p)
    rollout = args.ppo["n_envs"] * args.ppo["n_steps"]
    if args.timesteps < rollout:
        p.error(f"--timesteps ({args.timesteps}) is less than one PPO rollout "
                f"(n_envs * n_steps = {rollout})")
    if args.iterations is None:
        args.iterations = default_iterations(args.timesteps, rollout)
    elif not 1 <= args.iterations <= args.timesteps // rollout:
        p.error(f"--iterations must be within [1, timesteps / rollout = {args.timesteps // rollout}], "
                f"got {args.iterations}")
    return args


def parse_ppo(text: str, p: _Parser) -> dict:
    try:
        ppo = json.loads(text)
    except json.JSONDecodeError as e:
        p.error(f"--ppo-json is not valid JSON: {e}")
    if not isinstance(ppo, dict):
        p.error("--ppo-json must be a JSON object")
    missing = [k for k in PPO_KEYS if k not in ppo]
    unknown = [k for k in ppo if k not in PPO_KEYS]
    if missing or unknown:
        p.error("--ppo-json: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else [])
            + ([f"unknown {', '.join(unknown)}"] if unknown else [])))
    for key, kind in PPO_KEYS.items():
        value = ppo[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ppo[key] = value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            p.error(f"--ppo-json: {key} must be {kind.__name__}, got {value!r}")
    if ppo["activation"] not in ("relu", "tanh"):
        p.error(f"--ppo-json: activation must be relu or tanh, got {ppo['activation']!r}")
    for key in ("n_envs", "n_steps", "batch_size", "n_epochs", "learning_rate", "clip_range",
                "max_grad_norm"):
        if ppo[key] <= 0:
            p.error(f"--ppo-json: {key} must be positive, got {ppo[key]}")
    if ppo["batch_size"] > ppo["n_envs"] * ppo["n_steps"]:
        p.error(f"--ppo-json: batch_size {ppo['batch_size']} exceeds the rollout "
                f"n_envs * n_steps = {ppo['n_envs'] * ppo['n_steps']}")
    return ppo


# --- the paper variant ------------------------------------------------------------------------

def make_variant_env(task: str):
    """`<task>-v4` with the control cost added back and the alive bonus turned into a height term,
    under the 1000-step time limit (the only thing that ends an episode). Mirrors prefrl's
    envs/paper_mujoco.py: bare env -> WithoutControlCost -> FixedLengthEpisode -> TimeLimit."""
    spec = gym.spec(f"{task}-v4")
    base = gym.envs.registration.load_env_creator(spec.entry_point)()
    env = FixedLengthEpisode(WithoutControlCost(base, CTRL_COST_WEIGHT[task]), STAY_UP[task])
    assert spec.max_episode_steps == EPISODE_STEPS, spec.max_episode_steps
    return gym.wrappers.TimeLimit(env, max_episode_steps=EPISODE_STEPS)


class WithoutControlCost(gym.Wrapper):
    """Adds `ctrl_cost_weight * sum(action**2)` back to the reward: the true reward no longer
    depends on the torques. Computed from the action because the v4 Hopper and Walker2d do not
    report `info["reward_ctrl"]` (HalfCheetah and Swimmer do); the v4 envs charge the cost on the
    action exactly as passed to step()."""

    def __init__(self, env, ctrl_cost_weight: float) -> None:
        super().__init__(env)
        own = getattr(env.unwrapped, "_ctrl_cost_weight", None)
        if own is None or not math.isclose(own, ctrl_cost_weight):
            raise ValueError(f"{env.spec.id if env.spec else env}: ctrl_cost_weight is {own}, "
                             f"expected {ctrl_cost_weight}")
        self.ctrl_cost_weight = ctrl_cost_weight

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        ctrl_cost = self.ctrl_cost_weight * float(np.sum(np.square(action)))
        if "reward_ctrl" in info:
            assert math.isclose(-info["reward_ctrl"], ctrl_cost, rel_tol=1e-6, abs_tol=1e-9)
        return obs, reward + ctrl_cost, terminated, truncated, info


class FixedLengthEpisode(gym.Wrapper):
    """Where the v4 env would terminate (Hopper/Walker2d fell), the episode goes on; with a
    `stay_up` term, the alive bonus the v4 env paid (its `healthy_reward`, paid on every step while
    it terminates on falls) is replaced by `stay_up(data)`. `info["would_terminate"]` records falls.

    The same rule as prefrl_envs.paper_mujoco.FixedLengthEpisode, restated here on purpose: this
    script runs in imitation's own venv (Gymnasium 0.29), where prefrl cannot be imported."""

    def __init__(self, env, stay_up) -> None:
        super().__init__(env)
        self.stay_up = stay_up

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["would_terminate"] = bool(terminated)
        if self.stay_up is not None:
            base = self.env.unwrapped
            reward += self.stay_up(base.data) - base.healthy_reward
        return obs, reward, False, truncated, info


# --- training ---------------------------------------------------------------------------------

def run(args: argparse.Namespace, log_dir: str, log_formats: list[str]) -> dict:
    import torch
    from imitation.algorithms import preference_comparisons as pc
    from imitation.rewards import reward_nets
    from imitation.util import logger as imit_logger
    from imitation.util import networks
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.utils import set_random_seed
    from stable_baselines3.common.vec_env import VecEnvWrapper, VecNormalize

    class StepCounter(VecEnvWrapper):
        """Counts every env step taken: PPO's and imitation's extra fragment sampling."""

        def __init__(self, venv):
            super().__init__(venv)
            self.steps = 0

        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            self.steps += self.num_envs
            return self.venv.step_wait()

    class BudgetedAgentTrainer(pc.AgentTrainer):
        """AgentTrainer that spreads exactly `total` PPO steps evenly over imitation's rounds.

        imitation 1.0.1's PreferenceComparisons.train() loops over [initial comparisons] + one
        share per iteration, i.e. num_iterations + 1 rounds, and trains the agent for
        total_timesteps // num_iterations steps in every one of them, so PPO would run
        (1 + 1/num_iterations) * total_timesteps. SB3's learn() also rounds every call up to whole
        rollouts. Here round k trains up to the cumulative target total * (k+1) / rounds instead
        (`steps` from imitation is ignored), so PPO ends within one rollout of --timesteps."""

        def __init__(self, *a, total: int, rounds: int, **kw):
            super().__init__(*a, **kw)
            self.total, self.rounds, self.round = total, rounds, 0

        def train(self, steps: int, **kwargs) -> None:
            del steps
            self.round += 1
            target = self.total * self.round // self.rounds
            remaining = target - self.algorithm.num_timesteps
            if remaining > 0:
                super().train(remaining, **kwargs)

    torch.set_num_threads(args.torch_threads)
    ppo = args.ppo
    set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    logger = imit_logger.configure(log_dir, log_formats)

    started = time.perf_counter()
    raw = StepCounter(make_vec_env(lambda: make_variant_env(args.task), n_envs=ppo["n_envs"], seed=args.seed))

    # Reward model: imitation's `reward_ensemble` config (RewardEnsemble of BasicRewardNet members,
    # each with a RunningNorm on its output, AddSTDRewardWrapper with alpha 0, i.e. the ensemble
    # mean), with 3 members. Each member also gets imitation's default RunningNorm on its inputs
    # (the reward ingredient's default for single nets; the ensemble config leaves member inputs
    # raw, a poor fit for MuJoCo's unscaled velocities; our choice, not compared against raw
    # inputs). MLP sizes: BasicRewardNet's default (32, 32).
    members = [
        reward_nets.NormalizedRewardNet(
            reward_nets.BasicRewardNet(raw.observation_space, raw.action_space,
                                       normalize_input_layer=networks.RunningNorm),
            networks.RunningNorm)
        for _ in range(ENSEMBLE_SIZE)
    ]
    reward_net = reward_nets.AddSTDRewardWrapper(
        reward_nets.RewardEnsemble(raw.observation_space, raw.action_space, members), default_alpha=0.0)

    policy_kwargs = {"log_std_init": ppo["log_std_init"], "ortho_init": ppo["ortho_init"],
                     "activation_fn": {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[ppo["activation"]]}
    agent = PPO("MlpPolicy", raw, n_steps=ppo["n_steps"], batch_size=ppo["batch_size"],
                n_epochs=ppo["n_epochs"], learning_rate=ppo["learning_rate"], gamma=ppo["gamma"],
                gae_lambda=ppo["gae_lambda"], clip_range=ppo["clip_range"], ent_coef=ppo["ent_coef"],
                vf_coef=ppo["vf_coef"], max_grad_norm=ppo["max_grad_norm"],
                policy_kwargs=policy_kwargs, seed=args.seed, device="cpu", verbose=0)
    # AgentTrainer records true-reward trajectories (BufferingWrapper) and swaps the reward for the
    # learned one (RewardVecEnvWrapper) around `raw`, then points the agent at that. VecNormalize
    # goes on top, as in the true-reward PPO baseline: the policy sees normalised observations and
    # the learned reward normalised by its return scale; the reward model sees raw observations.
    trainer = BudgetedAgentTrainer(algorithm=agent, reward_fn=reward_net, venv=raw, rng=rng,
                                   exploration_frac=EXPLORATION_FRAC, custom_logger=logger,
                                   total=args.timesteps, rounds=args.iterations + 1)
    normalized = VecNormalize(trainer.venv, norm_obs=ppo["normalize_obs"],
                              norm_reward=ppo["normalize_reward"], gamma=ppo["gamma"])
    agent.set_env(normalized)

    preference_model = pc.PreferenceModel(reward_net)
    reward_trainer = pc._make_reward_trainer(  # EnsembleTrainer for an ensemble, as in the script
        preference_model, pc.CrossEntropyRewardLoss(), rng,
        {**REWARD_TRAINER_KWARGS, "custom_logger": logger})  # else it makes a /tmp/imitation-* dir
    main = pc.PreferenceComparisons(
        trainer, reward_net,
        num_iterations=args.iterations,
        fragmenter=pc.RandomFragmenter(rng=rng, custom_logger=logger, **FRAGMENTER_KWARGS),
        preference_gatherer=pc.SyntheticGatherer(rng=rng, custom_logger=logger, **GATHERER_KWARGS),
        reward_trainer=reward_trainer,
        fragment_length=args.segment_length,
        transition_oversampling=TRANSITION_OVERSAMPLING,
        initial_comparison_frac=INITIAL_COMPARISON_FRAC,
        initial_epoch_multiplier=INITIAL_EPOCH_MULTIPLIER,
        custom_logger=logger,
        allow_variable_horizon=False,  # every episode is exactly 1000 steps
        query_schedule=QUERY_SCHEDULE,
    )
    stats = main.train(total_timesteps=args.timesteps, total_comparisons=args.labels)
    wall = time.perf_counter() - started

    returns = evaluate(agent, normalized, args.task, args.eval_episodes)
    return {
        "arm": "imitation", "task": args.task, "seed": args.seed, "timesteps": args.timesteps,
        "labels": args.labels, "wall_s": wall, "steps_per_s": args.timesteps / wall,
        "return_mean": float(returns.mean()), "return_std": float(returns.std()),
        # Extras, for the record:
        "env_steps": raw.steps, "ppo_steps": int(agent.num_timesteps),
        "comparisons": len(main.dataset), "iterations": args.iterations,
        "reward_accuracy": None if stats["reward_accuracy"] is None else float(stats["reward_accuracy"]),
        "env": f"{args.task}-v4 paper variant",
    }


def evaluate(agent, train_env, task: str, n_episodes: int):
    """True (variant) returns of `n_episodes` with deterministic actions; observations normalised
    with the training VecNormalize's statistics, frozen."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    venv = make_vec_env(lambda: make_variant_env(task), n_envs=1, seed=EVAL_SEED)
    env = VecNormalize(venv, norm_obs=train_env.norm_obs, norm_reward=False, training=False)
    env.obs_rms = train_env.obs_rms
    returns, total = [], 0.0
    obs = env.reset()
    while len(returns) < n_episodes:
        action, _ = agent.predict(obs, deterministic=True)
        obs, _, dones, _ = env.step(action)
        total += float(env.get_original_reward()[0])
        if dones[0]:
            returns.append(total)
            total = 0.0
    env.close()
    return np.array(returns)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except UsageError as e:
        print(f"imitation_arm.py: error: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="imitation-arm-") as tmp:
        # imitation's logger always writes a folder; without --log-dir it is a throwaway one.
        result = run(args, args.log_dir or tmp, ["log", "csv"] if args.log_dir else [])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
