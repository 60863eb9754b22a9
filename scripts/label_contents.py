"""What a run's teacher was shown: for each block of its labels in the order they were given, the
share answered "equal", the share of pairs in which neither segment holds a reward event (a step
whose true reward is nonzero: in Pong a point won or lost), and the events won and lost per pair.

On a sparse-reward game, a pair with no event can only be answered "equal", and a model taught by
pairs that hold lost points but few won ones learns what loses far better than what wins.

    python scripts/label_contents.py runs/prefrl-Pong-v0__... --block 500

Reads the run's preferences.sqlite (the segments' true rewards are stored with them) and, for the
agent step at which each block was complete, its progress.csv. Prints a markdown table and writes
`label_contents.csv` and `label_contents.png` into `--out` (default: the run folder).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

COLUMNS = ("first", "last", "agent_steps", "equal", "no_event", "won_per_pair", "lost_per_pair")


def block_contents(targets: np.ndarray, left: list[np.ndarray], right: list[np.ndarray], block: int) -> list[dict]:
    """One row per block of `block` labels (the last may be shorter): targets (n,) are the answers
    (1 left, 0 right, 0.5 equal); left/right the pairs' per-step true rewards."""
    won = np.array([(l > 0).sum() + (r > 0).sum() for l, r in zip(left, right)])
    lost = np.array([(l < 0).sum() + (r < 0).sum() for l, r in zip(left, right)])
    rows = []
    for start in range(0, len(targets), block):
        sl = slice(start, min(start + block, len(targets)))
        rows.append({"first": start + 1, "last": sl.stop, "equal": float(np.mean(targets[sl] == 0.5)),
                     "no_event": float(np.mean(won[sl] + lost[sl] == 0)),
                     "won_per_pair": float(won[sl].mean()), "lost_per_pair": float(lost[sl].mean())})
    return rows


def steps_at_labels(progress: Path, counts: list[int]) -> list[float]:
    """The first logged agent step at which the run held at least each of `counts` labels (NaN if never)."""
    with open(progress, newline="") as f:
        logged = [(float(r["charts/labels"]), float(r["charts/env_steps"])) for r in csv.DictReader(f)
                  if r.get("charts/labels") and r.get("charts/env_steps")]
    return [next((steps for labels, steps in logged if labels >= n), float("nan")) for n in counts]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="a run folder written by `prefrl train`")
    p.add_argument("--block", type=int, default=500, help="labels per row, in the order they were given")
    p.add_argument("--out", type=Path, default=None, help="folder for the CSV and the plot (default: the run folder)")
    args = p.parse_args()
    if args.block < 1:
        print("label_contents: error: --block must be at least 1", file=sys.stderr)
        return 2
    from prefrl.preferences import Answer
    from run_labels import load_or_report

    loaded = load_or_report("label_contents", args.run_dir)
    if loaded is None:
        return 2
    config, _, labels, segments = loaded
    if not labels:
        print(f"label_contents: error: {args.run_dir} holds no answered comparisons yet", file=sys.stderr)
        return 2
    targets = np.array([Answer(c.answer).target for c in labels])
    rows = block_contents(targets, [segments[c.left_id].true_rewards for c in labels],
                          [segments[c.right_id].true_rewards for c in labels], args.block)
    progress = args.run_dir / "progress.csv"
    steps = steps_at_labels(progress, [r["last"] for r in rows]) if progress.is_file() else [float("nan")] * len(rows)
    for row, s in zip(rows, steps):
        row["agent_steps"] = s
    out = args.out or args.run_dir
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "label_contents.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{config.env}: {len(labels)} answered labels, in blocks of {args.block}\n")
    print("| labels | complete at agent step | equal | pairs with no event | events won / pair | lost / pair |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        at = "" if np.isnan(r["agent_steps"]) else f"{r['agent_steps']:,.0f}"
        print(f"| {r['first']}-{r['last']} | {at} | {r['equal']:.2f} | {r['no_event']:.2f} | "
              f"{r['won_per_pair']:.2f} | {r['lost_per_pair']:.2f} |")
    print(f"\nwrote {plot(rows, out, config.env)}")
    return 0


def plot(rows: list[dict], out: Path, env: str) -> Path:
    from prefrl.plotting import plt, save_figure  # pyplot with the Agg backend set

    x = [r["last"] for r in rows]
    fig, (shares, events) = plt.subplots(1, 2, figsize=(11, 4))
    shares.plot(x, [r["equal"] for r in rows], marker="o", label='answered "equal"')
    shares.plot(x, [r["no_event"] for r in rows], marker="o", label="no event in either segment")
    shares.set(xlabel="labels given", ylabel="share of the block's pairs", ylim=(0, 1), title="uninformative pairs")
    shares.legend()
    events.plot(x, [r["won_per_pair"] for r in rows], marker="o", label="won (true reward > 0)")
    events.plot(x, [r["lost_per_pair"] for r in rows], marker="o", label="lost (true reward < 0)")
    events.set(xlabel="labels given", ylabel="steps per pair", title="reward events in the pairs shown")
    events.legend()
    fig.suptitle(f"{env}: what the teacher was shown, per block of labels")
    return save_figure(fig, out / "label_contents.png")


if __name__ == "__main__":
    sys.exit(main())
