"""Learning-curve plots drawn from a run folder's `progress.csv`."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_progress(run_dir: Path) -> dict[str, list[float]]:
    """Columns of progress.csv as floats (NaN where a row has no value)."""
    path = Path(run_dir) / "progress.csv"
    if not path.exists():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list[float]] = {}
    for key in rows[0].keys() if rows else []:
        columns[key] = [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows]
    return columns


def read_curve(csv_path: Path, x_key: str, y_key: str) -> np.ndarray:
    """(x, y) rows of a CSV log where y has a value, as an (N, 2) array (empty if the file is missing):
    e.g. env steps and true return from a run's progress.csv or a baseline's curve.csv."""
    path = Path(csv_path)
    if not path.exists():
        return np.empty((0, 2))
    with path.open() as f:
        pts = [(float(r[x_key]), float(r[y_key])) for r in csv.DictReader(f) if r.get(y_key) not in (None, "")]
    return np.array(pts, dtype=float).reshape(-1, 2)


def plot_learning_curve(run_dir: Path) -> Path | None:
    """Write `learning_curve.png`: true and predicted return against env steps, and labels used."""
    data = read_progress(run_dir)
    if "charts/env_steps" not in data:
        return None
    steps = data["charts/env_steps"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    if "charts/true_return" in data:
        top.plot(steps, data["charts/true_return"], color="tab:blue", label="true return")
    else:
        top.text(0.5, 0.5, "no episode (game) has finished yet", ha="center", va="center",
                 transform=top.transAxes, color="grey")
    top.set_ylabel("true episode return", color="tab:blue")
    if "charts/pred_return" in data:
        twin = top.twinx()
        twin.plot(steps, data["charts/pred_return"], color="tab:orange", alpha=0.8, label="predicted return")
        twin.set_ylabel("predicted episode return (learned r̂)", color="tab:orange")
    top.set_title(Path(run_dir).name, fontsize=9)
    top.grid(alpha=0.3)
    bottom.plot(steps, data.get("charts/labels", [math.nan] * len(steps)), color="tab:green")
    explored = [t for t, e in zip(steps, data.get("explore/state_entropy", [])) if not math.isnan(e)]
    if explored:  # --explore-steps: the agent was paid the state entropy, not the learned reward
        for ax in (top, bottom):
            ax.axvspan(min(steps), max(explored), color="grey", alpha=0.15, lw=0)
        top.text(max(explored), 1.0, " exploration ", ha="right", va="top", fontsize=8, color="dimgrey",
                 transform=top.get_xaxis_transform())
    bottom.set_ylabel("labels")
    bottom.set_xlabel("env steps")
    bottom.grid(alpha=0.3)
    return save_figure(fig, Path(run_dir) / "learning_curve.png")


SAME_RUN_KEYS = ("name", "runs_dir", "progress", "viewer", "viewer_port", "torch_threads", "checkpoint_every")
"""Config fields that do not change what a run learns: left out of comparison legends."""


def curve_source(folder: Path) -> tuple[Path, str, str, dict]:
    """Where a folder keeps its score curve: a prefrl run's progress.csv (also through a benchmark
    arm folder's run_dir.txt, or in the one run folder inside the folder, as bench_mujoco's arm
    folders hold theirs) or a true-reward benchmark arm's curve.csv. Returns (csv path, steps column,
    return column, the run's config or {}); ValueError if the folder has neither."""
    given = folder = Path(folder)
    if (folder / "run_dir.txt").is_file():
        named = Path((folder / "run_dir.txt").read_text().strip())
        # the benchmark wrote the path as seen from where it ran; the run folder sits in the arm folder
        folder = named if named.is_dir() else folder / named.name
    elif not (folder / "progress.csv").is_file() and not (folder / "curve.csv").is_file():
        inner = list(folder.glob("*/progress.csv"))
        folder = inner[0].parent if len(inner) == 1 else folder  # of several runs, none is picked
    if (folder / "progress.csv").is_file():
        config_path = folder / "config.json"
        try:
            config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read {config_path} ({exc})") from None
        return folder / "progress.csv", "charts/env_steps", "charts/true_return", config
    if (folder / "curve.csv").is_file():
        return folder / "curve.csv", "env_steps", "true_return", {}
    raise ValueError(f"{given} has neither progress.csv (a `prefrl train` run) nor curve.csv "
                     f"(a benchmark's true-reward arm)")


