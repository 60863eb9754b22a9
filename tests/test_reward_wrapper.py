import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from prefrl.rl.callback import finished_episode_sums
from prefrl.rl.reward_wrapper import LearnedRewardVecEnv, RewardScaler, RolloutRecord


def test_wrapper_hides_the_reward_and_records_each_step_from_the_obs_it_was_taken_from():
    venv = make_vec_env("Pendulum-v1", n_envs=2, seed=0)  # 200-step episodes
    env = LearnedRewardVecEnv(venv, rollout_steps=16)  # grows past 16 rows
    obs = env.reset()
    seen_obs, seen_acts, true_total = [], [], np.zeros(2)
    for t in range(200):
        actions = np.full((2, 1), 0.5 if t % 2 else -0.5, dtype=np.float32)
        new_obs, rewards, dones, infos = env.step(actions)
        assert not rewards.any()  # placeholders: the agent never sees the true reward
        seen_obs.append(obs)
        seen_acts.append(actions)
        true_total += env.rollout.true_rewards[-1]
        obs = new_obs
    rec = env.rollout
    assert len(rec) == 200 and rec.obs.shape == (200, 2, 3) and rec.actions.shape == (200, 2, 1)
    np.testing.assert_allclose(rec.obs, np.array(seen_obs))  # the obs each action was taken from
    np.testing.assert_allclose(rec.actions, np.array(seen_acts))
    assert rec.dones[-1].all() and not rec.dones[:-1].any() and rec.render_states is None
    np.testing.assert_array_equal(rec.ends, rec.dones)
    assert len(env.true_returns) == 2
    np.testing.assert_allclose(sorted(env.true_returns), sorted(true_total), rtol=1e-5)
    rec.clear()
    env.step(np.zeros((2, 1), np.float32))
    assert len(rec) == 1 and rec.obs.shape == (1, 2, 3)


def test_rollout_record_keeps_render_states_and_refuses_unknown_fields():
    rec = RolloutRecord(capacity=2)
    for t in range(5):
        rec.add(obs=np.full((2, 3), t), actions=np.zeros((2, 1)), true_rewards=np.ones(2), dones=np.zeros(2, bool),
                ends=np.zeros(2, bool), render_states=np.full((2, 4), t, np.uint8))
    assert rec.render_states.shape == (5, 2, 4) and rec.render_states.dtype == np.uint8
    assert rec.obs[:, 0, 0].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(AttributeError):
        rec.colour


class Scripted(VecEnv):
    """Two envs paying a scripted reward sequence, with episode ends where `dones` says."""

    def __init__(self, rewards, dones):
        from gymnasium import spaces

        super().__init__(2, spaces.Box(-1, 1, (1,)), spaces.Box(-1, 1, (1,)))
        self.rewards, self.dones, self.t = rewards, dones, 0

    def reset(self):
        return np.zeros((2, 1), np.float32)

    def step_async(self, actions):
        pass

    def step_wait(self):
        t, self.t = self.t, self.t + 1
        return np.zeros((2, 1), np.float32), self.rewards[t].astype(np.float32), self.dones[t], [{}, {}]

    def close(self):
        pass

    def get_attr(self, *a, **k):
        return [None, None]

    def set_attr(self, *a, **k):
        pass

    def env_method(self, *a, **k):
        return [None, None]

    def env_is_wrapped(self, *a, **k):
        return [False, False]

    def seed(self, seed=None):
        return [None, None]


def test_scaling_a_rollout_at_its_end_gives_what_vecnormalize_gives_step_by_step():
    rng = np.random.default_rng(0)
    rewards = rng.normal(2.0, 3.0, size=(300, 2))
    dones = rng.random((300, 2)) < 0.02
    norm = VecNormalize(Scripted(rewards, dones), norm_obs=False, norm_reward=True, gamma=0.99)
    norm.reset()
    expected = np.array([norm.step(np.zeros((2, 1)))[1] for _ in range(300)])
    scaler = RewardScaler(2, gamma=0.99)
    got = np.concatenate([scaler(rewards[i:i + 64], dones[i:i + 64]) for i in range(0, 300, 64)])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert np.abs(got).mean() < np.abs(rewards).mean() / 3  # actually scaled
    restored = RewardScaler(2, gamma=0.99)
    restored.load_state_dict(scaler.state_dict())
    assert restored.ret_rms.var == scaler.ret_rms.var and restored.ret_rms.count == scaler.ret_rms.count


def test_episode_sums_across_rollouts_match_a_step_by_step_count():
    rng = np.random.default_rng(1)
    rewards = rng.normal(size=(500, 3))
    ends = rng.random((500, 3)) < 0.05
    expected, running = [], np.zeros(3)
    for t in range(500):
        running += rewards[t]
        for i in np.flatnonzero(ends[t]):
            expected.append(running[i])
            running[i] = 0.0
    got, carry = [], np.zeros(3)
    for start in range(0, 500, 128):  # rollouts of 128 steps; episodes run across their borders
        sums, carry = finished_episode_sums(rewards[start:start + 128], ends[start:start + 128], carry)
        got += sums
    assert len(got) == ends.sum() > 50
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(carry, running)
