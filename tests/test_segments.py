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


def reference_observe(state, buf, obs, acts, rews, dones, states):
    """The step-by-step rule `observe_block` must reproduce: write each env's step at its position;
    a full segment goes to the buffer (in env order); a full segment or an episode end restarts."""
    part, pos = state
    for e in range(len(dones)):
        for arr, value in zip(part, (obs[e], acts[e], rews[e], states[e])):
            arr[e, pos[e]] = value
    pos += 1
    full = pos == buf.length
    for e in np.flatnonzero(full):
        buf.add(*(arr[e].copy() for arr in part))
    pos[full | dones] = 0


@pytest.mark.parametrize("length,steps,block", [(3, 40, 7), (5, 64, 64), (4, 30, 1), (6, 50, 13)])
def test_collecting_a_block_of_steps_equals_collecting_them_one_by_one(length, steps, block):
    rng = np.random.default_rng(length * steps + block)
    n = 3
    obs = rng.normal(size=(steps, n, 2)).astype(np.float32)
    acts = rng.normal(size=(steps, n, 1)).astype(np.float32)
    rews = rng.normal(size=(steps, n)).astype(np.float32)
    dones = rng.random((steps, n)) < 0.08
    states = rng.normal(size=(steps, n, 2))
    expected = make_buffer(capacity=200, length=length)
    part = [np.zeros((n, length, 2), np.float32), np.zeros((n, length, 1), np.float32),
            np.zeros((n, length), np.float32), np.zeros((n, length, 2))]
    state = (part, np.zeros(n, dtype=np.int64))
    for t in range(steps):
        reference_observe(state, expected, obs[t], acts[t], rews[t], dones[t], states[t])
    got = make_buffer(capacity=200, length=length)
    col = SegmentCollector(got, n_envs=n)
    added = sum(col.observe_block(obs[t:t + block], acts[t:t + block], rews[t:t + block], dones[t:t + block],
                                  states[t:t + block]) for t in range(0, steps, block))
    assert added == len(expected) > 5
    assert list(got.live_ids()) == list(expected.live_ids())
    for sid in expected.live_ids():
        a, b = expected.get(sid), got.get(sid)
        for field in ("obs", "acts", "true_rewards", "render_states"):
            np.testing.assert_array_equal(getattr(b, field), getattr(a, field))
