"""Replay a run's labels in the order and batches the run received them, to a fresh reward model
trained another way: which reward training predicts the agent's next labels best?

A run's agent and its reward model shape each other, so two runs with different reward training
differ in everything, and one seed's score says little about the training. Here the labels are
fixed: the run's own stream, the first batch fitted before RL as the run did (`pretrain`), then at
each of the run's updates (read from its progress.csv) the new labels are scored *before* the model
trains on them, as the run's `reward/heldout_accuracy` was, and then trained on as the given
settings say. The figures are about the agent's newest behaviour, which is what the model pays the
agent for next:

- accuracy: the share of decided new labels whose preferred side the members' mean scores higher;
- loss: the Bradley-Terry cross-entropy of the new labels (equal ones included), per member, averaged;
- return correlation: predicted against true return, over the new labels' segments.

    python scripts/replay_label_stream.py RUN_DIR --out runs/replay/default
    python scripts/replay_label_stream.py RUN_DIR --prefrl-flags "--reward-recent-fraction 0" --out runs/replay/rf0 \\
        --compare runs/replay/default

The queries themselves were chosen by the run's own models (their disagreement), so every setting
is scored on the same questions. Writes OUT/replay.csv (a row per update), OUT/summary.json and
OUT/replay_label_stream.png (each figure's running mean against labels received, with the
`--compare` folders' curves beside it).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FIELDS = ("labels", "new_labels", "accuracy", "loss", "return_corr", "l2", "seconds")


def update_boundaries(progress_csv: Path) -> list[int]:
    """The run's label count after each of its reward-model updates (the first: the labels fitted
    before RL), from the `charts/labels` column of its progress.csv."""
    with open(progress_csv, newline="") as f:
        counts = [int(float(row["charts/labels"])) for row in csv.DictReader(f) if row.get("charts/labels")]
    bounds: list[int] = []
    for c in counts:
        if not bounds or c > bounds[-1]:
            bounds.append(c)
    return bounds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="run folder written by `prefrl train` (its preferences.sqlite)")
    p.add_argument("--prefrl-flags", default="", metavar="FLAGS",
                   help='`prefrl train` flags that replace the run\'s own reward-training settings, as one string, '
                        'e.g. "--reward-recent-fraction 0 --reward-max-steps 60"')
    p.add_argument("--updates", type=int, default=None,
                   help="replay only the first this-many online updates (default: all of the run's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and the network")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for replay.csv, summary.json and the plot (default: RUN_DIR/replay_label_stream)")
    p.add_argument("--compare", type=Path, nargs="*", default=[],
                   help="other replays' --out folders, drawn beside this one in the plot")
    args = p.parse_args()
    if args.updates is not None and args.updates < 1:
        print("replay_label_stream: error: --updates must be at least 1", file=sys.stderr)
        return 2
    for other in args.compare:
        if not (other / "replay.csv").is_file():
            print(f"replay_label_stream: error: {other} has no replay.csv; give --out folders of earlier replays",
                  file=sys.stderr)
            return 2

    import torch

    from prefrl.preferences import Answer
    from prefrl.reward.dataset import PreferenceDataset
    from prefrl.reward.ensemble import normalize_output, returns_in_chunks
    from prefrl.reward.trainer import RewardTrainer, decided_accuracy
    from prefrl.rl.compute import configure_process
    from prefrl.rl.learner import normalization_segment_count
    from prefrl.rl.training import make_reward_model, reward_trainer_config

    from run_labels import load_or_report

    loaded = load_or_report("replay_label_stream", args.run_dir, args.prefrl_flags)
    if loaded is None:
        return 2
    config, plan, labels, segments = loaded
    progress = next(args.run_dir.glob("progress.csv"), None)
    bounds = update_boundaries(progress) if progress else []
    bounds = [b for b in bounds if b <= len(labels)]
    if len(bounds) < 2:
        print(f"replay_label_stream: error: {args.run_dir} holds fewer than two reward-model updates' labels "
              f"(its progress.csv and preferences.sqlite); replay a run that ran past its first update",
              file=sys.stderr)
        return 2
    if args.updates is not None:
        bounds = bounds[:args.updates + 1]

    torch.manual_seed(args.seed)
    configure_process(config.torch_threads)
    rng = np.random.default_rng(args.seed)
    model = make_reward_model(plan)
    data = PreferenceDataset(config.ensemble_size, rng, plan.label_buffer)
    trainer = RewardTrainer(model, data, reward_trainer_config(plan), seed=args.seed)
    length = plan.segment_length
    norm_count = normalization_segment_count(plan.defaults.normalization_steps, length)

    def pairs(batch):
        return [(segments[c.left_id], segments[c.right_id]) for c in batch]

    def fit_normalisation(upto: int) -> None:
        """As a run renormalises on recent segments: here the newest labels' segments."""
        ids: list[int] = []
        for c in reversed(labels[:upto]):
            for sid in (c.right_id, c.left_id):
                if sid not in ids:
                    ids.append(sid)
            if len(ids) >= norm_count:
                break
        obs = np.concatenate([segments[i].obs for i in ids[:norm_count]])
        acts = np.concatenate([segments[i].acts for i in ids[:norm_count]]).astype(np.float32)
        model.fit_input_normalization(obs, acts)
        model.fit_output_normalization(obs, acts)

    def raw_returns(ids: list[int]) -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return returns_in_chunks(model, len(ids), lambda sl: (
                torch.as_tensor(np.stack([segments[i].obs for i in ids[sl]])),
                torch.as_tensor(np.stack([segments[i].acts for i in ids[sl]]).astype(np.float32))),
                segments[ids[0]].obs.nbytes, length)

    def score(batch) -> dict[str, float]:
        """The present model's figures on labels it has not trained on."""
        unique = sorted({c.left_id for c in batch} | {c.right_id for c in batch})
        raw = raw_returns(unique)  # (M, U)
        pos = {sid: k for k, sid in enumerate(unique)}
        left = torch.as_tensor([pos[c.left_id] for c in batch])
        right = torch.as_tensor([pos[c.right_id] for c in batch])
        target = torch.as_tensor([Answer(c.answer).target for c in batch], dtype=torch.float32)
        mean = normalize_output(model, raw, length).mean(0)
        acc = decided_accuracy(mean[left], mean[right], target.numpy())
        loss = float(trainer._bt_loss(raw[:, left], raw[:, right], target).mean())
        true = np.array([float(segments[i].true_rewards.sum()) for i in unique])
        pred = mean.numpy()
        corr = float(np.corrcoef(pred, true)[0, 1]) if true.std() > 0 and pred.std() > 0 else float("nan")
        return {"accuracy": float("nan") if acc is None else acc, "loss": loss, "return_corr": corr}

    print(f"{config.env}: replaying {bounds[-1]} labels, {bounds[0]} before RL, then {len(bounds) - 1} updates "
          f"({plan.kind} reward model; settings replaced: {args.prefrl_flags or 'none'})", flush=True)
    started = time.time()
    data.add(pairs(labels[:bounds[0]]), [c.answer for c in labels[:bounds[0]]])
    fit_normalisation(bounds[0])
    trainer.pretrain(plan.pretrain_epochs)
    fit_normalisation(bounds[0])
    rows = []
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]), start=1):
        batch = labels[lo:hi]
        row = {"labels": hi, "new_labels": len(batch), **score(batch)}
        data.add(pairs(batch), [c.answer for c in batch])
        fit_normalisation(hi)
        metrics = trainer.train_round()
        fit_normalisation(hi)
        row.update(l2=metrics.get("reward/l2", float("nan")), seconds=time.time() - started)
        rows.append(row)
        if k % 10 == 0 or k == len(bounds) - 1:
            print(f"update {k}/{len(bounds) - 1}: {hi} labels, accuracy {row['accuracy']:.3f}, loss {row['loss']:.4f}, "
                  f"return corr {row['return_corr']:.3f} ({row['seconds']:.0f} s)", flush=True)

    args.out = args.out or args.run_dir / "replay_label_stream"
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "replay.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    summary = {"run_dir": str(args.run_dir), "prefrl_flags": args.prefrl_flags, "seed": args.seed,
               "updates": len(rows), "labels": bounds[-1], **summarise(rows)}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("| new labels' figure | all updates | second half |")
    print("|---|---:|---:|")
    for name in ("accuracy", "loss", "return_corr"):
        print(f"| {name} | {summary[name]:.4f} | {summary[name + '_second_half']:.4f} |")
    print(f"wrote {plot(rows, args.out, args.compare, config.env)}")
    return 0


