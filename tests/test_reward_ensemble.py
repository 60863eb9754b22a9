import numpy as np
import pytest
import torch

from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.ensemble import MLPRewardEnsemble, segment_returns
from prefrl.reward.trainer import RewardTrainer, RewardTrainerConfig, preference_accuracy, strided_returns
from prefrl.segments import Segment
from prefrl.teachers.oracle import SyntheticOracle

OBS, ACT, L = 4, 2, 10


def true_reward(obs, acts):
    """A known nonlinear reward of (obs, action)."""
    return np.sin(2 * obs[..., 0]) + obs[..., 1] * obs[..., 2] - 0.5 * acts[..., 0] ** 2 + np.abs(obs[..., 3])


def random_segments(rng, n, start_id=0):
    segs = []
    for i in range(n):
        # a random walk, so segments differ in the states they visit as real rollouts do
        obs = np.cumsum(rng.normal(0, 0.3, size=(L, OBS)), axis=0) + rng.normal(0, 1, size=OBS)
        acts = rng.uniform(-1, 1, size=(L, ACT))
        segs.append(Segment(start_id + i, obs.astype(np.float32), acts.astype(np.float32),
                            true_reward(obs, acts).astype(np.float32), np.zeros((L, 0))))
    return segs


def pairs_of(segs, rng, n):
    idx = rng.integers(0, len(segs), size=(n, 2))
    idx = idx[idx[:, 0] != idx[:, 1]]
    return [(segs[a], segs[b]) for a, b in idx]


def test_ensemble_output_shapes_and_per_member_inputs():
    model = MLPRewardEnsemble(OBS, ACT, n_members=3)
    assert model(torch.zeros(5, OBS), torch.zeros(5, ACT)).shape == (3, 5)
    # each member its own batch
    assert model.raw(torch.randn(3, 7, OBS), torch.randn(3, 7, ACT)).shape == (3, 7)
    assert segment_returns(model, torch.zeros(6, L, OBS), torch.zeros(6, L, ACT)).shape == (3, 6)
    assert model.predict_reward(np.zeros((5, OBS)), np.zeros((5, ACT))).shape == (5,)
    # members differ (independent initialisation)
    r = model.raw(torch.randn(50, OBS), torch.randn(50, ACT))
    assert not torch.allclose(r[0], r[1])


def test_dropout_acts_only_while_training_and_is_absent_at_zero():
    obs, acts = torch.randn(64, OBS), torch.randn(64, ACT)
    model = MLPRewardEnsemble(OBS, ACT, n_members=3, dropout=0.5)
    scored = model.raw(obs, acts)
    assert torch.equal(scored, model.raw(obs, acts))  # built in scoring mode: the whole net, every time
    model.train()
    assert not torch.allclose(model.raw(obs, acts), scored)  # units dropped while training
    plain = MLPRewardEnsemble(OBS, ACT, n_members=3)
    assert not any(isinstance(m, torch.nn.Dropout) for m in plain.modules())  # names as nets saved before
    assert len(model.state_dict()) == len(plain.state_dict())  # dropout holds no weights
    with pytest.raises(ValueError, match="dropout must be within"):
        MLPRewardEnsemble(OBS, ACT, dropout=1.0)


def test_output_normalisation_gives_each_member_zero_mean_unit_std():
    model = MLPRewardEnsemble(OBS, ACT, n_members=3, reward_std=0.05)
    obs, acts = np.random.default_rng(0).normal(size=(2000, OBS)), np.random.default_rng(1).normal(size=(2000, ACT))
    model.fit_input_normalization(obs, acts)
    model.fit_output_normalization(obs, acts)
    r = model(torch.as_tensor(obs), torch.as_tensor(acts))
    assert torch.allclose(r.mean(1), torch.zeros(3), atol=1e-4)
    assert torch.allclose(r.std(1), torch.full((3,), 0.05), rtol=1e-3)


