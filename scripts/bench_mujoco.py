"""Side-by-side MuJoCo benchmark: SB3 PPO on the true reward, prefrl from synthetic labels, and
imitation's preference comparisons.

Same env, seeds, PPO hyperparameters and env steps for every arm; each arm's final policy is
evaluated on the true reward, 10 episodes with deterministic (mean) actions and 10 with sampled
ones, as the agent acts in training. Prints and writes (results.md, results.json) a table of final
true return, wall time and env steps per second, with the ratios prefrl / true-reward and
prefrl / imitation; `curves.png` draws every arm-run's training curve and final evaluation.
`--labels` takes several budgets (e.g. `--labels 700 1400`): the label-learning arms run once per
budget. The imitation arm runs when its virtual environment exists
(`bash scripts/setup_imitation_venv.sh` makes `.venv-imitation`), as a subprocess there, on the
paper variants `prefrl/{HalfCheetah,Hopper,Walker2d,Swimmer}-v0` (rebuilt over Gymnasium 0.29's v4
envs, which is what imitation 1.0.1 runs on).

    python scripts/bench_mujoco.py --envs HalfCheetah-v5 --seeds 0 1 2 --timesteps 1000000 --labels 700

`--prefrl-flags "--reward-norm-data initial"` passes extra `prefrl train` flags to the prefrl arm
only, to compare a variant against the same baselines.

`--merge A/results.json B/results.json ...` runs nothing and combines earlier invocations into one
table (seeds 0-2 one day, 3-4 the next; a prefrl variant run with `--arms prefrl` against the
baselines of another invocation). Every ratio is taken over the seeds both arms ran, and each
prefrl variant keeps its flags in its row name; the reward model's settings whose defaults differ
by task (its inputs and regularisation) are named by what the run took (recorded in results.json),
so runs from before and after a task's own defaults came in stay apart. Paired differences (per
seed, mean ± standard error) follow the ratios. With `--envs`, only those envs' runs are kept.

Runs `--jobs` arm-runs at once, one process each (one torch thread each): on 2 cores use 2, so both
arms of a seed share the machine's load alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import platform
import subprocess
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np


ROOT = Path(__file__).resolve().parents[1]
IMITATION_PYTHON = ROOT / ".venv-imitation" / "bin" / "python"
IMITATION_TASKS = {f"prefrl/{t}-v0": t for t in ("HalfCheetah", "Hopper", "Walker2d", "Swimmer")}


def ppo_row(env_id: str) -> dict:
    """Our PPO row for the task as plain values: what scripts/imitation_arm.py takes (as JSON), and
    what each result records, so runs made with different rows are never merged into one table."""
    from prefrl.rl.hyperparams import ppo_hyperparams

    hp = ppo_hyperparams(env_id)
    kwargs = hp.ppo_kwargs()
    policy = kwargs.pop("policy_kwargs")
    return kwargs | {
        "n_envs": hp.n_envs, "normalize_obs": hp.normalize_obs, "normalize_reward": hp.normalize_reward,
        "log_std_init": policy.get("log_std_init", 0.0), "ortho_init": policy.get("ortho_init", True),
        "activation": policy.get("activation_fn").__name__.lower() if "activation_fn" in policy else "tanh"}


def run_imitation(job: dict, out: Path) -> dict:
    import prefrl_envs

    result = out / "result.json"
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(IMITATION_PYTHON), str(ROOT / "scripts" / "imitation_arm.py"), "--task", IMITATION_TASKS[job["env"]],
           "--timesteps", str(job["timesteps"]), "--labels", str(job["labels"]), "--seed", str(job["seed"]),
           "--segment-length", str(prefrl_envs.task_info(job["env"]).default_segment_length),
           "--ppo-json", json.dumps(job["ppo"]), "--eval-episodes", str(job["eval_episodes"]),
           "--out", str(result)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"imitation arm failed: {proc.stderr[-2000:]}")
    got = json.loads(result.read_text())
    return job | {k: got[k] for k in ("wall_s", "steps_per_s", "return_mean", "return_std")}


def run_arm(job: dict) -> dict:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from prefrl.config import TrainConfig
    from prefrl.rl.baseline import train_true_reward
    from prefrl.rl.defaults import reward_settings
    from prefrl.rl.evaluation import evaluate_checkpoint
    from prefrl.rl.training import train

    out = Path(job["out"]) / f"{job['env']}__{arm_name(job)}__{job['seed']}"
    job = job | {"ppo": ppo_row(job["env"])}
    if job["arm"] == "imitation":
        return run_imitation(job, out)
    started = time.time()
    if job["arm"] == "true_reward":
        train_true_reward(job["env"], job["timesteps"], job["seed"], out)
        checkpoint = out / "checkpoint"
    else:
        config = TrainConfig(env=job["env"], labels=job["labels"], timesteps=job["timesteps"],
                             seed=job["seed"], name="bench", runs_dir=str(out), progress=False, device="cpu",
                             **prefrl_overrides(job.get("prefrl_flags", "")))
        checkpoint = train(config) / "checkpoint"
        job = job | {"reward": dataclasses.asdict(reward_settings(config))}
    wall = time.time() - started
    returns = evaluate_checkpoint(checkpoint, job["env"], n_episodes=job["eval_episodes"], deterministic=True)
    sampled = evaluate_checkpoint(checkpoint, job["env"], n_episodes=job["eval_episodes"], deterministic=False)
    return job | {"wall_s": wall, "steps_per_s": job["timesteps"] / wall,
                  "return_mean": float(returns.mean()), "return_std": float(returns.std()),
                  "return_sampled_mean": float(sampled.mean())}


SET_BY_BENCHMARK = ("env", "labels", "timesteps", "seed", "name", "runs_dir", "progress", "device")
"""`prefrl train` flags each benchmark sets for its arms; --device too, so both arms run on the same
device (here the CPU; bench_atari has its own --device for both)."""


def prefrl_overrides(flags: str) -> dict:
    """`prefrl train` flags given as one string (e.g. "--reward-norm-data initial") as TrainConfig
    fields that differ from the defaults. Raises ValueError on an unknown or malformed flag, or on
    one the benchmark sets itself."""
    from prefrl.cli import add_config_flags
    from prefrl.config import TrainConfig

    parser = argparse.ArgumentParser(prog="--prefrl-flags", add_help=False, exit_on_error=False)
    add_config_flags(parser)
    try:
        parsed, unknown = parser.parse_known_args(shlex.split(flags))
    except (argparse.ArgumentError, SystemExit) as exc:
        raise ValueError(f"--prefrl-flags {flags!r}: {exc}") from None
    if unknown:
        raise ValueError(f"--prefrl-flags: unknown `prefrl train` flags {' '.join(unknown)}")
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(parsed).items() if v != defaults[k]}
    fixed = sorted(set(given) & set(SET_BY_BENCHMARK))
    if fixed:
        raise ValueError(f"--prefrl-flags: {', '.join('--' + k.replace('_', '-') for k in fixed)} "
                         f"is set by the benchmark's own flags")
    return given


def arm_name(job: dict) -> str:
    """"true_reward", or a label-learning arm with its budget ("prefrl-700")."""
    return job["arm"] if job["arm"] == "true_reward" else f"{job['arm']}-{job['labels']}"


def arm_dir(result: dict) -> Path:
    return Path(result["out"]) / f"{result['env']}__{arm_name(result)}__{result['seed']}"


REWARD_FLAGS = {"inputs": ("reward_inputs", "--reward-inputs"), "l2_max": ("reward_l2_max", "--reward-l2-max"),
                "pretrain_l2": ("pretrain_l2", "--pretrain-l2"), "norm_data": ("reward_norm_data", "--reward-norm-data")}
"""Each `RewardSettings` field's `TrainConfig` field and `prefrl train` flag: the settings whose
defaults differ by task (`TASK_REWARD`; prefrl/Walker2d-v0's changed in session 19)."""


def variant(result: dict) -> str:
    """An arm-run's row name in the tables: its arm name, with the extra flags the prefrl arm ran
    with, so that variants merged from several invocations stay apart. The reward model's
    settings are named by what the run took, not by the flags that said it: those that depart from
    the paper's, in a fixed order, so a run from before a task's default changed and one after it
    share a row exactly when they ran alike."""
    flags = result.get("prefrl_flags", "") if result["arm"] == "prefrl" else ""
    if result["arm"] == "prefrl":
        try:
            flags = " ".join([*other_flags(flags), *reward_flags(result)])
        except ValueError:  # a flag `prefrl train` no longer has: the flags as given
            pass
    return f"{arm_name(result)} ({flags})" if flags else arm_name(result)


def other_flags(flags: str) -> list[str]:
    """`flags` split into words, without the reward-model flags of REWARD_FLAGS and their values."""
    named = {flag for _, flag in REWARD_FLAGS.values()}
    kept, skip = [], False
    for word in shlex.split(flags):
        if skip:
            skip = False
        elif word in named:
            skip = True
        elif word.split("=")[0] not in named:
            kept.append(word)
    return kept


def reward_flags(result: dict) -> list[str]:
    """The reward-model settings a prefrl arm-run took that differ from the paper's, as flags. Runs
    record them from session 20 on (the model's inputs from session 21); what a run does not record
    follows from the flags given, every default then being the paper's. ValueError if those flags
    no longer parse."""
    from prefrl.rl.defaults import RewardSettings

    rule = dataclasses.asdict(RewardSettings())
    given = prefrl_overrides(result.get("prefrl_flags", ""))
    took = rule | {name: given[key] for name, (key, _) in REWARD_FLAGS.items() if given.get(key) is not None}
    took |= result.get("reward") or {}
    words = []
    for name, (_, flag) in REWARD_FLAGS.items():
        if took[name] != rule[name]:
            words += [flag, f"{took[name]:g}" if isinstance(took[name], float) else str(took[name])]
    return words


def curve(result: dict) -> np.ndarray:
    """(env steps, mean true return of the training episodes) over an arm-run; empty for the
    imitation arm, which logs no curve."""
    from prefrl.plotting import read_true_return

    try:
        return read_true_return(arm_dir(result))
    except ValueError:
        return np.empty((0, 2))


ARM_PALETTES = {"true_reward": ["tab:blue"], "imitation": ["tab:green", "tab:olive"],
                "prefrl": ["tab:orange", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:cyan"]}


def variant_colours(results: list[dict]) -> dict[str, str]:
    """A colour per table row name: blue for the true reward, greens for imitation, warm colours
    for the prefrl variants (budgets and flags), each kept the same across panels."""
    colours: dict[str, str] = {}
    for arm, palette in ARM_PALETTES.items():
        names = sorted({variant(r) for r in results if r["arm"] == arm})
        colours.update({name: palette[i % len(palette)] for i, name in enumerate(names)})
    return colours


def plot_curves(results: list[dict], path: Path) -> Path:
    """One panel per env: each arm-run's training curve (true return of the episodes it played,
    sampled actions, smoothed over 5 points), and its final evaluation (deterministic actions) as a
    marker at the last step; imitation has the marker only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({r["env"] for r in results})
    colours = variant_colours(results)
    fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4.5), squeeze=False)
    for ax, env in zip(axes[0], envs):
        shown = set()
        for r in sorted((r for r in results if r["env"] == env), key=lambda r: (variant(r), r["seed"])):
            name = variant(r)
            colour = colours.get(name, "tab:grey")
            label = None if name in shown else name
            shown.add(name)
            pts = curve(r)
            if len(pts) >= 5:
                smooth = np.convolve(pts[:, 1], np.ones(5) / 5, mode="valid")
                ax.plot(pts[4:, 0], smooth, color=colour, alpha=0.7, lw=1, label=label)
                label = None
            ax.plot([r["timesteps"]], [r["return_mean"]], marker="o", color=colour, ls="", label=label)
        ax.set(title=env, xlabel="env steps", ylabel="true episode return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("lines: training episodes (sampled actions); dots: final evaluation (deterministic)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_jobs(run: Callable[[dict], dict], jobs: list[dict], workers: int, out: Path,
             describe: Callable[[dict], str], kept: list[dict] | None = None) -> list[dict]:
    """Arm-runs `workers` at a time, one spawned process each; `out/results.json` is rewritten after
    every finished run (so an early stop keeps what finished) and a line printed for it. `kept`:
    results of earlier runs (a resumed benchmark's finished ones), written first."""
    results = list(kept or [])
    # `kill PID` (SIGTERM) on this process ends it through the pool's exit, which stops the
    # workers; by default they would be orphaned and go on using the cores
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        with mp.get_context("spawn").Pool(workers, maxtasksperchild=1) as pool:
            for r in pool.imap_unordered(run, jobs):
                results.append(r | {"cpu": cpu_model()})
                (out / "results.json").write_text(json.dumps(results, indent=2))
                print(describe(r), flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return results


def cpu_model() -> str:
    """The machine's CPU as /proc/cpuinfo names it (a seeded run repeats itself only on one CPU's
    numerics, and the steps/s ratios move with the CPU), else what the platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else (platform.processor() or "unknown")


def cpu_line(results: list[dict]) -> str:
    """Which CPUs the results' arm-runs ran on (more than one after a resume on another machine)."""
    cpus = sorted({r.get("cpu", "not recorded") for r in results})
    return ("CPU: " if len(cpus) == 1 else "CPUs (arm-runs on different machines): ") + "; ".join(cpus)


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def ratio_cells(arm: list[dict], other: list[dict]) -> list[str]:
    """Seeds compared, then return (deterministic; sampled) and steps/s of `arm` over `other`, both
    averaged over the seeds the two have in common only."""
    seeds = sorted({r["seed"] for r in arm} & {r["seed"] for r in other})
    if not seeds:
        return ["–"] * 4
    def mean(rows: list[dict], key: str) -> float | None:
        values = [r.get(key) for r in rows if r["seed"] in seeds]
        return float(np.mean(values)) if None not in values else None
    cells = [str(len(seeds))]
    for key in ("return_mean", "return_sampled_mean", "steps_per_s"):
        a, b = mean(arm, key), mean(other, key)
        cells.append(f"{a / b:.2f}x" if a is not None and b else "–")
    return cells


def paired_difference(arm: list[dict], other: list[dict]) -> list[str]:
    """Seeds compared, then the mean over them of `arm`'s final return minus `other`'s on the same
    seed, with the standard error of that mean: the spread between seeds that a ratio of means
    hides (Walker2d's seeds differ by more than most of its variants do)."""
    other_by_seed = {r["seed"]: r["return_mean"] for r in other}
    diffs = np.array([r["return_mean"] - other_by_seed[r["seed"]] for r in arm if r["seed"] in other_by_seed])
    if len(diffs) < 2:
        return [str(len(diffs)), "–"]
    return [str(len(diffs)), f"{diffs.mean():+.0f} ± {diffs.std(ddof=1) / np.sqrt(len(diffs)):.0f}"]


def summarise(results: list[dict]) -> str:
    """Per env and arm: return (deterministic actions; sampled actions), wall time and steps/s,
    mean over seeds; then each prefrl arm's ratios to the other arms over the seeds they share, and
    the paired differences of its return from the true-reward arm's and from each other variant's."""
    lines = [cpu_line(results), "", "| env | arm | seeds | final true return, mean ± sd over seeds (deterministic) | "
             "same, sampled actions | wall s | env steps/s |", "|---|---|---|---|---|---|---|"]
    ratios, pairs = [], []
    for env in sorted({r["env"] for r in results}):
        arms: dict[str, list[dict]] = {}
        for r in results:
            if r["env"] == env:
                arms.setdefault(variant(r), []).append(r)
        for name, rows in sorted(arms.items()):
            ret = np.array([r["return_mean"] for r in rows])
            sampled = [r["return_sampled_mean"] for r in rows if "return_sampled_mean" in r]
            sampled_cell = f"{np.mean(sampled):.0f} ± {np.std(sampled):.0f}" if len(sampled) == len(rows) else "–"
            lines.append(f"| {env} | {name} | {len(rows)} | {ret.mean():.0f} ± {ret.std():.0f} | {sampled_cell} | "
                         f"{np.mean([r['wall_s'] for r in rows]):.0f} | "
                         f"{np.mean([r['steps_per_s'] for r in rows]):.0f} |")
        for name, rows in sorted(arms.items()):
            if rows[0]["arm"] == "prefrl":
                cells = ratio_cells(rows, arms.get("true_reward", []))
                cells += ratio_cells(rows, arms.get(f"imitation-{rows[0]['labels']}", []))
                ratios.append(f"| {env} | {name} | " + " | ".join(cells) + " |")
        learners = sorted(name for name, rows in arms.items() if rows[0]["arm"] != "true_reward")
        for i, name in enumerate(learners):
            for other in ["true_reward", *learners[i + 1:]]:
                cells = paired_difference(arms[name], arms.get(other, []))
                if cells[1] != "–":
                    pairs.append(f"| {env} | {name} | {other} | " + " | ".join(cells) + " |")
    if ratios:
        lines += ["", "Ratios over the seeds both arms ran:", "",
                  "| env | arm | seeds | return / true-reward | same, sampled actions | steps/s / true-reward | "
                  "seeds | return / imitation | same, sampled actions | steps/s / imitation |",
                  "|---|---|---|---|---|---|---|---|---|---|", *ratios]
    if pairs:
        lines += ["", "Paired differences over the seeds both arms ran (final return, deterministic; "
                  "mean of the per-seed differences ± its standard error):", "",
                  "| env | arm | minus | seeds | return difference |", "|---|---|---|---|---|", *pairs]
    return "\n".join(lines)


def merge_results(paths: list[Path], envs: list[str] | None = None) -> list[dict]:
    """The arm-runs of several results.json files, one per (env, arm, flags, seed), only those of
    `envs` where given: where two files hold the same one, the first file's is kept and the other
    named on stderr. Raises ValueError with a one-line reason for a missing or unreadable file, or
    when no run of `envs` is in them."""
    merged: dict[tuple, dict] = {}
    for path in paths:
        try:
            rows = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ValueError(f"--merge: no file {path} (give the results.json of an earlier run)") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"--merge: {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and {"env", "arm", "seed"} <= r.keys()
                                                 for r in rows):
            raise ValueError(f"--merge: {path} is not a bench_mujoco results.json (a list of arm-runs)")
        for r in rows:
            if envs is not None and r["env"] not in envs:
                continue
            key = (r["env"], variant(r), r["seed"])
            if key in merged:
                print(f"bench_mujoco: --merge: {r['env']} {variant(r)} seed {r['seed']} is in more than one "
                      f"file; keeping the first, dropping the one in {path}", file=sys.stderr)
                continue
            merged[key] = r
    if envs is not None and not merged:
        raise ValueError(f"--merge: no runs of {', '.join(envs)} in these files (drop --envs to merge every env)")
    check_one_ppo_row(merged.values())
    return list(merged.values())


def check_one_ppo_row(results) -> None:
    """Raise ValueError if two arm-runs of one env record different PPO rows (say one made before a
    change to the hyperparameter table): their ratios would compare different agents. Results
    from before rows were recorded carry none and are not checked."""
    rows: dict[str, dict] = {}
    for r in results:
        if "ppo" not in r:
            continue
        first = rows.setdefault(r["env"], r["ppo"])
        if r["ppo"] != first:
            diff = ", ".join(f"{k} {first.get(k)} vs {r['ppo'].get(k)}"
                             for k in sorted(first.keys() | r["ppo"].keys()) if first.get(k) != r["ppo"].get(k))
            raise ValueError(f"--merge: {r['env']} runs were made with different PPO rows ({diff}); "
                             f"merge only runs of one row")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", nargs="+", default=None,
                   help="env ids to benchmark (default HalfCheetah-v5); with --merge, keep only these envs' runs")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds, shared by both arms")
    p.add_argument("--timesteps", type=int, default=1_000_000, help="env steps per arm-run")
    p.add_argument("--labels", nargs="+", type=int, default=[700],
                   help="label budgets; prefrl (and imitation) run once per budget")
    p.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes per final policy")
    p.add_argument("--arms", nargs="+", default=["true_reward", "prefrl", "imitation"],
                   choices=["true_reward", "prefrl", "imitation"],
                   help="which arms to run; imitation only where .venv-imitation exists and the env is "
                        "one of " + ", ".join(IMITATION_TASKS))
    p.add_argument("--prefrl-flags", default="", metavar="FLAGS",
                   help='extra `prefrl train` flags for the prefrl arm, as one string, e.g. '
                        '"--reward-norm-data initial" (the true-reward and imitation arms are unchanged)')
    p.add_argument("--jobs", type=int, default=2, help="arm-runs at once (one process each)")
    p.add_argument("--out", type=Path, default=Path("runs/bench_mujoco"), help="output folder")
    p.add_argument("--merge", nargs="+", type=Path, metavar="RESULTS_JSON",
                   help="run nothing: combine the results.json files of earlier invocations (say seeds 0-2 "
                        "one day, 3-4 the next, or a prefrl variant run on its own) into one table, "
                        "results.json and curves.png in --out")
    args = p.parse_args()
    if args.merge:
        try:
            results = merge_results(args.merge, args.envs)
        except ValueError as exc:
            print(f"bench_mujoco: error: {exc}", file=sys.stderr)
            return 2
        return report(results, args.out, note=f"Merged from {len(args.merge)} results files: steps/s ratios "
                      "between arm-runs of different files compare runs that did not share the machine.")
    args.envs = args.envs or ["HalfCheetah-v5"]
    if args.timesteps <= 0 or min(args.labels) <= 0 or args.jobs <= 0 or args.eval_episodes <= 0:
        print("bench_mujoco: error: --timesteps, --labels, --jobs and --eval-episodes must be positive",
              file=sys.stderr)
        return 2
    try:
        prefrl_overrides(args.prefrl_flags)
    except ValueError as exc:
        print(f"bench_mujoco: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    if "imitation" in args.arms and not IMITATION_PYTHON.exists():
        print(f"bench_mujoco: no {IMITATION_PYTHON}: skipping the imitation arm "
              f"(run `bash scripts/setup_imitation_venv.sh` to add it)", file=sys.stderr)
        args.arms = [a for a in args.arms if a != "imitation"]
    jobs = [dict(env=e, seed=s, arm=a, timesteps=args.timesteps, labels=n,
                 eval_episodes=args.eval_episodes, out=str(args.out), prefrl_flags=args.prefrl_flags)
            for s in args.seeds for e in args.envs for a in args.arms  # seed-major: partial runs cover every env
            for n in ([args.labels[0]] if a == "true_reward" else args.labels)
            if a != "imitation" or e in IMITATION_TASKS]
    results = run_jobs(run_arm, jobs, args.jobs, args.out, lambda r: (
        f"{r['env']} {arm_name(r)} seed {r['seed']}: return {r['return_mean']:.0f} "
        f"({r['steps_per_s']:.0f} steps/s, {r['wall_s']:.0f} s)"))
    return report(results, args.out)


def report(results: list[dict], out: Path, note: str = "") -> int:
    """Write results.json, curves.png and results.md (the command, the tables and `note`) into
    `out`, and print the tables."""
    out.mkdir(parents=True, exist_ok=True)
    table = summarise(results) + (f"\n\n{note}" if note else "")
    command = "python scripts/bench_mujoco.py " + shlex.join(sys.argv[1:])
    (out / "results.json").write_text(json.dumps(results, indent=2))
    plot_curves(results, out / "curves.png")
    (out / "results.md").write_text(f"`{command}`\n\n{table}\n\n![curves](curves.png)\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
