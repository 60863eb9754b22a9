import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

from prefrl.rl.reward_wrapper import LearnedRewardVecEnv


def test_wrapper_shows_the_learned_reward_and_keeps_the_true_one_in_info():
    venv = make_vec_env("Pendulum-v1", n_envs=2, seed=0)  # 200-step episodes
    calls = []

    def reward_fn(obs, acts):
        calls.append((obs.copy(), acts.copy()))
        return obs[:, 0] * 10.0 + acts[:, 0]

    env = LearnedRewardVecEnv(venv, reward_fn)
    obs = env.reset()
    true_total = np.zeros(2)
    pred_total = np.zeros(2)
    for t in range(200):
        actions = np.full((2, 1), 0.5 if t % 2 else -0.5, dtype=np.float32)
        new_obs, rewards, dones, infos = env.step(actions)
        # r̂ is computed on the obs the action was taken from, not the next one
        np.testing.assert_allclose(calls[-1][0], obs)
        np.testing.assert_allclose(rewards, obs[:, 0] * 10.0 + actions[:, 0], rtol=1e-6)
        true = np.array([info["true_reward"] for info in infos])
        assert env.last_step.true_rewards.tolist() == pytest.approx(true.tolist())
        true_total += true
        pred_total += rewards
        obs = new_obs
    assert dones.all()  # the episodes ended at the time limit
    assert len(env.episode_returns) == 2
    np.testing.assert_allclose(sorted(r[0] for r in env.episode_returns), sorted(true_total), rtol=1e-5)
    np.testing.assert_allclose(sorted(r[1] for r in env.episode_returns), sorted(pred_total), rtol=1e-4)