def test_input_renormalisation_keeps_the_function():
    rng = np.random.default_rng(0)
    model = MLPRewardEnsemble(OBS, ACT, n_members=3)
    obs, acts = rng.normal(size=(500, OBS)), rng.normal(size=(500, ACT))
    model.fit_input_normalization(obs, acts)
    before = model.raw(torch.as_tensor(obs), torch.as_tensor(acts)).detach()
    # the policy moves: later data sit elsewhere and spread wider
    model.fit_input_normalization(obs * 5 + 3, acts * 0.5 - 1)
    after = model.raw(torch.as_tensor(obs), torch.as_tensor(acts)).detach()
    assert torch.allclose(before, after, atol=1e-4)
    assert torch.allclose(model.in_mean[:OBS], torch.full((OBS,), 3.0), atol=0.5)  # statistics did move


def test_output_normalisation_momentum_moves_part_of_the_way():
    rng = np.random.default_rng(0)
    model = MLPRewardEnsemble(OBS, ACT, n_members=3)
    obs, acts = rng.normal(size=(2000, OBS)), rng.normal(size=(2000, ACT))
    model.fit_output_normalization(obs, acts)
    first_mean, first_std = model.out_mean.clone(), model.out_std.clone()
    shifted = obs + 2.0  # the same net measured on data from elsewhere
    raw = model.raw(torch.as_tensor(shifted), torch.as_tensor(acts)).detach()
    model.fit_output_normalization(shifted, acts, momentum=0.25)
    assert torch.allclose(model.out_mean, 0.75 * first_mean + 0.25 * raw.mean(1), atol=1e-5)
    assert torch.allclose(model.out_std.pow(2), 0.75 * first_std.pow(2) + 0.25 * raw.var(1), rtol=1e-4)
    model.fit_output_normalization(shifted, acts, momentum=1.0)  # 1 refits outright
    assert torch.allclose(model.out_mean, raw.mean(1), atol=1e-5)
    with pytest.raises(ValueError, match="momentum"):
        model.fit_output_normalization(shifted, acts, momentum=0.0)


GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("seed, device, stride", [(0, "cpu", 1), (1, "cpu", 1), (0, "cpu", 3),
                                                  pytest.param(0, "cuda", 1, marks=GPU)])
def test_ensemble_recovers_a_known_nonlinear_reward(seed, device, stride):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    train_segs = random_segments(rng, 400)
    test_segs = random_segments(rng, 200, start_id=1000)
    oracle = SyntheticOracle()
    model = MLPRewardEnsemble(OBS, ACT, n_members=3).to(device)  # labels and segments stay on the CPU
    data = PreferenceDataset(3, rng)
    train_pairs = pairs_of(train_segs, rng, 1000)
    data.add(train_pairs, oracle.answer(train_pairs))
    all_obs = np.concatenate([s.obs for s in train_segs])
    all_acts = np.concatenate([s.acts for s in train_segs])
    model.fit_input_normalization(all_obs, all_acts)
    trainer = RewardTrainer(model, data, RewardTrainerConfig(frame_stride=stride), seed=seed)
    for _ in range(6):  # six updates of 8 passes each, as over a short run
        trainer.train_round(epochs=8)
    model.fit_output_normalization(all_obs, all_acts)

    held_out = pairs_of(test_segs, rng, 1000)
    targets = [a.target for a in oracle.answer(held_out)]
    stack = lambda side, key: np.stack([getattr(p[side], key) for p in held_out])  # noqa: E731
    acc = preference_accuracy(model, stack(0, "obs"), stack(0, "acts"), stack(1, "obs"), stack(1, "acts"), targets)
    assert acc >= 0.90, f"held-out agreement with the true preference only {acc:.3f}"


def test_strided_returns_average_over_the_offsets_to_the_segment_return():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    segs = random_segments(rng, 6)
    model = MLPRewardEnsemble(OBS, ACT, n_members=2)
    obs = torch.as_tensor(np.stack([s.obs for s in segs]))
    acts = torch.as_tensor(np.stack([s.acts for s in segs]))
    rows = torch.tensor([[0, 1, 2, 3], [2, 3, 4, 5]])  # each member's own segments
    with torch.no_grad():
        whole = segment_returns(model, obs[rows], acts[rows], per_member=True)
        for stride in (1, 3, 4):  # L = 10: strides that divide it and strides that do not
            estimates = torch.stack([strided_returns(model, obs, acts, rows, stride, offset)
                                     for offset in range(stride)])
            torch.testing.assert_close(estimates.mean(0), whole, rtol=1e-5, atol=1e-5)
            if stride > 1:  # each one offset's estimate is a different, partial sum
                assert not torch.allclose(estimates[0], whole, atol=1e-3)


