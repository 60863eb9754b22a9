"""Process-wide compute settings shared by prefrl's runs and the true-reward arm: torch's CPU
threads, and how glibc's malloc serves large tensors.

PyTorch's CPU tensors come from malloc. glibc hands out a block above its mmap threshold (which
adapts, but never past 32 MiB) as fresh pages from the kernel and returns them when it is freed.
One training step of the Atari reward CNN allocates and frees several such blocks (its gathered
input frames, 68 MB of uint8, and each member's 45 MB in bfloat16), so every step pays the kernel to
zero and fault in those pages again. Raising the threshold keeps them in malloc's heap, reused from
one step to the next: on this project's CPUs a CNN reward step runs 1.21x faster
(`scripts/bench_reward_cnn.py`, against `--malloc glibc`) and PPO's CNN policy 1.14x (BENCHMARKS.md,
session 17). Blocks above the new threshold (the preallocated label set) are still mapped on their
own.
"""

from __future__ import annotations

import ctypes
import platform

import torch

MMAP_THRESHOLD = 256 * 2**20
"""Blocks up to this size come from malloc's heap (glibc's default: 128 KiB, adapting to at most
32 MiB)."""
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
"""Free memory kept at the heap's top before any of it is returned to the kernel."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def on_glibc() -> bool:
    """Whether this process's C library is glibc on Linux (the malloc that `mallopt` tunes here)."""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def keep_large_blocks(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Serve and keep blocks up to `mmap_threshold` bytes in malloc's heap. True where it was set;
    False off glibc (nothing changes there)."""
    if not on_glibc():
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))


def configure_process(torch_threads: int) -> None:
    """What every training process sets before it builds its models."""
    torch.set_num_threads(torch_threads)
    keep_large_blocks()
