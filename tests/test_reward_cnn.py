import copy

import numpy as np
import pytest
import torch

from prefrl.reward.cnn import CNNRewardEnsemble
from prefrl.reward.ensemble import segment_returns


def frames(rng, n):
    return rng.integers(0, 256, size=(n, 84, 84, 4), dtype=np.uint8)


def test_cnn_ensemble_shapes_shared_and_per_member():
    torch.manual_seed(0)
    model = CNNRewardEnsemble(n_members=3).eval()
    rng = np.random.default_rng(0)
    assert model.raw(torch.as_tensor(frames(rng, 5))).shape == (3, 5)
    assert model.raw(torch.as_tensor(frames(rng, 3 * 4).reshape(3, 4, 84, 84, 4))).shape == (3, 4)
    # segments of 25 steps, as the paper's Atari clips
    assert segment_returns(model, torch.as_tensor(frames(rng, 2 * 25).reshape(2, 25, 84, 84, 4)),
                           torch.zeros(2, 25, 1)).shape == (3, 2)
    assert model.predict_reward(frames(rng, 6)).shape == (6,)


def test_members_are_independent_and_see_their_own_inputs():
    torch.manual_seed(0)
    model = CNNRewardEnsemble(n_members=2).eval()
    rng = np.random.default_rng(1)
    x = torch.as_tensor(frames(rng, 4))
    shared = model.raw(x)
    assert not torch.allclose(shared[0], shared[1])  # different weights
    # giving each member the same frames through the per-member path changes nothing
    torch.testing.assert_close(model.raw(torch.stack([x, x])), shared)
    # changing member 1's frames leaves member 0's rewards alone
    other = torch.stack([x, torch.as_tensor(frames(rng, 4))])
    torch.testing.assert_close(model.raw(other)[0], shared[0])
    assert not torch.allclose(model.raw(other)[1], shared[1])


