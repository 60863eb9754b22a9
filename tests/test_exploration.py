"""--explore-steps: the state-entropy reward, and a run that explores before its first labels (its bad
input cases are with the other flags' in test_cli.py)."""

import csv
import sqlite3

import numpy as np
import pytest
import torch

from prefrl.cli import main
from prefrl.rl.exploration import StateEntropyReward
from prefrl.rl.reward_wrapper import RewardScaler


def test_state_entropy_pays_the_lonely_observation_most_and_weighs_coordinates_alike():
    rng = np.random.default_rng(0)
    reward = StateEntropyReward(k=3, memory=1000)
    cluster = rng.normal(0.0, 0.01, (99, 2))
    cluster[:, 1] *= 1000  # a coordinate on another scale: divided by its std, it counts alike
    lonely = np.array([[0.5, 0.0]])  # far out along the small-scale coordinate only
    obs = np.concatenate([cluster, lonely])[:, None, :]  # (T, n_envs=1, 2)
    paid = reward(obs)
    assert paid.shape == (100, 1) and paid.dtype == np.float32 and (paid > 0).all()
    assert paid[-1, 0] == paid.max() and paid[-1, 0] > 5 * np.median(paid[:-1, 0])


def test_state_entropy_compares_with_recent_memory_only():
    reward = StateEntropyReward(k=1, memory=4)
    crowd = np.zeros((4, 1, 1), np.float32)
    reward(crowd)
    # a new point among the crowd: its nearest neighbour sits at distance 0
    assert reward(np.zeros((1, 1, 1), np.float32))[0, 0] == 0
    # 4 points at 10 push the crowd out of memory: the next point at 0 is far from all it remembers
    reward(np.full((4, 1, 1), 10.0, np.float32))
    far = reward(np.zeros((1, 1, 1), np.float32))[0, 0]
    assert far == pytest.approx(np.log1p(10 / np.std([10, 10, 10, 0], ddof=1)), rel=1e-5)


def test_reward_scaler_reset_forgets_every_return():
    scaler = RewardScaler(n_envs=2, gamma=0.99)
    scaler(np.full((50, 2), 100.0), np.zeros((50, 2), bool))
    scaler.reset()
    assert scaler.ret_rms.count < 1e-3 and not scaler.returns.any()
    fresh = RewardScaler(n_envs=2, gamma=0.99)
    small = np.full((5, 2), 0.1)
    np.testing.assert_allclose(scaler(small, np.zeros((5, 2), bool)), fresh(small, np.zeros((5, 2), bool)))


def test_a_run_explores_first_then_asks_its_whole_budget(tmp_path):
    runs = tmp_path / "runs"
    assert main(["train", "--env", "HalfCheetah-v5", "--timesteps", "8000", "--labels", "12", "--n-envs", "2",
                 "--update-every", "1000", "--explore-steps", "3000", "--runs-dir", str(runs), "--no-progress"]) == 0
    (run,) = list(runs.iterdir())
    with (run / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    exploring = [r for r in rows if r.get("explore/state_entropy")]
    learning = [r for r in rows if not r.get("explore/state_entropy")]
    assert exploring and learning and rows.index(learning[0]) == len(exploring)  # one phase, then the other
    # nothing asked while exploring but on its last rollout, where the first quarter (3 labels) is asked
    assert all(float(r["charts/labels"]) == 0 for r in exploring[:-1])
    assert float(exploring[-1]["charts/labels"]) == 3
    end = float(exploring[-1]["charts/env_steps"])
    # a row every two rollouts of 2 x 256 steps: the first comes 1,024 steps after the random policy's
    start = float(exploring[0]["charts/env_steps"]) - 1024
    assert 3000 <= end - start < 3000 + 512  # the phase ends with the first rollout past 3,000 steps
    assert float(rows[-1]["charts/labels"]) == 12 and float(rows[-1]["charts/env_steps"]) >= 8000
    db = sqlite3.connect(run / "preferences.sqlite")
    assert db.execute("SELECT COUNT(*) FROM comparisons").fetchone()[0] == 12
    db.close()
    # a resume continues the label schedule from where the exploration handed over, not from before it
    state = torch.load(run / "checkpoint" / "state.pt", weights_only=False)
    assert state["online_start"] == end and state["labels"] == 12
