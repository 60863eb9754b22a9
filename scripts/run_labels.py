"""A finished run's labels, and its settings with some replaced, for the scripts that refit its reward
model offline (`reward_fit_curve.py`, `replay_label_stream.py`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path


class RunLabelsError(ValueError):
    """The folder is not a run with labels, or the replacement flags are not valid for it."""


def load_run_labels(run_dir: Path, prefrl_flags: str = ""):
    """(config, plan, labels, segments) of the run in `run_dir`: its config with `prefrl_flags`
    (`prefrl train` flags, one string) in place of its own settings, the run plan for that config,
    its answered comparisons in the order they were given (incomparable ones left out) and their
    segments by id."""
    from prefrl.config import ConfigError, TrainConfig
    from prefrl.preferences import Answer, PreferenceStore
    from prefrl.rl.training import plan_run

    from bench_mujoco import prefrl_overrides

    store_path = run_dir / "preferences.sqlite"
    if not (run_dir / "config.json").is_file() or not store_path.is_file():
        raise RunLabelsError(f"{run_dir} has no config.json and preferences.sqlite; give a run folder written by "
                             f"`prefrl train`")
    config = TrainConfig.from_json_file(run_dir / "config.json")
    try:
        config = dataclasses.replace(config, **prefrl_overrides(prefrl_flags))
        plan = plan_run(config)
    except (ValueError, ConfigError) as exc:
        raise RunLabelsError(str(exc)) from None
    with PreferenceStore(store_path) as store:
        labels = [c for c in store.comparisons() if Answer(c.answer).target is not None]
        segments = store.segments({c.left_id for c in labels} | {c.right_id for c in labels})
    return config, plan, labels, segments


def load_or_report(prog: str, run_dir: Path, prefrl_flags: str = ""):
    """`load_run_labels`, or None after printing its error as `prog: error: ...` on stderr (the
    caller then exits 2)."""
    import sys

    try:
        return load_run_labels(run_dir, prefrl_flags)
    except RunLabelsError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return None
