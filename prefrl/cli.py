"""`prefrl` command line: train, eval, viewer, plot.

Every `train` flag comes from a `TrainConfig` field and carries that field's help text.
Bad input ends with a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import types
import typing
from pathlib import Path

from prefrl.config import ConfigError, TrainConfig


def _parser_for(field: dataclasses.Field, hint) -> dict:
    kwargs: dict = {"help": field.metadata.get("help", ""), "default": field.default}
    if "choices" in field.metadata:
        kwargs["choices"] = field.metadata["choices"]
    if hint is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
        return kwargs
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else hint
    kwargs["type"] = base
    kwargs["metavar"] = base.__name__.upper()
    if field.default is not None:
        kwargs["help"] += f" (default: {field.default})"
    return kwargs


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        parser.add_argument(flag, dest=field.name, **_parser_for(field, hints[field.name]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prefrl", description="Reinforcement learning from (synthetic or human) preferences.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = sub.add_parser("train", help="train an agent from preferences; writes a run folder",
                           description="Train an SB3 PPO agent on a reward model learned from "
                                       "comparisons of its own trajectory segments.")
    add_config_flags(train)
    train.add_argument("--resume", type=Path, metavar="RUN_DIR", default=None,
                       help="continue a killed or stopped run from its last checkpoint, with its own "
                            "config.json and every label it stored (no other flag may be given)")
    ev = sub.add_parser("eval", help="report a run's saved policy's true return",
                        description="Run the policy saved in RUN_DIR/checkpoint for N episodes on the "
                                    "task's true reward and report the returns.")
    ev.add_argument("run_dir", type=Path, help="run folder written by `prefrl train`")
    ev.add_argument("--episodes", type=int, default=10, help="evaluation episodes (default: 10)")
    ev.add_argument("--seed", type=int, default=10_000, help="env seed for evaluation (default: 10000)")
    ev.add_argument("--max-episode-steps", type=int, default=None, metavar="N",
                    help="cut an episode (an Atari game) off after N agent steps and count what it "
                         "scored so far (default: no cut beyond the env's own)")
    ev.add_argument("--stochastic", action="store_true",
                    help="sample actions (the default on Atari) instead of the greedy/mean action (MuJoCo's default)")
    ev.add_argument("--deterministic", action="store_true", help="greedy/mean actions, also on Atari")
    ev.add_argument("--video", action="store_true",
                    help="also write the first episode to videos/<run>/eval.webm")
    ev.add_argument("--video-seconds", type=float, default=10.0,
                    help="length of the --video clip in simulated seconds (default: 10)")
    ev.add_argument("--videos-dir", type=Path, default=Path("videos"),
                    help="folder for --video clips (default: videos)")
    viewer = sub.add_parser("viewer", help="compare clips of a run's pending queries in the browser",
                            description="Serve the local web viewer for a run: clips side by side, "
                                        "arrow keys to answer. Works on running, stopped and finished runs.")
    viewer.add_argument("run_dir", type=Path, help="run folder written by `prefrl train`")
    viewer.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1); any non-loopback address "
                             "requires an access token, generated unless --token is given")
    viewer.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    viewer.add_argument("--token", default=None, help="access token annotators' links must carry")
    viewer.add_argument("--videos-dir", type=Path, default=Path("videos"),
                        help="folder for rendered clips; this run's go in a subfolder (default: videos)")
    plot = sub.add_parser("plot", help="(re)draw a run folder's learning curve, or compare several runs",
                          description="With one run folder: draw its learning_curve.png from its progress.csv. "
                                      "With several: draw their true-return curves (and reward-model "
                                      "accuracy) on shared axes into --out, each named by the settings "
                                      "in which the runs differ.")
    plot.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR",
                      help="run folders written by `prefrl train`; for a comparison also benchmark arm "
                           "folders (a true-reward arm's curve.csv, or a prefrl arm's folder holding its run)")
    plot.add_argument("--out", type=Path, default=None,
                      help="write a comparison plot here (default with several runs: comparison.png); "
                           "with one run, draws that run in the comparison layout")
    plot.add_argument("--smooth", type=int, default=1, metavar="K",
                      help="comparison plot: trailing mean over K logged points (default: 1, none)")
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    # SIGTERM (e.g. from a job scheduler) ends a run like Ctrl-C: checkpoint, plot, stop the viewer.
    signal.signal(signal.SIGTERM, _interrupt)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            from prefrl.rl.training import resume, train

            config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
            if args.resume is not None:
                changed = [f.name for f in dataclasses.fields(TrainConfig)
                           if getattr(config, f.name) != f.default]
                if changed:
                    flag = "--" + changed[0].replace("_", "-")
                    raise ConfigError(f"--resume continues a run with its own config.json; drop {flag}")
                run_dir = resume(args.resume)
            else:
                run_dir = train(config)
            print(f"run folder: {run_dir}")
        elif args.command == "eval":
            from prefrl.rl.evaluation import evaluate_run

            if args.episodes <= 0 or args.video_seconds <= 0 or (args.max_episode_steps or 1) <= 0:
                raise ConfigError("--episodes, --video-seconds and --max-episode-steps must be positive")
            video = args.videos_dir / args.run_dir.resolve().name / "eval.webm" if args.video else None
            if args.stochastic and args.deterministic:
                raise ConfigError("--stochastic and --deterministic contradict each other; pass one")
            deterministic = True if args.deterministic else False if args.stochastic else None
            returns = evaluate_run(args.run_dir, args.episodes, args.seed, deterministic, video, args.video_seconds,
                                   args.max_episode_steps)
            if video:
                print(f"video: {video}")
            print(f"true return over {len(returns)} episodes: {returns.mean():.1f} ± {returns.std():.1f} "
                  f"(min {returns.min():.1f}, max {returns.max():.1f})")
        elif args.command == "viewer":
            from prefrl.viewer.server import serve

            serve(args.run_dir, args.host, args.port, args.videos_dir, args.token)
        elif args.command == "plot":
            from prefrl.plotting import plot_comparison, plot_learning_curve

            if args.smooth < 1:
                raise ConfigError(f"--smooth must be 1 or more, got {args.smooth}")
            if len(args.run_dirs) > 1 or args.out is not None or args.smooth > 1:
                out = args.out or Path("comparison.png")
                try:
                    print(plot_comparison(args.run_dirs, out, args.smooth))
                except ValueError as exc:
                    raise ConfigError(f"{exc}; pass run folders") from None
                except OSError as exc:
                    raise ConfigError(f"cannot write {out} ({exc.strerror or exc}); choose a writable --out") from None
                return 0
            (run_dir,) = args.run_dirs
            if not (run_dir / "progress.csv").is_file():
                raise ConfigError(f"{run_dir} has no progress.csv; pass a run folder written by `prefrl train`")
            out = plot_learning_curve(run_dir)
            if out is None:
                raise ConfigError(f"{run_dir}/progress.csv has no learning-curve columns yet")
            print(out)
    except ConfigError as exc:
        print(f"prefrl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "train":
            print("prefrl train: interrupted; the checkpoint and labels so far are saved "
                  "(continue with --resume RUN_DIR)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