def test_output_normalised_to_the_papers_atari_std():
    torch.manual_seed(0)
    model = CNNRewardEnsemble(n_members=3, reward_std=0.05)
    data = frames(np.random.default_rng(2), 256)
    model.fit_output_normalization(data)
    model.eval()
    r = model(torch.as_tensor(data))
    assert torch.allclose(r.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(r.std(1), torch.full((3,), 0.05), rtol=1e-3)


def test_l2_covers_each_members_conv_stack_and_head():
    torch.manual_seed(0)
    model = CNNRewardEnsemble(n_members=3)
    norms = model.member_weight_norms()
    assert norms.shape == (3,)
    with torch.no_grad():
        model.convs[1][0].weight.mul_(2.0)  # member 1's first conv layer only
    grown = model.member_weight_norms()
    assert grown[1] > norms[1] and torch.equal(grown[[0, 2]], norms[[0, 2]])


def _with_running_statistics(model: CNNRewardEnsemble, rng) -> CNNRewardEnsemble:
    """Batch-norm running statistics away from their (0, 1) start, so folding them matters."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model.raw(torch.as_tensor(frames(rng, 16)))
    return model.eval()


def test_eval_mode_folds_batch_norm_into_the_convolutions_without_changing_the_function():
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    model = _with_running_statistics(CNNRewardEnsemble(n_members=2, precision="float32"), rng)
    x = torch.as_tensor(frames(rng, 6))
    pixels = x.permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():  # the modules' own eval forward: batch norm, leaky ReLU, dropout as identity
        unfolded = model.head(torch.stack([conv(pixels).flatten(1) for conv in model.convs])).squeeze(-1)
        torch.testing.assert_close(model.raw(x), unfolded, rtol=1e-4, atol=1e-6)


def test_bfloat16_conv_stacks_track_float32_and_train():
    rng = np.random.default_rng(4)
    torch.manual_seed(0)
    exact = _with_running_statistics(CNNRewardEnsemble(n_members=2, precision="float32"), rng)
    fast = CNNRewardEnsemble(n_members=2, precision="bfloat16")
    fast.load_state_dict(exact.state_dict())
    fast.eval()
    x = torch.as_tensor(frames(rng, 32))
    with torch.no_grad():
        a, b = exact.raw(x), fast.raw(x)
    assert b.dtype == torch.float32
    assert torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1] > 0.99
    fast.train()
    fast.raw(x).pow(2).mean().backward()
    grads = [p.grad for p in fast.parameters()]
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


def test_precision_is_checked_and_auto_resolves():
    assert CNNRewardEnsemble(n_members=1, precision="auto").precision in ("float32", "bfloat16")
    try:
        CNNRewardEnsemble(n_members=1, precision="half")
    except ValueError as exc:
        assert "precision" in str(exc)
    else:
        raise AssertionError("an unknown precision was accepted")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cnn_ensemble_on_the_gpu_scores_as_on_the_cpu():
    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    cpu = CNNRewardEnsemble(n_members=2, precision="float32")
    gpu = copy.deepcopy(cpu).to("cuda")
    x = frames(rng, 16)
    np.testing.assert_allclose(gpu.predict_reward(x), cpu.predict_reward(x), atol=1e-3)
    gpu.fit_output_normalization(x)
    cpu.fit_output_normalization(x)
    torch.testing.assert_close(gpu.out_std.cpu(), cpu.out_std, rtol=1e-3, atol=1e-6)
    segments = torch.as_tensor(frames(rng, 2 * 25).reshape(2, 25, 84, 84, 4))  # on the CPU, as the trainer's
    returns = segment_returns(gpu.eval(), segments, torch.zeros(2, 25, 1))
    assert returns.device.type == "cuda"
    torch.testing.assert_close(returns.cpu(), segment_returns(cpu.eval(), segments, torch.zeros(2, 25, 1)),
                               rtol=1e-3, atol=1e-3)
    auto = CNNRewardEnsemble(n_members=2, precision="auto", device="cuda")
    assert auto.precision == "bfloat16" and auto.out_mean.device.type == "cuda"


def dot_segments(rng, n, length=10, start_id=0):
    """Segments of frames holding one small dot on a dark screen, like Pong's ball: it earns 1 a
    step while it is in the right half, else 0."""
    from prefrl.segments import Segment

    segs = []
    for i in range(n):
        x0, y0 = rng.integers(4, 80, size=2)
        dx = rng.integers(-4, 5)
        xs = np.clip(x0 + dx * np.arange(length), 2, 81)
        obs = np.zeros((length, 84, 84, 4), np.uint8)
        for t, x in enumerate(xs):
            obs[t, y0 - 1:y0 + 2, x - 1:x + 2, :] = 200
        rewards = (xs >= 42).astype(np.float32)
        segs.append(Segment(start_id + i, obs, np.zeros((length, 1), np.float32), rewards, np.zeros((length, 0))))
    return segs


@pytest.mark.parametrize("stride", [1, 2])
def test_cnn_ensemble_learns_where_a_small_dot_is_paid(stride):
    from prefrl.reward.dataset import PreferenceDataset
    from prefrl.reward.trainer import RewardTrainer, RewardTrainerConfig, preference_accuracy
    from prefrl.teachers.oracle import SyntheticOracle

    rng = np.random.default_rng(stride)
    torch.manual_seed(stride)
    oracle = SyntheticOracle()
    segs = dot_segments(rng, 160)
    pairs = [(segs[a], segs[b]) for a, b in rng.integers(0, 160, size=(400, 2)) if a != b]
    test_segs = dot_segments(rng, 60, start_id=1000)
    held_out = [(test_segs[a], test_segs[b]) for a, b in rng.integers(0, 60, size=(200, 2)) if a != b]
    model = CNNRewardEnsemble(n_members=3, dropout=0.0)
    data = PreferenceDataset(3, rng)
    data.add(pairs, oracle.answer(pairs))
    trainer = RewardTrainer(model, data, RewardTrainerConfig(batch_size=16, frame_stride=stride), seed=stride)
    trainer.train_round(steps=60)
    model.fit_output_normalization(np.concatenate([s.obs for s in segs[:40]]))
    targets = [a.target for a in oracle.answer(held_out)]
    side = lambda i, key: [getattr(p[i], key) for p in held_out]  # noqa: E731
    acc = preference_accuracy(model, side(0, "obs"), side(0, "acts"), side(1, "obs"), side(1, "acts"), targets)
    assert acc >= 0.8, f"held-out agreement with the true preference only {acc:.3f}"  # 0.88-0.95 seen


def test_stacked_label_frames_score_and_train_as_their_copies_do():
    """The label set hands the CNN strided views of stacked frames (channel-planar in memory); its
    gather (`take`) and the channels-last conversion give the same scores and gradients, to the bit,
    as a plain contiguous copy of the same frames."""
    from prefrl.reward.trainer import strided_returns, take
    from prefrl.segments import stacked_view

    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    distinct = rng.integers(0, 256, size=(6, 8 + 3, 84, 84), dtype=np.uint8)
    view = torch.as_tensor(stacked_view(distinct, 4))  # (6 segments, 8 steps, 84, 84, 4)
    copy_ = view.contiguous()
    rows = torch.as_tensor(rng.integers(0, 6, size=(2, 5)))
    for stride, offset in ((1, 0), (3, 2)):
        assert torch.equal(take(view[:, offset::stride], rows), copy_[:, offset::stride][rows])
    model = CNNRewardEnsemble(n_members=2, dropout=0.0).train()
    acts = torch.zeros(6, 8, 1)

    def loss_and_grads(obs):
        model.zero_grad(set_to_none=True)
        loss = strided_returns(model, obs, acts, rows, 3, 1).pow(2).sum()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    (loss_view, grads_view), (loss_copy, grads_copy) = loss_and_grads(view), loss_and_grads(copy_)
    assert torch.equal(loss_view, loss_copy)
    assert all(torch.equal(a, b) for a, b in zip(grads_view, grads_copy))
    model.eval()
    with torch.no_grad():
        assert torch.equal(segment_returns(model, take(view, rows[0]), acts[:5]),
                           segment_returns(model, copy_[rows[0]], acts[:5]))
