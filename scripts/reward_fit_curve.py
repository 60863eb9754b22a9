"""Held-out label accuracy of a fresh reward model as its gradient steps grow, on a run's own labels:
how much reward-model training those labels can use.

Splits the run's labels at random into training and test sets (`--test-fraction`), trains a new
ensemble of the run's kind and settings (bootstrap, adaptive L2, batch size, learning rate) on the
training labels, and after each of `--steps` (cumulative gradient steps) reports the share of
decided test labels whose preferred side the ensemble mean scores higher, with the same figure on
training labels beside it. A run's own model got about the sum of its `reward/train_steps` over its
updates; where the curve still climbs past that, more reward training would have paid.

    python scripts/reward_fit_curve.py runs/prefrl-Pong-v0__... --steps 0 50 100 200 400 800
    python scripts/reward_fit_curve.py RUN_DIR --prefrl-flags "--reward-conv-dropout 0"   # another setting

Writes the table and `reward_fit_curve.png` into `--out` (default: the run folder).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="run folder written by `prefrl train` (its preferences.sqlite)")
    p.add_argument("--steps", nargs="+", type=int, default=[0, 50, 100, 200, 400],
                   help="cumulative gradient steps after which to measure")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of the labels held out for testing")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the bootstrap and the network")
    p.add_argument("--out", type=Path, default=None, help="folder for the table and plot (default: the run folder)")
    p.add_argument("--prefrl-flags", default="", metavar="FLAGS",
                   help='`prefrl train` flags that replace the run\'s own settings for the fresh model, as one '
                        'string, e.g. "--reward-conv-dropout 0 --reward-frame-stride 4"')
    args = p.parse_args()
    if min(args.steps) < 0 or not 0.0 < args.test_fraction < 1.0:
        print("reward_fit_curve: error: --steps must be 0 or more and --test-fraction within (0, 1)", file=sys.stderr)
        return 2

    import torch

    from prefrl.preferences import Answer
    from prefrl.reward.dataset import PreferenceDataset
    from prefrl.reward.trainer import RewardTrainer, preference_accuracy
    from prefrl.rl.compute import configure_process
    from prefrl.rl.learner import normalization_segment_count
    from prefrl.rl.training import make_reward_model, reward_trainer_config

    from run_labels import load_or_report

    loaded = load_or_report("reward_fit_curve", args.run_dir, args.prefrl_flags)
    if loaded is None:
        return 2
    config, plan, labels, segments = loaded
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(labels))
    n_test = int(round(args.test_fraction * len(labels)))
    if n_test < 1 or n_test >= len(labels):
        print(f"reward_fit_curve: error: {len(labels)} labels cannot be split with --test-fraction "
              f"{args.test_fraction}; the run needs more labels", file=sys.stderr)
        return 2
    test = [labels[i] for i in order[:n_test]]
    train = [labels[i] for i in order[n_test:]]
    torch.manual_seed(args.seed)
    configure_process(config.torch_threads)
    model = make_reward_model(plan)
    data = PreferenceDataset(config.ensemble_size, rng)
    data.add([(segments[c.left_id], segments[c.right_id]) for c in train], [c.answer for c in train])
    defaults = plan.defaults
    trainer = RewardTrainer(model, data, reward_trainer_config(plan), seed=args.seed)
    # normalisation data, as a run fits it: a sample of the training segments' steps
    ids = sorted({c.left_id for c in train} | {c.right_id for c in train})
    count = normalization_segment_count(defaults.normalization_steps, plan.segment_length)
    sample = rng.choice(ids, min(len(ids), count), replace=False)
    norm_obs = np.concatenate([segments[i].obs for i in sample])
    norm_acts = np.concatenate([segments[i].acts for i in sample]).astype(np.float32)
    model.fit_input_normalization(norm_obs, norm_acts)

    def accuracy(comparisons) -> float:
        model.fit_output_normalization(norm_obs, norm_acts)
        model.eval()
        side = lambda key, attr: [getattr(segments[getattr(c, key)], attr) for c in comparisons]  # noqa: E731
        acc = preference_accuracy(model, side("left_id", "obs"), side("left_id", "acts"), side("right_id", "obs"),
                                  side("right_id", "acts"), [Answer(c.answer).target for c in comparisons])
        return float("nan") if acc is None else acc

    train_probe = [train[i] for i in rng.choice(len(train), min(len(train), n_test), replace=False)]
    print(f"{config.env}: {len(train)} training labels, {n_test} test labels "
          f"({plan.kind} reward model, {config.ensemble_size} members, batch {trainer.config.batch_size})")
    if args.prefrl_flags:
        print(f"settings replaced: {args.prefrl_flags}")
    print("| gradient steps | training-label accuracy | test-label accuracy | training loss | seconds |")
    print("|---:|---:|---:|---:|---:|")
    rows, done, started, loss = [], 0, time.time(), float("nan")
    for target in sorted(set(args.steps)):
        if target > done:
            loss = trainer.train_round(steps=target - done).get("reward/train_loss", float("nan"))
            done = target
        rows.append((target, accuracy(train_probe), accuracy(test), loss, time.time() - started))
        print("| {} | {:.3f} | {:.3f} | {:.4f} | {:.0f} |".format(*rows[-1]), flush=True)

    out = args.out or args.run_dir
    out.mkdir(parents=True, exist_ok=True)
    from prefrl.plotting import plt, save_figure  # pyplot with the Agg backend set

    table = np.array(rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(table[:, 0], table[:, 1], "o-", label="training labels")
    ax.plot(table[:, 0], table[:, 2], "o-", label="held-out labels")
    ax.axhline(0.5, color="grey", ls="--", lw=0.8)
    ax.set(xlabel="reward-model gradient steps", ylabel="accuracy (preferred side scored higher)",
           title=f"{config.env}: {len(train)} labels to train on")
    ax.legend()
    print(f"wrote {save_figure(fig, out / 'reward_fit_curve.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
