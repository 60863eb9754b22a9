"""Learning-curve plots drawn from a run folder's `progress.csv`."""

from __future__ import annotations

import csv
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
    bottom.set_ylabel("labels")
    bottom.set_xlabel("env steps")
    bottom.grid(alpha=0.3)
    return save_figure(fig, Path(run_dir) / "learning_curve.png")


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Lay out, write and close a matplotlib figure; returns the path."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)
