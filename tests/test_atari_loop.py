"""Atari through the same loop as MuJoCo: defaults, rollout labelling, clips, a short real run."""

import csv
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from stable_baselines3.common.logger import Logger

from prefrl.config import TrainConfig
from prefrl.preferences import PreferenceStore
from prefrl.render.clips import SegmentClipRenderer
from prefrl.rl.agent import make_ppo
from prefrl.rl.baseline import FrozenRewardPayer
from prefrl.rl.hyperparams import ppo_hyperparams
from prefrl.rl.training import make_reward_model, plan_run, reward_trainer_config
from prefrl.segments import SegmentBuffer, SegmentCollector

ROOT = Path(__file__).resolve().parents[1]


def test_atari_runs_take_the_papers_atari_defaults():
    plan = plan_run(TrainConfig(env="prefrl/Pong-v0", labels=5000, timesteps=1_000_000))
    assert plan.kind == "atari" and plan.segment_length == 25
    assert plan.schedule.initial_labels == 500 and plan.schedule.horizon == 5e6
    assert plan.label_buffer == 3000 and plan.segment_buffer == 1024
    assert plan.ppo.policy == "CnnPolicy" and plan.obs_shape == (84, 84, 4)
    small = plan_run(TrainConfig(env="prefrl/Pong-v0", labels=100, timesteps=100_000))
    assert small.schedule.initial_labels == 25  # a quarter of a budget under 2,000
    a2c = plan_run(TrainConfig(env="prefrl/Breakout-v0", labels=100, timesteps=100_000, algo="a2c"))
    assert a2c.ppo.algo == "a2c" and a2c.ppo.n_envs == 16
    assert make_reward_model(plan).precision in ("float32", "bfloat16")  # auto: what the CPU computes natively
    exact = plan_run(TrainConfig(env="prefrl/Pong-v0", labels=100, timesteps=100_000, reward_precision="float32"))
    assert make_reward_model(exact).precision == "float32"
    trainer = reward_trainer_config(plan)
    assert (trainer.max_steps, trainer.batch_size, trainer.recent_fraction, trainer.frame_stride) == (30, 16, 0.5, 4)
    # the stride follows the segment length (about 6-7 stacks a segment) unless its flag is given
    stride = lambda **flags: reward_trainer_config(plan_run(TrainConfig(  # noqa: E731
        labels=100, timesteps=100_000, **flags))).frame_stride
    assert stride(env="prefrl/Pong-v0", segment_length=50) == 8  # the 50-step runs of BENCHMARKS.md
    assert stride(env="prefrl/Breakout-v0", segment_length=100) == 16
    assert stride(env="prefrl/Pong-v0", segment_length=10) == 2
    assert stride(env="prefrl/Pong-v0", reward_frame_stride=3) == 3 and stride(env="HalfCheetah-v5") == 1
    assert stride(env="HalfCheetah-v5", segment_length=100) == 1  # the vector tasks see every step
    assert all(not isinstance(m, torch.nn.Dropout2d) for m in make_reward_model(plan).modules())  # no conv dropout
    assert any(isinstance(m, torch.nn.Dropout2d) for m in make_reward_model(replace(
        plan, config=replace(plan.config, reward_conv_dropout=0.5))).modules())
    tuned = reward_trainer_config(plan_run(TrainConfig(env="prefrl/Pong-v0", labels=100, timesteps=100_000,
                                                       reward_max_steps=5, reward_recent_fraction=0.0,
                                                       reward_batch_size=8)))
    assert (tuned.max_steps, tuned.recent_fraction, tuned.batch_size) == (5, 0.0, 8)  # 0.0: the paper's uniform draw
    mujoco = plan_run(TrainConfig(env="HalfCheetah-v5", labels=100, timesteps=100_000))
    assert mujoco.kind == "mujoco" and mujoco.schedule.initial_labels == 25 and mujoco.label_buffer is None
    assert reward_trainer_config(mujoco).recent_fraction == 0.0


class MeanPixelReward(torch.nn.Module):
    def predict_reward(self, obs, acts=None, disagreement=0.0):
        assert disagreement == 0.0  # one member: nothing to disagree about
        return np.asarray(obs, np.float32).mean(axis=(1, 2, 3)) / 255.0


def test_a_rollout_labelled_at_its_end_gets_the_models_rewards_and_fresh_advantages():
    hp = replace(ppo_hyperparams("prefrl/Pong-v0"), n_envs=2, n_steps=16, batch_size=32)
    agent, env, reward_env = make_ppo("prefrl/Pong-v0", hp, seed=0, learned_reward=True)
    model = MeanPixelReward()
    seen = {}

    class Capture(FrozenRewardPayer):  # the payer of scripts/retrain_on_reward.py, unscaled here
        def _on_rollout_end(self):
            buf = self.model.rollout_buffer
            assert not buf.rewards.any()  # the env handed out placeholders
            super()._on_rollout_end()
            assert len(reward_env.rollout) == 0  # the next rollout records from scratch
            seen.update(obs=buf.observations.copy(), rewards=buf.rewards.copy(),
                        adv=buf.advantages.copy(), values=buf.values.copy(), returns=buf.returns.copy())

    agent.set_logger(Logger(folder=None, output_formats=[]))  # no SB3 default log folder in /tmp
    agent.learn(32, callback=Capture(model, reward_env, None))
    expected = model.predict_reward(np.moveaxis(seen["obs"], 2, -1).reshape(-1, 84, 84, 4)).reshape(16, 2)
    np.testing.assert_allclose(seen["rewards"], expected, rtol=1e-6)
    assert seen["rewards"].std() > 0
    np.testing.assert_allclose(seen["returns"], seen["adv"] + seen["values"], rtol=1e-5, atol=1e-6)
    assert np.abs(seen["adv"]).sum() > 0
    env.close()


