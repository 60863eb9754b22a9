"""The process setting that keeps large tensors' memory in malloc's heap (`prefrl.rl.compute`)."""

import subprocess
import sys

import pytest

from prefrl.rl.compute import on_glibc

PROBE = """
import resource, torch
from prefrl.rl.compute import keep_large_blocks

def faults(repeats):  # page faults of each of `repeats` 64 MiB tensors, allocated, touched, freed
    counts = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        torch.ones(16 * 2**20).sum()
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return counts

default = faults(4)
kept = keep_large_blocks()
print(min(default), kept, max(faults(12)[-4:]))  # the heap takes a few rounds to settle
"""


@pytest.mark.skipif(not on_glibc(), reason="a glibc setting")
def test_a_repeated_large_tensor_stops_faulting_in_fresh_pages():
    # In a process of its own: the setting is process-wide and would outlive this test.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    default, kept, settled = out.split()
    page = 4096
    assert int(default) >= 0.9 * 64 * 2**20 / page  # glibc maps a 64 MiB block afresh every time
    assert kept == "True"
    assert int(settled) < 100  # kept: the block's pages are reused, not faulted in again
