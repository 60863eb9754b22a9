"""Run folders: `runs/<env>__<name>__<seed>__<time>/` holding everything about one run."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from prefrl.config import ConfigError, TrainConfig


def run_dir_name(config: TrainConfig, stamp: str | None = None) -> str:
    env = config.env.replace("/", "-")
    return f"{env}__{config.name}__{config.seed}__{stamp or time.strftime('%Y%m%d-%H%M%S')}"


def create_run_dir(config: TrainConfig) -> Path:
    """Make a fresh run folder with `config.json`; ConfigError if it cannot be written."""
    base = Path(config.runs_dir)
    path = base / run_dir_name(config)
    try:
        base.mkdir(parents=True, exist_ok=True)
        suffix = 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                path = base / f"{run_dir_name(config)}-{suffix}"
                suffix += 1
        try:
            (path / "config.json").write_text(config.to_json())
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
            raise
    except OSError as exc:
        raise ConfigError(
            f"cannot write a run folder under {str(base)!r} ({exc.strerror or exc}); "
            f"choose a writable --runs-dir") from None
    return path
