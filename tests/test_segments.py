import numpy as np
import pytest

from prefrl.segments import SegmentBuffer, SegmentCollector


def make_buffer(capacity=4, length=3, state_dim=2):
    return SegmentBuffer(capacity, length, (2,), np.float32, 1, state_dim)


def test_buffer_keeps_most_recent_and_never_grows():
    buf = make_buffer(capacity=4)
    nbytes = buf.nbytes
    for i in range(10):
        buf.add(np.full((3, 2), i), np.zeros((3, 1)), np.full(3, i), np.zeros((3, 2)))
    assert buf.nbytes == nbytes
    assert len(buf) == 4
    assert list(buf.live_ids()) == [6, 7, 8, 9]
    assert buf.get(9).true_return == 27.0
    with pytest.raises(KeyError):
        buf.get(5)
    with pytest.raises(KeyError):
        buf.get(10)


def test_collector_cuts_fixed_segments_and_drops_partial_at_episode_end():
    buf = make_buffer(capacity=100, length=3)
    col = SegmentCollector(buf, n_envs=2)
    # env 0 runs 7 steps without ending: 2 segments; env 1 ends its episode after step 4.
    for t in range(7):
        obs = np.array([[t, 0], [t, 1]], dtype=np.float32)
        dones = np.array([False, t == 4])
        col.observe(obs, np.zeros((2, 1)), np.array([1.0, 2.0]), dones, np.zeros((2, 2)))
    segments = [buf.get(i) for i in buf.live_ids()]
    env0 = [s for s in segments if s.obs[0, 1] == 0]
    env1 = [s for s in segments if s.obs[0, 1] == 1]
    assert [list(s.obs[:, 0]) for s in env0] == [[0, 1, 2], [3, 4, 5]]
    # env 1: steps 0-2 complete; 3-4 dropped at the episode end; 5-6 still partial.
    assert [list(s.obs[:, 0]) for s in env1] == [[0, 1, 2]]
    assert all(s.length == 3 for s in segments)
