import csv
import dataclasses
import json
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from prefrl.cli import main

ARGS = ["--env", "HalfCheetah-v5", "--timesteps", "14000", "--labels", "24", "--n-envs", "2",
        "--update-every", "1000", "--checkpoint-every", "2000", "--seed", "5", "--no-progress",
        "--reward-norm-data", "initial"]


def labels_in(run):
    db = sqlite3.connect(run / "preferences.sqlite")
    rows = db.execute("SELECT id, left_id, right_id, answer FROM comparisons ORDER BY id").fetchall()
    db.close()
    return rows


def test_resume_after_sigkill_keeps_every_label_and_finishes_the_budget(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "prefrl.cli", "train", *ARGS, "--runs-dir", str(runs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    run = None
    try:
        while time.time() < deadline:
            found = [p for p in runs.glob("*") if (p / "checkpoint" / "state.pt").exists()] if runs.exists() else []
            if found and len(labels_in(found[0])) >= 12:
                run = found[0]
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert run is not None, "the run never reached a checkpoint"
    before = labels_in(run)
    assert len(before) < 24
    reference = torch.load(run / "checkpoint" / "state.pt", weights_only=False)["norm_reference"]

    assert main(["train", "--resume", str(run)]) == 0
    after = labels_in(run)
    assert after[:len(before)] == before  # every stored label kept, unchanged
    assert len(after) == 24  # the same label count as an uninterrupted run
    with (run / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    steps = [float(r["charts/env_steps"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] >= 14000
    walls = [float(r["charts/wall_seconds"]) for r in rows]
    assert walls == sorted(walls)  # the run's clock goes on from the checkpoint, not from zero
    # the reward's normalisation sample (--reward-norm-data initial) came back with the checkpoint
    kept = torch.load(run / "checkpoint" / "state.pt", weights_only=False)["norm_reference"]
    assert all(np.array_equal(a, b) for a, b in zip(kept, reference)) and len(reference[0]) > 0


def test_resume_rejects_other_flags_and_non_runs(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--labels", "5"]) == 2
    assert "drop --labels" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "pass a run folder" in capsys.readouterr().err
    (tmp_path / "config.json").write_text('{"env": "HalfCheetah-v5"}')
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "state.pt").write_bytes(b"truncated")
    assert main(["train", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot read" in err and "state.pt" in err, err


def test_a_run_records_the_defaults_it_takes_so_a_resume_keeps_them():
    from dataclasses import fields

    from prefrl.config import TrainConfig
    from prefrl.rl.training import plan_run, resolved_config, reward_trainer_config

    for config in (TrainConfig(env="prefrl/Pong-v0", labels=3300, timesteps=1_000_000),
                   TrainConfig(env="HalfCheetah-v5", labels=700, timesteps=1_000_000, reward_max_steps=7),
                   TrainConfig(env="prefrl/Walker2d-v0", labels=700, timesteps=1_000_000, reward_l2_max=0.5)):
        plan = plan_run(config)
        written = resolved_config(plan)
        defaults = {"segment_length", "segment_buffer", "initial_label_fraction", "schedule_horizon",
                    "pretrain_epochs", "reward_max_steps", "reward_recent_fraction", "n_envs",
                    "reward_l2_max", "pretrain_l2", "reward_norm_data", "reward_frame_stride", "reward_batch_size"}
        assert all(getattr(written, name) is not None for name in defaults)
        assert written.reward_max_steps == reward_trainer_config(plan).max_steps
        # read back from JSON, the written config plans the same run, flag for flag
        again = plan_run(TrainConfig(**json.loads(written.to_json())))
        assert reward_trainer_config(again) == reward_trainer_config(plan)
        for f in fields(plan):
            if f.name != "config":
                assert getattr(again, f.name) == getattr(plan, f.name), f.name
    pong = resolved_config(plan_run(TrainConfig(env="prefrl/Pong-v0", labels=3300, timesteps=1_000_000)))
    assert (pong.reward_max_steps, pong.reward_recent_fraction, pong.label_buffer, pong.segment_length) == (30, 0.5, 3000, 25)
    assert (pong.reward_conv_dropout, pong.reward_frame_stride, pong.reward_batch_size) == (0.0, 4, 16)
    assert round(pong.initial_label_fraction * 3300) == 500


def test_tasks_take_their_own_reward_settings_unless_flags_say_otherwise():
    from prefrl.config import TrainConfig
    from prefrl.rl.training import make_reward_model, plan_run, resolved_config, reward_trainer_config

    def taken(**flags):
        plan = plan_run(TrainConfig(labels=700, timesteps=1_000_000, **flags))
        trainer, written = reward_trainer_config(plan), resolved_config(plan)
        assert (trainer.l2_max, trainer.pretrain_l2_every_epoch) == (written.reward_l2_max, written.pretrain_l2 == "epoch")
        return written.reward_l2_max, written.pretrain_l2, written.reward_norm_data

    assert taken(env="prefrl/Walker2d-v0") == (0.1, "epoch", "initial")
    assert taken(env="prefrl/Walker2d-v0", reward_l2_max=1.0, reward_norm_data="recent") == (1.0, "epoch", "recent")
    assert taken(env="prefrl/Walker2d-v0", pretrain_l2="end") == (0.1, "end", "initial")
    # the raw Gymnasium id, the other paper tasks and Atari keep the paper's rule
    for env in ("Walker2d-v5", "prefrl/Hopper-v0", "prefrl/HalfCheetah-v0", "prefrl/Pong-v0"):
        assert taken(env=env) == (1.0, "end", "recent"), env
    # what the MLP sees: the paper's (observation, action) unless the task's row (HalfCheetah: the
    # observation alone) or --reward-inputs says otherwise, written into config.json and built so
    for env, flags, inputs in (("prefrl/Hopper-v0", {}, "obs_act"), ("prefrl/Hopper-v0", {"reward_inputs": "obs"}, "obs"),
                               ("HalfCheetah-v5", {}, "obs_act"), ("prefrl/HalfCheetah-v0", {}, "obs"),
                               ("prefrl/HalfCheetah-v0", {"reward_inputs": "obs_act"}, "obs_act")):
        plan = plan_run(TrainConfig(env=env, labels=700, timesteps=1_000_000, **flags))
        assert resolved_config(plan).reward_inputs == inputs
        model = make_reward_model(dataclasses.replace(plan, config=resolved_config(plan)))
        assert (model.input_act_dim > 0) == (inputs == "obs_act")


@pytest.mark.parametrize("env, unrecorded", [
    ("prefrl/Walker2d-v0", {"reward_l2_max": 1.0, "pretrain_l2": "end"}),
    ("prefrl/Walker2d-v0", {"reward_norm_data": "recent"}),
    ("prefrl/Walker2d-v0", {"reward_frame_stride": 1, "reward_conv_dropout": None}),
    ("prefrl/Pong-v0", {"reward_frame_stride": 1, "reward_conv_dropout": 0.5}),
])
def test_a_run_from_before_a_setting_was_recorded_resumes_with_the_value_it_used(tmp_path, env, unrecorded):
    from prefrl.config import TrainConfig

    saved = json.loads(TrainConfig(env=env).to_json())
    for key in unrecorded:
        del saved[key]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config = TrainConfig.from_json_file(tmp_path / "config.json")
    assert {key: getattr(config, key) for key in unrecorded} == unrecorded


def _true_reward_arm(out):
    from prefrl.rl.baseline import train_true_reward

    train_true_reward("Hopper-v5", 16384, 0, out, checkpoint_every=4096, resume=True)


def test_a_killed_true_reward_arm_resumes_from_its_checkpoint_with_its_curve_and_clock(tmp_path):
    import multiprocessing as mp

    from prefrl.rl.baseline import train_true_reward
    from prefrl.rl.checkpoint import checkpoint_state

    out = tmp_path / "arm"
    proc = mp.get_context("spawn").Process(target=_true_reward_arm, args=(out,))
    proc.start()
    deadline = time.time() + 300
    while not (out / "checkpoint" / "state.pt").exists() and time.time() < deadline and proc.is_alive():
        time.sleep(0.2)
    proc.kill()
    proc.join()
    state = checkpoint_state(out)
    assert state is not None and 4096 <= state["num_timesteps"] < 16384, state
    with (out / "curve.csv").open() as f:
        before = [r for r in csv.DictReader(f) if float(r["env_steps"]) <= state["num_timesteps"]]

    wall = train_true_reward("Hopper-v5", 16384, 0, out, checkpoint_every=4096, resume=True)
    with (out / "curve.csv").open() as f:
        after = list(csv.DictReader(f))
    assert after[:len(before)] == before  # the rows up to the checkpoint kept as they were
    steps = [float(r["env_steps"]) for r in after]
    assert steps == sorted(set(steps)) and steps[-1] >= 16384  # none twice, and the run finished
    walls = [float(r["wall_seconds"]) for r in after]
    assert walls == sorted(walls) and wall > state["wall_seconds"]
    assert checkpoint_state(out)["num_timesteps"] >= 16384
    # a finished arm is left as it is
    assert train_true_reward("Hopper-v5", 16384, 0, out, resume=True) == checkpoint_state(out)["wall_seconds"]


def test_a_checkpoint_killed_mid_swap_is_read_from_the_whole_old_one(tmp_path):
    from prefrl.rl.checkpoint import checkpoint_state

    assert checkpoint_state(tmp_path) is None
    (tmp_path / "checkpoint.old").mkdir()
    torch.save({"num_timesteps": 7}, tmp_path / "checkpoint.old" / "state.pt")
    (tmp_path / "checkpoint.tmp").mkdir()  # the new one, perhaps half written
    assert checkpoint_state(tmp_path) == {"num_timesteps": 7}
    assert (tmp_path / "checkpoint" / "state.pt").is_file() and not (tmp_path / "checkpoint.old").exists()
