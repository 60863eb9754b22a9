"""Side-by-side Atari benchmark: SB3 PPO (CNN policy) on the true game reward against prefrl from
synthetic labels, same game, seeds, hyperparameters and agent steps; plus a random policy.

For each arm-run: final game score (mean over evaluation games, actions sampled), wall time, agent
steps per second, and the peak and post-warm-up slope of the process's resident memory (sampled
every few seconds into memory.csv; warm-up is the first quarter of the run, for prefrl until its
label FIFO is full if that is later, as the label set grows until then by design). The summary
gives prefrl's improvement over the random policy as a fraction of the true-reward agent's, and the
steps/s ratio: over the whole runs, and per seed over the span both arms ran at once (from 300 s in
to the end of the first to finish; the throughput figure, since an arm that runs on alone at the end
runs faster); `curves.png` shows both arms' score curves and the resident memory over the run.

    python scripts/bench_atari.py --game Pong --seeds 0 --timesteps 1000000 --labels 5000

Runs `--jobs` arm-runs at once, one process each (one torch thread each): on 2 cores use 2, so both
arms share the machine's load alike.

A killed or stopped benchmark goes on with the same command plus `--resume`: finished arm-runs are
kept (results.json), the others continue from their last checkpoint (prefrl's every
--checkpoint-every steps, the true-reward arm's every 100k), their curves, memory samples and clocks
carried on. Each arm's envs restart at the checkpoint, so a resumed arm-run is not the one an unbroken
run of the same seed would have been; the table marks it.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mujoco import cpu_line, prefrl_overrides, run_jobs  # noqa: E402  (shared with the MuJoCo benchmark)

GAMES = ("BeamRider", "Breakout", "Enduro", "Pong", "Qbert", "Seaquest", "SpaceInvaders")
TRUE_ARM_CHECKPOINT_EVERY = 100_000
"""Agent steps between the true-reward arm's checkpoints: a benchmark resumed after a kill redoes at
most these (prefrl's arm keeps its own --checkpoint-every, 100k by default)."""
SETTINGS = ("game", "timesteps", "labels", "algo", "eval_games", "prefrl_flags", "device")
"""What a resumed benchmark must share with the one it continues (seeds and arms may be added)."""


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class MemorySampler(threading.Thread):
    """Appends (wall seconds, resident MiB) to `path` every `every` seconds until stopped. With
    `append`, an existing file goes on, its clock from its last sample (a resumed arm-run)."""

    def __init__(self, path: Path, every: float = 5.0, append: bool = False) -> None:
        super().__init__(daemon=True)
        self.path, self.every = Path(path), every
        self.stop = threading.Event()
        self.append = append and self.path.is_file()
        self.started = time.time() - (last_wall_seconds(self.path) if self.append else 0.0)

    def run(self) -> None:
        with self.path.open("a" if self.append else "w", newline="") as f:
            out = csv.writer(f)
            if not self.append:
                out.writerow(["wall_seconds", "rss_mib"])
            while not self.stop.wait(self.every):
                out.writerow([round(time.time() - self.started, 1), round(rss_mib(), 1)])
                f.flush()


def last_wall_seconds(path: Path) -> float:
    """The clock of a memory.csv's last sample (0 for one with none)."""
    with Path(path).open() as f:
        rows = [line for line in f.read().splitlines()[1:] if line.strip()]
    return float(rows[-1].split(",")[0]) if rows else 0.0


def memory_stats(path: Path, warmup: float = 0.25, settled_at: float | None = None,
                 min_span: float = 0.2) -> dict:
    """Peak RSS and the least-squares slope (MiB per hour) after warm-up: the first `warmup` share
    of the run, or until `settled_at` wall seconds (when the label FIFO filled) if that is later.
    No slope (NaN) when what follows the warm-up is under `min_span` of the run: a FIFO that fills
    in the run's last minutes leaves only the final evaluation to fit, which says nothing of growth."""
    rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    start = max(warmup * rows[-1, 0], settled_at or 0.0) if len(rows) else 0.0
    late = rows[rows[:, 0] >= start] if len(rows) else rows
    if len(late) < 4 or late[-1, 0] - start < min_span * rows[-1, 0]:
        return {"rss_peak_mib": float(rows[:, 1].max()) if len(rows) else float("nan"),
                "rss_slope_mib_per_h": float("nan"), "rss_warmup_s": float(start)}
    slope = np.polyfit(late[:, 0] / 3600, late[:, 1], 1)[0]
    return {"rss_peak_mib": float(rows[:, 1].max()), "rss_slope_mib_per_h": float(slope),
            "rss_warmup_s": float(start), "rss_after_warmup_mib": [float(late[0, 1]), float(late[-1, 1])]}


def fifo_full_at(progress_csv: Path, label_buffer: int | None) -> float | None:
    """Wall seconds into the run at which its label count first reached the label FIFO's cap (from
    then on the label set holds a fixed number of labels); None if it never did."""
    from prefrl.plotting import read_curve

    if not label_buffer or not progress_csv.is_file():
        return None
    points = read_curve(progress_csv, "charts/labels", "charts/wall_seconds")
    full = points[points[:, 0] >= label_buffer] if len(points) else points
    return float(full[0, 1]) if len(full) else None


SPAN_SKIP_S = 300.0
"""Seconds of each arm-run's start left out of the side-by-side throughput (set-up and imports,
which the two arms do at different speeds; prefrl's pretraining comes later and counts)."""
SIDE_BY_SIDE_S = 60.0
"""Arm-runs of a seed whose starts lie further apart than this did not run side by side."""


def steps_at(clock: np.ndarray, t: float) -> float:
    """Agent steps an arm-run had taken `t` seconds into its run, from its (wall seconds, env steps)
    rows, interpolated between them."""
    return float(np.interp(t, clock[:, 0], clock[:, 1]))


def span_ratio(prefrl_clock: np.ndarray, true_clock: np.ndarray, skip: float = SPAN_SKIP_S) -> tuple | None:
    """prefrl's steps/s over PPO alone's, both taken over the span the two arm-runs ran at once:
    from `skip` seconds in (a tenth of the span for short runs) to the end of the one that finished
    first. (ratio, start s, end s), or None with too few rows. The whole-run ratio flatters prefrl:
    the true-reward arm's last minutes, run alone, are faster, and its set-up is part of its wall time."""
    if min(len(prefrl_clock), len(true_clock)) < 2:
        return None
    end = min(prefrl_clock[-1, 0], true_clock[-1, 0])
    start = max(min(skip, 0.1 * end), prefrl_clock[0, 0], true_clock[0, 0])
    if end <= start:
        return None
    rate = lambda clock: (steps_at(clock, end) - steps_at(clock, start)) / (end - start)  # noqa: E731
    true_rate = rate(true_clock)
    return (rate(prefrl_clock) / true_rate if true_rate > 0 else float("nan"), start, end)


def arm_clock(job: dict) -> np.ndarray:
    """(seconds, env steps) rows of an arm-run, from its curve.csv (true reward) or progress.csv
    (prefrl), on a clock that starts with the arm-run (`started_at`), beginning at (0, 0)."""
    from prefrl.plotting import curve_source, read_curve

    path, steps_key, _, _ = curve_source(Path(job["out"]) / f"{job['game']}__{job['arm']}__{job['seed']}")
    rows = read_curve(path, {"progress.csv": "charts/wall_seconds", "curve.csv": "wall_seconds"}[path.name], steps_key)
    return np.vstack([np.zeros((1, 2)), rows[np.argsort(rows[:, 0], kind="stable")]])


def side_by_side(results: list[dict]) -> list[tuple[int, tuple | str]]:
    """Per seed with both arms: `span_ratio`'s (ratio, start, end), or why there is none."""
    rows = []
    for seed in sorted({r["seed"] for r in results}):
        arms = {r["arm"]: r for r in results if r["seed"] == seed}
        if len(arms) < 2:
            continue
        pair = arms["prefrl"], arms["true_reward"]
        if any(r.get("resumed") for r in pair):
            rows.append((seed, "an arm-run was resumed"))
        elif (any("started_at" not in r for r in pair)
              or abs(pair[0]["started_at"] - pair[1]["started_at"]) > SIDE_BY_SIDE_S):
            rows.append((seed, "the arms did not run at once"))
        else:  # both clocks from the earlier start
            first = min(r["started_at"] for r in pair)
            clocks = [arm_clock(r) + [r["started_at"] - first, 0.0] for r in pair]
            span = span_ratio(*clocks)
            rows.append((seed, span if span else "too few rows"))
    return rows


def stopped_prefrl_run(arm_dir: Path) -> Path | None:
    """The newest run folder in a prefrl arm folder that wrote a checkpoint, or None."""
    from prefrl.rl.checkpoint import has_checkpoint

    runs = [p for p in Path(arm_dir).glob("*/config.json") if has_checkpoint(p.parent)]
    return max(runs, key=lambda p: p.stat().st_mtime).parent if runs else None


def run_arm(job: dict) -> dict:
    from prefrl.config import TrainConfig
    from prefrl.rl.agent import resolve_device
    from prefrl.rl.baseline import train_true_reward
    from prefrl.rl.checkpoint import checkpoint_state, has_checkpoint
    from prefrl.rl.evaluation import evaluate_checkpoint
    from prefrl.rl.training import resume, train

    env_id = f"prefrl/{job['game']}-v0"
    out = Path(job["out"]) / f"{job['game']}__{job['arm']}__{job['seed']}"
    out.mkdir(parents=True, exist_ok=True)
    going_on = bool(job.get("resume"))  # a resumed benchmark: continue what this arm-run left
    sampler = MemorySampler(out / "memory.csv", append=going_on)
    sampler.start()
    if job["arm"] == "true_reward":
        resumed = going_on and has_checkpoint(out)
        train_true_reward(env_id, job["timesteps"], job["seed"], out, algo=job["algo"],
                          device=resolve_device(job["device"], pixels=True),
                          checkpoint_every=TRUE_ARM_CHECKPOINT_EVERY, resume=going_on)
        checkpoint = out / "checkpoint"
    else:
        config = TrainConfig(env=env_id, labels=job["labels"], timesteps=job["timesteps"], seed=job["seed"],
                             algo=job["algo"], name="bench", runs_dir=str(out), progress=False, device=job["device"],
                             **atari_overrides(job.get("prefrl_flags", "")))
        stopped = stopped_prefrl_run(out) if going_on else None
        resumed = stopped is not None
        if stopped is None:
            run_dir = train(config)
        elif checkpoint_state(stopped)["num_timesteps"] < config.timesteps:
            run_dir = resume(stopped)
        else:  # trained to the end, stopped before its evaluation
            run_dir = stopped
        checkpoint = run_dir / "checkpoint"
        (out / "run_dir.txt").write_text(str(run_dir))
    wall = time.time() - sampler.started  # the arm-run's clock, carried on over a resume
    sampler.stop.set()
    sampler.join()
    settled = None
    if job["arm"] == "prefrl":
        from prefrl.rl.training import plan_run

        settled = fifo_full_at(run_dir / "progress.csv", plan_run(config).label_buffer)
    scores = evaluate_checkpoint(checkpoint, env_id, n_episodes=job["eval_games"], algo=job["algo"])
    return job | {"resumed": resumed, "started_at": sampler.started, "wall_s": wall,
                  "steps_per_s": job["timesteps"] / wall, "score_mean": float(scores.mean()),
                  "score_std": float(scores.std()), **memory_stats(out / "memory.csv", settled_at=settled)}


def atari_overrides(flags: str) -> dict:
    """`prefrl train` flags for the prefrl arm as TrainConfig fields (see bench_mujoco's
    `prefrl_overrides`, which also keeps --device for the benchmark's own flag); --algo too is the
    benchmark's own, as both arms share it."""
    given = prefrl_overrides(flags)
    if "algo" in given:
        raise ValueError("--prefrl-flags: --algo is set by the benchmark's own --algo, for both arms")
    return given


def random_scores(game: str, n_games: int, seed: int) -> np.ndarray:
    from prefrl_envs import AtariStream

    env = AtariStream(game)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    scores = []
    while len(scores) < n_games:
        info = env.step(env.action_space.sample())[-1]
        if info["game_over"]:
            scores.append(info["game_score"])
    env.close()
    return np.array(scores)


def curve(job: dict) -> np.ndarray:
    """(env_steps, score) over the run."""
    from prefrl.plotting import read_true_return

    return read_true_return(Path(job["out"]) / f"{job['game']}__{job['arm']}__{job['seed']}")


def prefrl_run_dir(job: dict) -> Path:
    """The run folder a prefrl arm-run wrote (its arm folder's run_dir.txt names it)."""
    from prefrl.plotting import curve_source

    return curve_source(Path(job["out"]) / f"{job['game']}__prefrl__{job['seed']}")[0].parent


def reward_curves(job: dict) -> dict[str, np.ndarray]:
    """A prefrl arm's reward-model figures over the run, (env_steps, value) each: the accuracy on
    each update's new labels before training on them, and the correlation of predicted with true
    segment returns on recent segments."""
    from prefrl.plotting import read_curve

    return {name: read_curve(prefrl_run_dir(job) / "progress.csv", "charts/env_steps", key)
            for name, key in (("accuracy on new labels", "reward/heldout_accuracy"),
                              ("return correlation", "reward/return_corr"))}


def plot(results: list[dict], random_mean: float, path: Path) -> None:
    from prefrl.plotting import plt, save_figure  # pyplot with the Agg backend set

    fig, (ax, rew, mem) = plt.subplots(1, 3, figsize=(17, 4.5))
    for r in results:
        if r["arm"] == "prefrl":
            for (name, pts), ls in zip(reward_curves(r).items(), ("-", ":")):
                if len(pts):
                    rew.plot(pts[:, 0], pts[:, 1], ls=ls, label=f"{name}, seed {r['seed']}")
        pts = curve(r)
        if len(pts):
            ax.plot(pts[:, 0], pts[:, 1], label=f"{r['arm']} seed {r['seed']}", alpha=0.85)
        rows = np.loadtxt(Path(r["out"]) / f"{r['game']}__{r['arm']}__{r['seed']}" / "memory.csv",
                          delimiter=",", skiprows=1, ndmin=2)
        if len(rows):
            line, = mem.plot(rows[:, 0] / 60, rows[:, 1], label=f"{r['arm']} seed {r['seed']}")
            mem.axvline(r["rss_warmup_s"] / 60, color=line.get_color(), ls=":", lw=1)  # warm-up ends
    ax.axhline(random_mean, color="grey", ls="--", label="random policy")
    ax.set(xlabel="agent steps", ylabel="game score (training games)", title=results[0]["game"])
    mem.set(xlabel="wall minutes", ylabel="resident memory (MiB)",
            title="process memory (dotted: warm-up ends)")
    rew.set(xlabel="agent steps", ylim=(-0.05, 1.05),
            title="prefrl's reward model (new labels: scored before training on them)")
    ax.legend()
    mem.legend()
    if rew.lines:
        rew.legend()
    save_figure(fig, path)


def slope_cell(slopes: list[float]) -> str:
    """The mean of the runs' memory slopes that could be fitted, or why there is none."""
    fitted = [v for v in slopes if not np.isnan(v)]
    return f"{np.mean(fitted):.1f}" if fitted else "n/a (warm-up ended too late)"


def summarise(results: list[dict], random: np.ndarray) -> str:
    lines = [cpu_line(results), "",
             f"random policy: {random.mean():.1f} ± {random.std():.1f} over {len(random)} games", "",
             "| game | arm | seeds | final score (mean ± sd over seeds) | wall s | agent steps/s | "
             "peak RSS MiB | RSS slope after warm-up MiB/h | warm-up s |", "|---|---|---|---|---|---|---|---|---|"]
    by_arm = {}
    for arm in ("true_reward", "prefrl"):
        rows = [r for r in results if r["arm"] == arm]
        if not rows:
            continue
        score = np.array([r["score_mean"] for r in rows])
        sps = np.array([r["steps_per_s"] for r in rows])
        by_arm[arm] = (score.mean(), sps.mean())
        flags = rows[0].get("prefrl_flags", "") if arm == "prefrl" else ""
        name = f"{arm} ({flags})" if flags else arm
        lines.append(f"| {rows[0]['game']} | {name} | {len(rows)} | {score.mean():.1f} ± {score.std():.1f} | "
                     f"{np.mean([r['wall_s'] for r in rows]):.0f} | {sps.mean():.0f} | "
                     f"{max(r['rss_peak_mib'] for r in rows):.0f} | "
                     f"{slope_cell([r['rss_slope_mib_per_h'] for r in rows])} | "
                     f"{np.mean([r['rss_warmup_s'] for r in rows]):.0f} |")
    if any(r.get("resumed") for r in results):
        lines += ["", "resumed after a stop: " + ", ".join(f"{r['arm']} seed {r['seed']}" for r in results
                                                         if r.get("resumed"))
                  + " (its wall seconds and steps/s include the steps redone from its last checkpoint)"]
    if len(by_arm) == 2:
        (sp, vp), (st, vt) = by_arm["prefrl"], by_arm["true_reward"]
        gain = st - random.mean()
        ratio = (sp - random.mean()) / gain if gain else float("nan")
        lines += ["", f"improvement over random, prefrl / true-reward: {ratio:.2f}x; "
                      f"steps/s prefrl / true-reward: {vp / vt:.2f}x over the whole runs"]
        spans = side_by_side(results)
        cells = [f"seed {seed}: " + (f"{span[0]:.3f}x ({span[1]:.0f}-{span[2]:.0f} s)" if isinstance(span, tuple)
                                     else f"n/a ({span})") for seed, span in spans]
        measured = [span[0] for _, span in spans if isinstance(span, tuple)]
        if cells:
            lines += ["", "steps/s prefrl / true-reward over the span both arms ran at once: " + "; ".join(cells)
                      + (f"; mean {np.mean(measured):.3f}x" if len(measured) > 1 else "")]
    return "\n".join(lines)


def prepare_out(out: Path, settings: dict, resume: bool) -> list[dict]:
    """Make `out` ready for the benchmark `settings` (the SETTINGS keys) describe and return the
    finished results to keep. Without `resume`, `out` must hold no arm-runs; with it, the benchmark
    there (its bench.json) must have the same settings. ValueError otherwise."""
    out.mkdir(parents=True, exist_ok=True)
    saved_path = out / "bench.json"
    held = sorted(p.name for p in out.glob("*__*__*") if p.is_dir())
    if not resume and (held or saved_path.exists()):
        raise ValueError(f"{out} already holds a benchmark's arm-runs ({', '.join(held) or 'bench.json'}); "
                         f"pass --resume to continue them, or choose another --out")
    if resume and saved_path.is_file():
        saved = json.loads(saved_path.read_text())
        differ = [f"--{k.replace('_', '-')} {saved.get(k)!r}" for k in SETTINGS if saved.get(k) != settings[k]]
        if differ:
            raise ValueError(f"--resume: the benchmark in {out} ran with {', '.join(differ)}; "
                             f"give the same settings, or choose another --out")
    elif resume and held:
        raise ValueError(f"--resume: {out} holds arm-runs but no bench.json, so their settings are unknown; "
                         f"choose another --out")
    saved_path.write_text(json.dumps({k: settings[k] for k in SETTINGS}, indent=2))
    results_path = out / "results.json"
    return json.loads(results_path.read_text()) if resume and results_path.is_file() else []


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--game", default="Pong", choices=GAMES, help="Atari game (prefrl/<Game>-v0)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds, shared by both arms")
    p.add_argument("--timesteps", type=int, default=1_000_000, help="agent steps per arm-run (4 frames each)")
    p.add_argument("--labels", type=int, default=5000, help="prefrl's label budget")
    p.add_argument("--algo", default="ppo", choices=["ppo", "a2c"], help="RL algorithm for both arms")
    p.add_argument("--device", default="auto",
                   help="torch device of both arms' policies and prefrl's reward model: cpu, cuda or cuda:N; "
                        "auto takes the GPU where torch sees one")
    p.add_argument("--eval-games", type=int, default=20,
                   help="evaluation games per final policy (default 20: a Pong agent trained on the score can "
                        "win some games by 20 and lose others by as much; 5 games gave 2.8 where 20 more gave 10.5)")
    p.add_argument("--arms", nargs="+", default=["true_reward", "prefrl"], choices=["true_reward", "prefrl"],
                   help="which arms to run")
    p.add_argument("--prefrl-flags", default="", metavar="FLAGS",
                   help='extra `prefrl train` flags for the prefrl arm, as one string, e.g. '
                        '"--pretrain-epochs 12 --reward-max-steps 10" (the true-reward arm is unchanged)')
    p.add_argument("--jobs", type=int, default=2, help="arm-runs at once (one process each)")
    p.add_argument("--out", type=Path, default=Path("runs/bench_atari"), help="output folder")
    p.add_argument("--resume", action="store_true",
                   help="continue the benchmark already in --out (same command otherwise): keep its finished "
                        "arm-runs and continue the others from their last checkpoints")
    args = p.parse_args()
    if min(args.timesteps, args.labels, args.jobs, args.eval_games) <= 0:
        print("bench_atari: error: --timesteps, --labels, --jobs and --eval-games must be positive",
              file=sys.stderr)
        return 2
    try:
        atari_overrides(args.prefrl_flags)
        from prefrl.config import TrainConfig
        from prefrl.rl.agent import resolve_device

        TrainConfig(device=args.device).validate()
        resolve_device(args.device, pixels=True)
    except ValueError as exc:
        print(f"bench_atari: error: {exc}", file=sys.stderr)
        return 2
    settings = dict(game=args.game, timesteps=args.timesteps, labels=args.labels, algo=args.algo,
                    eval_games=args.eval_games, prefrl_flags=args.prefrl_flags, device=args.device)
    try:
        finished = prepare_out(args.out, settings, args.resume)
    except ValueError as exc:
        print(f"bench_atari: error: {exc}", file=sys.stderr)
        return 2
    wanted = [(s, a) for s in args.seeds for a in args.arms]
    kept = [r for r in finished if (r["seed"], r["arm"]) in wanted]
    done = {(r["seed"], r["arm"]) for r in kept}
    jobs = [dict(settings, seed=s, arm=a, out=str(args.out), resume=args.resume)
            for s, a in wanted if (s, a) not in done]
    random = random_scores(args.game, args.eval_games * 2, seed=10_000)
    results = run_jobs(run_arm, jobs, args.jobs, args.out, lambda r: (
        f"{r['game']} {r['arm']} seed {r['seed']}: score {r['score_mean']:.1f} "
        f"({r['steps_per_s']:.0f} steps/s, {r['wall_s']:.0f} s, peak RSS {r['rss_peak_mib']:.0f} MiB)"), kept=kept)
    table = summarise(results, random)
    plot(results, float(random.mean()), args.out / "curves.png")
    command = "python scripts/bench_atari.py " + shlex.join(sys.argv[1:])
    (args.out / "results.md").write_text(f"`{command}`\n\n{table}\n\n![curves](curves.png)\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