def test_bootstrap_holds_out_about_one_in_e_per_member():
    data = PreferenceDataset(3, np.random.default_rng(0))
    segs = random_segments(np.random.default_rng(1), 50)
    pairs = pairs_of(segs, np.random.default_rng(2), 3000)
    data.add(pairs, SyntheticOracle().answer(pairs))
    held_out = (data.tensors()["weights"] == 0).float().mean(1)
    assert torch.allclose(held_out, torch.full((3,), np.exp(-1)), atol=0.03)


def test_adaptive_l2_rises_on_an_overfitting_set():
    rng = np.random.default_rng(0)
    segs = random_segments(rng, 40)
    pairs = pairs_of(segs, rng, 40)
    # random answers: nothing to learn, so the members can only memorise their own bootstrap
    answers = SyntheticOracle().answer([(b, a) if flip else (a, b) for (a, b), flip in
                                        zip(pairs, rng.integers(0, 2, len(pairs)))])
    data = PreferenceDataset(3, rng)
    data.add(pairs, answers)
    model = MLPRewardEnsemble(OBS, ACT, n_members=3)
    trainer = RewardTrainer(model, data, RewardTrainerConfig(l2_init=1e-5, min_steps=200), seed=0)
    start = trainer.l2.clone()
    metrics = trainer.train_round()
    assert metrics["reward/val_loss"] > 1.5 * metrics["reward/train_loss"]
    assert bool((trainer.l2 > start).all())


@pytest.mark.parametrize("every_epoch", [True, False])
def test_pretraining_adapts_l2_after_every_pass(every_epoch):
    rng = np.random.default_rng(1)
    segs = random_segments(rng, 60)
    pairs = pairs_of(segs, rng, 80)
    answers = SyntheticOracle().answer([(b, a) if flip else (a, b) for (a, b), flip in
                                        zip(pairs, rng.integers(0, 2, len(pairs)))])  # nothing to learn
    data = PreferenceDataset(3, rng)
    data.add(pairs, answers)
    config = RewardTrainerConfig(l2_init=1e-5, pretrain_l2_every_epoch=every_epoch)
    torch.manual_seed(0)
    trainer = RewardTrainer(MLPRewardEnsemble(OBS, ACT, n_members=3), data, config, seed=0)
    metrics = trainer.pretrain(epochs=20)
    steps = int(np.ceil(20 * len(data) / config.batch_size))
    assert metrics["reward/train_steps"] == steps  # the same gradient steps either way
    factors = np.log2((trainer.l2 / config.l2_init).numpy()).round()
    if every_epoch:  # one check per pass: a member memorising its bootstrap climbed many steps of l2_factor
        assert factors.max() >= 5, factors
    else:  # one check at the end: at most one step
        assert np.abs(factors).max() <= 1, factors
    capped = RewardTrainer(MLPRewardEnsemble(OBS, ACT, n_members=3), data,
                           RewardTrainerConfig(l2_init=1e-5, l2_max=1e-3, pretrain_l2_every_epoch=every_epoch), seed=0)
    capped.pretrain(epochs=20)
    assert float(capped.l2.max()) <= 1e-3 * (1 + 1e-6)  # the adaptation stops at l2_max
    if every_epoch:
        assert float(capped.l2.max()) == pytest.approx(1e-3)  # it climbed there and stopped
    checks = []
    trainer.train_round = lambda epochs=None, steps=None: checks.append(steps) or {}
    trainer.pretrain(epochs=2.5)
    assert len(checks) == (3 if every_epoch else 1)
    if every_epoch:
        assert sum(checks) == max(config.min_steps, int(np.ceil(2.5 * len(data) / config.batch_size)))


