import numpy as np
import torch

from prefrl.query.selectors import DisagreementSelector, RandomSelector, preference_variance
from prefrl.reward.ensemble import MLPRewardEnsemble
from prefrl.segments import SegmentBuffer


def filled_buffer(rng, n=300, length=8):
    buf = SegmentBuffer(n, length, (3,), np.float32, 2, 0)
    for _ in range(n):
        buf.add(rng.normal(size=(length, 3)) * rng.uniform(0.1, 3), rng.uniform(-1, 1, size=(length, 2)),
                np.zeros(length), np.zeros((length, 0)))
    return buf


def test_disagreement_picks_pairs_with_higher_member_variance_than_random():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    buf = filled_buffer(rng)
    model = MLPRewardEnsemble(3, 2, n_members=3)
    chosen = DisagreementSelector(model, oversample=10).select(buf, 50, np.random.default_rng(1))
    random = RandomSelector().select(buf, 50, np.random.default_rng(1))
    assert chosen.shape == random.shape == (50, 2)
    assert (chosen[:, 0] != chosen[:, 1]).all()
    v_chosen = preference_variance(model, buf, chosen).mean()
    v_random = preference_variance(model, buf, random).mean()
    assert v_chosen > 1.5 * v_random


def test_selected_ids_are_live_segments():
    rng = np.random.default_rng(0)
    buf = SegmentBuffer(10, 4, (3,), np.float32, 2, 0)
    for _ in range(25):  # wraps around: only ids 15..24 are live
        buf.add(np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(4), np.zeros((4, 0)))
    pairs = RandomSelector().select(buf, 100, rng)
    assert pairs.min() >= 15 and pairs.max() <= 24


def test_queries_come_from_the_most_recent_segments_only():
    rng = np.random.default_rng(0)
    buf = filled_buffer(rng, n=300)
    model = MLPRewardEnsemble(3, 2, n_members=3)
    for selector in (RandomSelector(recent=40), DisagreementSelector(model, oversample=5, recent=40)):
        pairs = selector.select(buf, 30, np.random.default_rng(1))
        assert pairs.min() >= 260 and pairs.max() <= 299
        assert (pairs[:, 0] != pairs[:, 1]).all()
