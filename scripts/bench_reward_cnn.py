"""Speed of the Atari CNN reward ensemble on this CPU: one training step and scoring a batch of
frames, for the plain float32 modules (pixels scaled, batch norm and dropout run as layers) against
prefrl's paths (batch norm folded into the convolutions when scoring, pixel scaling carried by the
first convolution, and bfloat16 conv layers where the CPU has them).

    python scripts/bench_reward_cnn.py --repeats 5

The variants take turns within each repeat, so a busy machine slows them alike; the table gives the
median seconds and the speed-up over the plain modules. By default the process keeps large blocks in
malloc's heap as prefrl's runs do (`prefrl.rl.compute`); `--malloc glibc` leaves glibc's own rule.
That setting is process-wide, so its two values are compared by alternating invocations.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from prefrl.reward.cnn import CNNRewardEnsemble, resolve_precision
from prefrl.rl.compute import keep_large_blocks


def plain_raw(model: CNNRewardEnsemble, obs: torch.Tensor) -> torch.Tensor:
    """The ensemble as its modules are written: float pixels in [0, 1], every layer run (dropout
    inactive in eval mode). Frames (B, H, W, C), or (M, B, H, W, C) one batch per member."""
    per_member = obs.dim() == 5
    features = []
    for m, conv in enumerate(model.convs):
        frames = obs[m] if per_member else obs
        features.append(conv(frames.permute(0, 3, 1, 2).float().div_(255.0)).flatten(1))
    return model.head(torch.stack(features)).squeeze(-1)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=3, help="ensemble members")
    p.add_argument("--pairs", type=int, default=16, help="comparisons per member per training step (Atari default)")
    p.add_argument("--segment-length", type=int, default=25, help="steps per segment (Atari default)")
    p.add_argument("--score-frames", type=int, default=1024, help="frames scored at once (one PPO rollout)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per variant (after one warm-up)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (runs use 1)")
    p.add_argument("--malloc", choices=("prefrl", "glibc"), default="prefrl",
                   help="prefrl: large blocks kept in malloc's heap, as in prefrl's runs; glibc: its default")
    args = p.parse_args()
    if min(args.members, args.pairs, args.segment_length, args.score_frames, args.repeats, args.threads) <= 0:
        print("bench_reward_cnn: error: every count must be positive", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    if args.malloc == "prefrl" and not keep_large_blocks():
        print("bench_reward_cnn: note: not glibc, --malloc prefrl changes nothing here", file=sys.stderr)
    torch.manual_seed(0)
    train_frames = torch.randint(0, 256, (args.members, 2 * args.pairs * args.segment_length, 84, 84, 4),
                                 dtype=torch.uint8)
    score_frames = torch.randint(0, 256, (args.score_frames, 84, 84, 4), dtype=torch.uint8)
    native = resolve_precision("auto")
    variants = {"plain float32 modules": ("float32", True), "prefrl, float32": ("float32", False)}
    if native == "bfloat16":
        variants["prefrl, bfloat16"] = ("bfloat16", False)
    models = {}
    for name, (precision, _) in variants.items():
        torch.manual_seed(0)
        models[name] = CNNRewardEnsemble(args.members, precision=precision)

    def train_step(name: str) -> None:
        model, plain = models[name], variants[name][1]
        model.train()
        raw = plain_raw(model, train_frames) if plain else model.raw(train_frames)
        model.zero_grad(set_to_none=True)
        raw.pow(2).mean().backward()

    @torch.inference_mode()
    def score(name: str) -> None:
        model, plain = models[name], variants[name][1]
        model.eval()
        plain_raw(model, score_frames) if plain else model.raw(score_frames)

    times = {(name, task): [] for name in variants for task in ("train", "score")}
    for repeat in range(args.repeats + 1):
        for name in variants:
            for task, fn in (("train", train_step), ("score", score)):
                seconds = timed(lambda: fn(name))
                if repeat:  # the first round warms up allocators and kernels
                    times[name, task].append(seconds)
    base = {task: statistics.median(times["plain float32 modules", task]) for task in ("train", "score")}
    print(f"CPU bfloat16: {'native' if native == 'bfloat16' else 'not native (bfloat16 variant skipped)'}; "
          f"{args.members} members, training step {2 * args.pairs} segments x {args.segment_length} frames per "
          f"member, scoring {args.score_frames} frames; median of {args.repeats}; malloc: {args.malloc}")
    print("| variant | training step s | speed-up | scoring s | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for name in variants:
        train, scoring = (statistics.median(times[name, task]) for task in ("train", "score"))
        print(f"| {name} | {train:.3f} | {base['train'] / train:.2f}x "
              f"| {scoring:.3f} | {base['score'] / scoring:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