def test_dataset_fifo_keeps_most_recent_labels_only():
    rng = np.random.default_rng(0)
    segs = random_segments(rng, 30)
    pairs = pairs_of(segs, rng, 25)
    data = PreferenceDataset(2, rng, max_size=10)
    data.add(pairs, SyntheticOracle().answer(pairs))
    assert len(data) == 10
    t = data.tensors()
    assert t["seg_obs"].shape[0] <= 20
    kept = pairs[-10:]
    # each kept label points at rows holding its own segments' observations and actions
    for (left, right), a, b in zip(kept, t["left"].tolist(), t["right"].tolist()):
        np.testing.assert_array_equal(t["seg_obs"][a].numpy(), left.obs)
        np.testing.assert_array_equal(t["seg_obs"][b].numpy(), right.obs)
        np.testing.assert_array_equal(t["seg_acts"][b].numpy(), right.acts.astype(np.float32))
    assert data.n_segments == len({s.id for pair in kept for s in pair})


def test_predicted_reward_averages_the_independently_normalised_members():
    rng = np.random.default_rng(0)
    model = MLPRewardEnsemble(OBS, ACT, n_members=3)
    obs, acts = rng.normal(size=(64, OBS)), rng.normal(size=(64, ACT))
    model.fit_input_normalization(obs, acts)
    with torch.no_grad():
        model.net[0].weight.mul_(2.0)  # members with different scales
        model.net[-1].bias.add_(torch.tensor([0.0, 5.0, -3.0])[:, None, None])
    model.fit_output_normalization(obs, acts)
    raw = model.raw(torch.as_tensor(obs), torch.as_tensor(acts)).detach().double().numpy()
    by_hand = ((raw - raw.mean(1, keepdims=True)) / raw.std(1, ddof=1, keepdims=True)).mean(0)
    predicted = model.predict_reward(obs, acts)
    assert predicted.dtype == np.float32 and predicted.shape == (64,)
    np.testing.assert_allclose(predicted, by_hand, rtol=1e-4, atol=1e-5)
    # --disagreement-weight: a multiple of the members' std is added, in the same units
    members = (raw - raw.mean(1, keepdims=True)) / raw.std(1, ddof=1, keepdims=True)
    for weight in (0.5, -1.0):
        paid = model.predict_reward(obs, acts, disagreement=weight)
        np.testing.assert_allclose(paid, by_hand + weight * members.std(0), rtol=1e-4, atol=1e-5)
        assert np.sign(paid - predicted).min() == np.sign(weight)


def test_observation_only_model_ignores_actions():
    rng = np.random.default_rng(0)
    model = MLPRewardEnsemble(OBS, ACT, n_members=3, use_actions=False)
    obs, acts = rng.normal(size=(64, OBS)), rng.normal(size=(64, ACT))
    model.fit_input_normalization(obs, acts)
    model.fit_output_normalization(obs, acts)
    other = rng.normal(size=(64, ACT)) * 10
    torch_r = lambda a: model(torch.as_tensor(obs), torch.as_tensor(a)).detach()  # noqa: E731
    assert torch.equal(torch_r(acts), torch_r(other))
    np.testing.assert_array_equal(model.predict_reward(obs, acts), model.predict_reward(obs, other))
    assert segment_returns(model, torch.zeros(6, L, OBS), torch.randn(6, L, ACT)).shape == (3, 6)


def test_unbounded_dataset_grows_its_rows_and_keeps_every_segment():
    rng = np.random.default_rng(3)
    segs = random_segments(rng, 700)  # more than the first allocation of rows
    pairs = [(segs[i], segs[i + 1]) for i in range(0, 700, 2)]
    data = PreferenceDataset(2, rng)
    data.add(pairs, SyntheticOracle().answer(pairs))
    t = data.tensors()
    assert len(data) == 350 and data.n_segments == 700
    for (left, right), a, b in zip(pairs, t["left"].tolist(), t["right"].tolist()):
        np.testing.assert_array_equal(t["seg_obs"][a].numpy(), left.obs)
        np.testing.assert_array_equal(t["seg_obs"][b].numpy(), right.obs)


