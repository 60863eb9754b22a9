import numpy as np
import pytest
import torch

from prefrl.preferences import PreferenceStore
from prefrl.query.selectors import DisagreementSelector, RandomSelector, preference_variance
from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.ensemble import MLPRewardEnsemble, segment_returns
from prefrl.reward.trainer import RewardTrainer, preference_accuracy
from prefrl.rl.learner import PreferenceLearner
from prefrl.segments import SegmentBuffer
from prefrl.teachers.oracle import SyntheticOracle


def filled_buffer(rng, n=300, length=8):
    buf = SegmentBuffer(n, length, (3,), np.float32, 2, 0)
    for _ in range(n):
        buf.add(rng.normal(size=(length, 3)) * rng.uniform(0.1, 3), rng.uniform(-1, 1, size=(length, 2)),
                np.zeros(length), np.zeros((length, 0)))
    return buf


def buffer_and_model(n: int):
    """A filled buffer of `n` random segments and an untrained 3-member model, both seeded."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    return filled_buffer(rng, n=n), MLPRewardEnsemble(3, 2, n_members=3)


def test_disagreement_picks_pairs_with_higher_member_variance_than_random():
    buf, model = buffer_and_model(300)
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


def test_disagreement_selector_keeps_its_candidates_scores():
    buf, model = buffer_and_model(60)
    selector = DisagreementSelector(model, oversample=4)
    chosen = selector.select(buf, 10, np.random.default_rng(1))
    obs, acts, _ = buf.batch(chosen[:, 1])
    fresh = segment_returns(model, torch.as_tensor(obs), torch.as_tensor(acts))  # (M, 10)
    torch.testing.assert_close(selector.scored.lookup(chosen.T)[:, 1], fresh)
    unscored = np.setdiff1d(np.arange(60), selector.scored.ids)[:1]
    with pytest.raises(KeyError):
        selector.scored.lookup(unscored)


class RecordingSelector(DisagreementSelector):
    def select(self, buffer, n_queries, rng):
        self.chosen = super().select(buffer, n_queries, rng)
        return self.chosen


def test_heldout_accuracy_from_the_selectors_scores_is_the_rescored_one(tmp_path):
    """The learner takes the held-out accuracy of new labels from the disagreement selector's
    scores rather than scoring their segments again: the same figure."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    buf = SegmentBuffer(200, 4, (3,), np.float32, 2, 0)
    for _ in range(200):  # true reward: the first observation component
        obs = rng.normal(size=(4, 3))
        buf.add(obs, rng.normal(size=(4, 2)), obs[:, 0], np.zeros((4, 0)))
    model = MLPRewardEnsemble(3, 2)
    dataset = PreferenceDataset(3, rng)
    selector = RecordingSelector(model, oversample=3)
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        learner = PreferenceLearner(model, buf, 1, selector, SyntheticOracle(), store, dataset,
                                    RewardTrainer(model, dataset), rng)
        learner.ask(40)
        learner.update_reward_model()
        learner.ask(60)
        pairs = [(buf.get(a), buf.get(b)) for a, b in selector.chosen]
        targets = [c.answer.target for c in store.comparisons()[-60:]]
    side = lambda i, key: [getattr(p[i], key) for p in pairs]  # noqa: E731
    rescored = preference_accuracy(model, side(0, "obs"), side(0, "acts"), side(1, "obs"), side(1, "acts"), targets)
    assert 0.6 < rescored < 1.0  # a partly trained model: a figure that can be wrong both ways
    assert learner.metrics["reward/heldout_accuracy"] == pytest.approx(rescored)


def test_event_share_keeps_pairs_holding_a_segment_of_large_predicted_return():
    buf, model = buffer_and_model(200)
    plain = DisagreementSelector(model, oversample=10)
    narrow = DisagreementSelector(model, oversample=10, event_share=0.1)
    chosen_plain = plain.select(buf, 30, np.random.default_rng(1))
    chosen = narrow.select(buf, 30, np.random.default_rng(1))
    # The same candidates were scored; the salient tenth of them by |mean normalised return|:
    from prefrl.reward.ensemble import normalize_output
    strength = normalize_output(model, narrow.scored.returns, buf.length).mean(0).abs().numpy()
    salient = set(narrow.scored.ids[strength >= np.quantile(strength, 0.9) - 1e-12].tolist())
    holds = [bool({int(a), int(b)} & salient) for a, b in chosen]
    assert all(holds)
    assert np.mean([bool({int(a), int(b)} & salient) for a, b in chosen_plain]) < 0.9
    assert (chosen[:, 0] != chosen[:, 1]).all()
    with pytest.raises(ValueError, match="event_share"):
        DisagreementSelector(model, event_share=0.0)