def summarise(rows: list[dict]) -> dict[str, float]:
    """Each figure's mean over the updates (accuracy weighted by new labels, as the labels count),
    and over the second half of them."""
    out = {}
    for name in ("accuracy", "loss", "return_corr"):
        for suffix, part in (("", rows), ("_second_half", rows[len(rows) // 2:])):
            values = np.array([r[name] for r in part], dtype=float)
            weights = np.array([r["new_labels"] for r in part], dtype=float)
            ok = ~np.isnan(values)
            out[name + suffix] = float(np.average(values[ok], weights=weights[ok])) if ok.any() else float("nan")
    return out


def read_rows(folder: Path) -> list[dict]:
    with open(folder / "replay.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def plot(rows: list[dict], out: Path, compare: list[Path], env: str) -> Path:
    from prefrl.plotting import plt, save_figure  # pyplot with the Agg backend set

    curves = [(out.name, rows)] + [(c.name, read_rows(c)) for c in compare]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, curve in curves:
        x = np.array([r["labels"] for r in curve])
        for ax, key in zip(axes, ("accuracy", "loss", "return_corr")):
            y = np.array([r[key] for r in curve], dtype=float)
            ax.plot(x, running_mean(y, 10), label=name)
    for ax, title in zip(axes, ("accuracy on new labels", "BT loss on new labels (lower is better)",
                                "correlation, predicted vs true return")):
        ax.set(xlabel="labels received", title=title)
    axes[0].legend()
    fig.suptitle(f"{env}: the run's label stream replayed, each update's new labels scored before training on "
                 f"them (running mean of 10 updates)")
    return save_figure(fig, out / "replay_label_stream.png")


def running_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at each point (fewer at the start), NaNs skipped."""
    out = np.full(len(y), np.nan)
    for i in range(len(y)):
        part = y[max(0, i - window + 1):i + 1]
        if (~np.isnan(part)).any():
            out[i] = np.nanmean(part)
    return out


if __name__ == "__main__":
    sys.exit(main())
