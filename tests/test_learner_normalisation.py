"""Which segments the reward's output normalisation is fitted on: recent ones, or a fixed sample
of the random initial policy's (`--reward-norm-data initial`)."""

import numpy as np
import pytest
import torch

from prefrl.preferences import PreferenceStore
from prefrl.query.selectors import RandomSelector
from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.ensemble import MLPRewardEnsemble
from prefrl.reward.trainer import RewardTrainer
from prefrl.rl.learner import PreferenceLearner
from prefrl.segments import SegmentBuffer
from prefrl.teachers.oracle import SyntheticOracle


def add_segments(buffer, rng, n, shift):
    """Segments whose true reward is their first observation component."""
    for _ in range(n):
        obs = rng.normal(size=(4, 3)) + shift
        buffer.add(obs, rng.normal(size=(4, 2)), obs[:, 0], np.zeros((4, 0)))


def run_two_updates(store, data):
    """First update on segments around 0, the second after the buffer holds only shifted ones."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    buffer = SegmentBuffer(30, 4, (3,), np.float32, 2, 0)
    add_segments(buffer, rng, 30, shift=0.0)
    model = MLPRewardEnsemble(3, 2)
    dataset = PreferenceDataset(3, rng)
    learner = PreferenceLearner(model, buffer, 1, RandomSelector(), SyntheticOracle(), store, dataset,
                                RewardTrainer(model, dataset), rng, normalization_data=data)
    learner.ask(20)
    learner.update_reward_model()
    first = buffer.batch(buffer.live_ids())
    add_segments(buffer, rng, 30, shift=3.0)  # every earlier segment is evicted
    learner.ask(20)
    learner.update_reward_model()
    return learner, first, buffer.batch(buffer.live_ids())


def member_means(model, obs, acts):
    with torch.no_grad():
        rewards = model(torch.as_tensor(obs.reshape(-1, 3)), torch.as_tensor(acts.reshape(-1, 2)))
    return rewards.mean(1).numpy(), rewards.std(1).numpy()


@pytest.mark.parametrize("data", ["recent", "initial"])
def test_output_normalisation_is_fitted_on_the_chosen_segments(tmp_path, data):
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        learner, (first_obs, first_acts, _), (new_obs, new_acts, new_true) = run_two_updates(store, data)
    fitted_on, other = ((new_obs, new_acts), (first_obs, first_acts)) if data == "recent" else \
        ((first_obs, first_acts), (new_obs, new_acts))
    mean, std = member_means(learner.model, *fitted_on)
    np.testing.assert_allclose(mean, 0.0, atol=1e-4)
    np.testing.assert_allclose(std, 1.0, atol=1e-3)
    # the model learned that the shifted segments are better, so the two samples' means differ
    other_mean, _ = member_means(learner.model, *other)
    assert np.all(np.abs(other_mean) > 0.5)
    # the correlation of predicted with true return is over the recent sample (all 30 live segments) either way
    with torch.no_grad():
        predicted = learner.model(torch.as_tensor(new_obs.reshape(-1, 3)), torch.as_tensor(new_acts.reshape(-1, 2)))
    predicted = predicted.mean(0).view(30, 4).sum(1).numpy()
    np.testing.assert_allclose(learner.metrics["reward/return_corr"], np.corrcoef(predicted, new_true.sum(1))[0, 1],
                               rtol=1e-5)
    if data == "initial":
        ref_obs, ref_acts = learner.reference
        np.testing.assert_array_equal(ref_obs, first_obs.reshape(-1, 3))  # sampled once, kept
    else:
        assert learner.reference is None


def test_unknown_normalisation_data_is_refused(tmp_path):
    with PreferenceStore(tmp_path / "p.sqlite") as store, pytest.raises(ValueError, match="normalization_data"):
        PreferenceLearner(MLPRewardEnsemble(3, 2), SegmentBuffer(4, 4, (3,), np.float32, 2, 0), 1, RandomSelector(),
                          SyntheticOracle(), store, PreferenceDataset(3, np.random.default_rng(0)),
                          None, np.random.default_rng(0), normalization_data="fixed")