@pytest.mark.parametrize("fraction, expected", [(0.0, None), (0.5, 8), (1.0, 16)])
def test_recent_fraction_draws_that_share_of_each_batch_from_the_new_labels(fraction, expected):
    rng = np.random.default_rng(0)
    segs = random_segments(rng, 40)
    data = PreferenceDataset(3, rng, max_size=100)
    old = pairs_of(segs, rng, 150)  # fills the FIFO past its cap: positions, not ids, say what is new
    data.add(old, SyntheticOracle().answer(old))
    trainer = RewardTrainer(MLPRewardEnsemble(OBS, ACT, n_members=3), data,
                            RewardTrainerConfig(batch_size=16, recent_fraction=fraction, max_steps=1, min_steps=1))
    trainer.train_round()  # the first update treats every label as new
    new = pairs_of(segs, rng, 30)[:20]
    data.add(new, SyntheticOracle().answer(new))
    n_new = data.total_added - trainer._trained_through
    assert n_new == 20 and len(data) == 100
    weights = data.tensors()["weights"]
    draws = torch.stack([trainer._draw(weights, 16) for _ in range(200)])  # (200, M, B)
    from_new = (draws >= 100 - 16).float()
    held_in_new = weights[:, -16:].sum(1) > 0
    assert bool(held_in_new.any())
    if expected is None:
        assert from_new.mean() < 0.4  # uniform over 100 labels: ~16% land among the newest 16
    else:
        for m in range(3):
            if held_in_new[m]:
                assert float(from_new[:, m, :expected].mean()) == 1.0
                if expected < 16:  # the rest of the batch is the uniform draw over all 100
                    assert float(from_new[:, m, expected:].mean()) < 0.4
    # a draw never lands on a label the member holds out (weight 0)
    assert bool((weights.gather(1, draws.permute(1, 0, 2).reshape(3, -1)) > 0).all())


def test_a_member_that_holds_out_every_new_label_draws_its_whole_batch_from_all():
    rng = np.random.default_rng(0)
    segs = random_segments(rng, 20)
    data = PreferenceDataset(2, rng)
    pairs = pairs_of(segs, rng, 60)[:40]
    data.add(pairs, SyntheticOracle().answer(pairs))
    trainer = RewardTrainer(MLPRewardEnsemble(OBS, ACT, n_members=2), data,
                            RewardTrainerConfig(batch_size=8, recent_fraction=1.0))
    weights = torch.ones(2, 40)
    weights[0, -8:] = 0  # member 0 holds out the 8 newest labels
    draws = torch.stack([trainer._draw(weights, 8) for _ in range(100)])  # (100, M, B)
    assert bool((draws[:, 1] >= 32).all())  # member 1: all from the new labels
    assert bool((draws[:, 0] < 32).all())  # member 0: never a held-out one, from all labels instead
    with pytest.raises(ValueError, match="recent_fraction"):
        RewardTrainerConfig(recent_fraction=1.5)
    small = RewardTrainer(trainer.model, data, RewardTrainerConfig(batch_size=8, recent_fraction=0.01))
    assert bool((torch.stack([small._draw(torch.ones(2, 40), 8) for _ in range(50)])[:, :, 0] >= 32).all())


def test_many_segments_are_scored_in_chunks_of_bounded_steps_with_the_same_result(monkeypatch):
    import prefrl.reward.ensemble as ensemble

    slices = ensemble.chunk_slices(1000, 8, item_rows=60)
    assert sum(s.stop - s.start for s in slices) == 1000 and slices[-1].stop == 1000
    assert all((s.stop - s.start) * 60 <= ensemble.CHUNK_ROWS for s in slices) and len(slices) > 1
    # the loss measurement scores the labelled segments in such chunks: same figures as one pass
    rng = np.random.default_rng(0)
    segs = random_segments(rng, 60)
    pairs = pairs_of(segs, rng, 200)
    data = PreferenceDataset(3, rng)
    data.add(pairs, SyntheticOracle().answer(pairs))
    trainer = RewardTrainer(MLPRewardEnsemble(OBS, ACT, n_members=3), data, seed=0)
    trainer.train_round()
    tensors = data.tensors()
    figures = {}
    for rows in (L * 7, 10**9):  # 7 segments a chunk, then all at once
        monkeypatch.setattr(ensemble, "CHUNK_ROWS", rows)
        trainer.generator.manual_seed(1)
        figures[rows] = trainer._evaluate(tensors)
    assert figures[L * 7]["reward/train_loss"] == pytest.approx(figures[10**9]["reward/train_loss"], rel=1e-5)
    assert figures[L * 7]["reward/train_accuracy"] == figures[10**9]["reward/train_accuracy"]
