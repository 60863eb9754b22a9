"""Seconds per online reward-model update on Atari, as a run does it: the CNN ensemble trained on a
full label set of Pong-shaped segments, stored as prefrl stores them (each segment's distinct
frames, read through stacked views), with the Atari defaults (30 gradient steps of 16 comparisons
per member, each on every 4th step of its segments, then the losses on 64 comparisons).

    python scripts/bench_reward_update.py --labels 3000 --repeats 5

Frames are random pixels: the cost does not depend on what they show. To compare two checkouts,
run this script from each in turn (e.g. `PYTHONPATH=<other checkout>`), alternating, on an otherwise
idle machine; it prints which `prefrl` it imported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import prefrl
from prefrl.preferences import Answer
from prefrl.reward.cnn import CNNRewardEnsemble
from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.trainer import RewardTrainer, RewardTrainerConfig
from prefrl.rl.compute import configure_process
from prefrl.rl.defaults import ATARI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_set_memory import random_pixel_segment  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", type=int, default=ATARI.label_buffer,
                   help="labels in the set (Atari's FIFO holds 3,000)")
    p.add_argument("--segment-length", type=int, default=25, help="steps per segment (Atari default)")
    p.add_argument("--members", type=int, default=3, help="ensemble members")
    p.add_argument("--repeats", type=int, default=5, help="timed updates (after one warm-up)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (runs use 1)")
    args = p.parse_args()
    if min(args.labels, args.segment_length, args.members, args.repeats, args.threads) <= 0:
        print("bench_reward_update: error: every count must be positive", file=sys.stderr)
        return 2
    configure_process(args.threads)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    segments = [random_pixel_segment(rng, i, args.segment_length) for i in range(2 * args.labels)]
    dataset = PreferenceDataset(args.members, rng, max_size=args.labels)
    dataset.add([(segments[2 * i], segments[2 * i + 1]) for i in range(args.labels)],
                [Answer.LEFT if i % 2 else Answer.RIGHT for i in range(args.labels)])
    del segments  # the label set holds its own copy of the frames
    model = CNNRewardEnsemble(args.members, dropout=ATARI.reward_conv_dropout or 0.0)
    trainer = RewardTrainer(model, dataset, RewardTrainerConfig(
        batch_size=ATARI.reward_batch_size, max_steps=ATARI.reward_max_steps, eval_comparisons=ATARI.eval_comparisons,
        recent_fraction=ATARI.reward_recent_fraction, frame_stride=ATARI.reward_frame_stride), seed=0)
    seconds = []
    for repeat in range(args.repeats + 1):
        started = time.perf_counter()
        trainer.train_round(steps=ATARI.reward_max_steps)
        if repeat:  # the first update warms up allocators and kernels
            seconds.append(time.perf_counter() - started)
    print(f"prefrl from {prefrl.__file__}; {args.labels} labels of {args.segment_length}-step segments, "
          f"{args.members} members, {args.threads} thread(s)")
    print(f"one update ({ATARI.reward_max_steps} steps): median {statistics.median(seconds):.3f} s "
          f"(min {min(seconds):.3f}, max {max(seconds):.3f}, {args.repeats} repeats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
