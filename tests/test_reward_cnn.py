import numpy as np
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
