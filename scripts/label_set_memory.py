"""Resident memory of the reward model's label set holding Atari-sized segments: labels arrive in
batches, as a run's updates ask them, through the label FIFO, and each batch's segments are dropped
by the caller once added (as a run's are once stored), so what stays resident is the label set's own.

    python scripts/label_set_memory.py --labels 4000 --fifo 3000

Prints the growth of this process's resident memory after the last batch and its peak. A 25-step
segment of 84x84 frames stacked by 4 holds 28 distinct frames (197 KB).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench_atari import rss_mib  # this process's resident memory, as the Atari benchmark samples it


def random_pixel_segment(rng: np.random.Generator, sid: int, length: int = 25, stack: int = 4):
    """A Pong-shaped segment of random pixels, (length, 84, 84, stack) stacks of distinct frames, as
    the env makes them (the label set's cost does not depend on what the frames show)."""
    from prefrl.segments import Segment, stacked_view

    frames = rng.integers(0, 256, (length + stack - 1, 84, 84), dtype=np.uint8)
    return Segment(sid, stacked_view(frames, stack), np.zeros((length, 1), np.float32),
                   np.zeros(length, np.float32), np.zeros((length, 0)))

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", type=int, default=4000, help="labels added in all")
    p.add_argument("--fifo", type=int, default=3000, help="label FIFO size (Atari default 3,000)")
    p.add_argument("--per-update", type=int, default=50, help="labels added per batch")
    args = p.parse_args()
    if min(args.labels, args.fifo, args.per_update) <= 0:
        print("label_set_memory: error: --labels, --fifo and --per-update must be positive", file=sys.stderr)
        return 2

    from prefrl.preferences import Answer
    from prefrl.reward.dataset import PreferenceDataset
    from prefrl.segments import Segment

    rng = np.random.default_rng(0)
    data = PreferenceDataset(3, rng, max_size=args.fifo)
    next_id = iter(range(10**9))

    def segment() -> Segment:
        return random_pixel_segment(rng, next(next_id))

    base, peak, added = rss_mib(), 0.0, 0
    while added < args.labels:
        n = min(args.per_update, args.labels - added)
        data.add([(segment(), segment()) for _ in range(n)], [Answer.LEFT] * n)
        data.tensors()  # what each reward-model update reads
        added += n
        peak = max(peak, rss_mib() - base)
    print(f"{added} labels added, {len(data)} kept ({data.n_segments} segments): label set resident "
          f"{rss_mib() - base:.0f} MiB, peak {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