def test_atari_segment_clip_shows_the_game_at_30_fps(tmp_path):
    from prefrl_envs import make_task

    env = make_task("prefrl/Pong-v0")
    env.reset(seed=0)
    buffer = SegmentBuffer(4, 25, (84, 84, 4), np.uint8, 1, 8192, np.uint8, frame_stack=4)
    collector = SegmentCollector(buffer, 1)
    obs = env.reset(seed=0)[0]
    while len(buffer) < 1:
        action = env.action_space.sample()
        nxt, reward, _, _, info = env.step(action)
        collector.observe(obs[None], np.array([action]), np.array([reward]), np.zeros(1, bool),
                          info["render_state"][None])
        obs = nxt
    renderer = SegmentClipRenderer("prefrl/Pong-v0")
    path = renderer.render(buffer.get(0), tmp_path)
    renderer.close()
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) in (50, 51) or int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) <= 0
    ok, frame = cap.read()
    assert ok and frame.shape == (420, 320, 3)
    n = 1
    while cap.read()[0]:
        n += 1
    assert n == 50  # 25 steps x 4 emulator frames, every other one
    assert renderer.fps == 30


@pytest.mark.parametrize("game, algo", [("Pong", "ppo"), ("Breakout", "a2c")])
def test_a_short_atari_run_end_to_end(tmp_path, game, algo):
    run = subprocess.run(
        [sys.executable, "-m", "prefrl.cli", "train", "--env", f"prefrl/{game}-v0", "--timesteps", "2200",
         "--labels", "12", "--update-every", "1000", "--checkpoint-every", "0", "--no-progress",
         "--reward-max-steps", "3", "--reward-recent-fraction", "0.5",
         "--algo", algo, "--runs-dir", str(tmp_path), "--name", "atari"], capture_output=True, text=True,
        timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    (run_dir,) = tmp_path.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["env"] == f"prefrl/{game}-v0" and config["algo"] == algo
    progress = (run_dir / "progress.csv").read_text().splitlines()
    assert len(progress) >= 2 and "charts/labels" in progress[0]
    steps = [row["reward/train_steps"] for row in csv.DictReader(progress) if row.get("reward/train_steps")]
    assert float(steps[-1]) == 3  # the updates during RL take --reward-max-steps
    with PreferenceStore(run_dir / "preferences.sqlite") as store:
        assert store.count() == 12
        comparison = store.comparisons()[0]
        seg = store.segments([comparison.left_id])[comparison.left_id]
    assert seg.obs.shape == (25, 84, 84, 4) and seg.render_states.dtype == np.uint8
    assert (run_dir / "checkpoint" / "policy.zip").is_file() and (run_dir / "learning_curve.png").is_file()
    ev = subprocess.run([sys.executable, "-m", "prefrl.cli", "eval", str(run_dir), "--episodes", "1",
                         "--max-episode-steps", "1500"],  # a 2,200-step agent may not serve yet
                        capture_output=True, text=True, timeout=600)
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert "return" in ev.stdout.lower()
    if game == "Pong":  # where the run's reward model puts the points won and lost
        prof = subprocess.run([sys.executable, str(ROOT / "scripts" / "reward_event_profile.py"), str(run_dir),
                               "--window", "3", "--out", str(tmp_path / "profile")],
                              capture_output=True, text=True, timeout=600)
        assert prof.returncode == 0, prof.stderr[-3000:]
        assert "labelled segments" in prof.stdout and prof.stdout.count("\n| ") >= 8  # header + 7 offsets
        assert (tmp_path / "profile" / "reward_event_profile.png").read_bytes()[:4] == b"\x89PNG"


def test_device_auto_takes_the_gpu_for_pixels_only_and_cuda_without_one_is_a_usage_error():
    from prefrl.config import ConfigError
    from prefrl.rl.agent import resolve_device

    assert resolve_device("auto", pixels=False) == "cpu"
    assert resolve_device("cpu", pixels=True) == "cpu"
    if torch.cuda.is_available():
        assert resolve_device("auto", pixels=True) == "cuda"
        with pytest.raises(ConfigError, match="numbered from 0"):
            resolve_device(f"cuda:{torch.cuda.device_count()}", pixels=True)
    else:
        assert resolve_device("auto", pixels=True) == "cpu"
        with pytest.raises(ConfigError, match="torch sees no CUDA GPU"):
            resolve_device("cuda", pixels=True)