def read_true_return(folder: Path) -> np.ndarray:
    """(env steps, true return) rows of the curve `curve_source` finds in `folder`; ValueError where
    it finds none."""
    path, x_key, y_key, _ = curve_source(folder)
    return read_curve(path, x_key, y_key)


def comparison_labels(folders: list[Path], configs: list[dict]) -> list[str]:
    """Legend names: a run's name and seed, plus the config values in which the runs differ
    (true-reward arms, which have no config, by their folder name). A value left null ("default")
    is the default of the prefrl that ran it: config.json records the defaults only from 2026-11-25."""
    keys = sorted({k for c in configs for k in c} - set(SAME_RUN_KEYS) - {"seed"})
    differing = [k for k in keys if len({json.dumps(c.get(k)) for c in configs if c}) > 1]
    labels = []
    for folder, config in zip(folders, configs):
        if not config:
            labels.append(Path(folder).name)
            continue
        diff = ", ".join(f"{k}={'default' if config.get(k) is None else config[k]}" for k in differing)
        labels.append(f"{config.get('name', Path(folder).name)} seed {config.get('seed')}" + (f" ({diff})" if diff else ""))
    return labels


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the window-1 before it (fewer at the start)."""
    if window <= 1 or len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    start = np.maximum(idx - window, 0)
    return (sums[idx] - sums[start]) / (idx - start)


def plot_comparison(folders: list[Path], out: Path, smooth: int = 1) -> Path:
    """Several runs on shared axes: true return against env steps, and where a run has one, its
    reward model's accuracy on each update's new labels. For ablations and seed spreads."""
    sources = [curve_source(f) for f in folders]
    labels = comparison_labels(folders, [s[3] for s in sources])
    try:
        curves = [(read_curve(path, x_key, y_key),
                   read_curve(path, x_key, "reward/heldout_accuracy") if config else np.empty((0, 2)))
                  for path, x_key, y_key, config in sources]
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"cannot read a run's curve ({exc})") from None
    rows = 0.25 * len(folders) + 0.3  # legend height, inches: below the plots, where it hides no curve
    fig = plt.figure(figsize=(14, 4.8 + rows))
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 2], height_ratios=[4.8, rows])
    score, acc, key = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])
    key.axis("off")
    for (pts, heldout), label in zip(curves, labels):
        label += "" if len(pts) else " (no finished episode yet)"
        line, = score.plot(pts[:, 0], trailing_mean(pts[:, 1], smooth), label=label, alpha=0.9)
        if len(heldout):
            acc.plot(heldout[:, 0], trailing_mean(heldout[:, 1], smooth), color=line.get_color(), label=label)
    note = f" (trailing mean of {smooth} logged points)" if smooth > 1 else ""
    score.set(xlabel="env steps", ylabel="true return" + note, title="true return during training")
    acc.set(xlabel="env steps", ylabel="accuracy" + note, ylim=(-0.05, 1.05),
            title="reward model: accuracy on new labels before training on them")
    for ax in (score, acc):
        ax.grid(alpha=0.3)
    key.legend(*score.get_legend_handles_labels(), loc="center", fontsize=9, frameon=False)
    if not acc.lines:
        acc.text(0.5, 0.5, "no prefrl run among these", ha="center", va="center", transform=acc.transAxes)
    return save_figure(fig, out)


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Lay out, write and close a matplotlib figure; returns the path."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)
