import csv
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prefrl.cli import main

REQUIRED_COLUMNS = {
    "charts/true_return", "charts/pred_return", "charts/labels", "charts/steps_per_second",
    "charts/env_steps", "reward/heldout_accuracy", "reward/return_corr",
}


def run_folders(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []


def test_train_end_to_end_on_mujoco_writes_a_complete_run_folder(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.run(
        [shutil.which("prefrl") or sys.executable, *([] if shutil.which("prefrl") else ["-m", "prefrl.cli"]),
         "train", "--env", "HalfCheetah-v5", "--timesteps", "4000", "--labels", "10", "--n-envs", "2",
         "--update-every", "1000", "--seed", "3", "--name", "e2e", "--runs-dir", str(runs), "--no-progress",
         "--disagreement-weight", "0.5", "--disagreement-until", "0.5"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = run_folders(runs)
    assert run.name.startswith("HalfCheetah-v5__e2e__3__")
    config = json.loads((run / "config.json").read_text())
    assert config["labels"] == 10 and config["env"] == "HalfCheetah-v5"
    assert config["segment_length"] == 30 and config["n_envs"] == 2  # the defaults it took, recorded

    db = sqlite3.connect(run / "preferences.sqlite")
    comparisons = db.execute("SELECT left_id, right_id, answer, teacher, created FROM comparisons").fetchall()
    assert len(comparisons) == 10
    assert all(c[3] == "oracle" and c[2] in ("left", "right", "equal") and c[4] > 0 for c in comparisons)
    segment_ids = {row[0] for row in db.execute("SELECT id FROM segments")}
    assert {c[0] for c in comparisons} | {c[1] for c in comparisons} <= segment_ids
    (length,) = db.execute("SELECT DISTINCT length FROM segments").fetchone()
    assert length == 30  # 1.5 s at HalfCheetah's dt of 0.05 s
    db.close()

    with (run / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert REQUIRED_COLUMNS <= set(rows[0])
    assert any(r["charts/true_return"] for r in rows)
    assert float(rows[-1]["charts/env_steps"]) >= 4000
    assert float(rows[-1]["charts/labels"]) == 10
    # the disagreement's weight falls linearly from 0.5 to none at half the run (2,000 steps)
    weights = [(float(r["charts/env_steps"]), float(r["reward/disagreement_weight"])) for r in rows]
    assert any(t < 2000 for t, _ in weights) and any(t >= 2000 for t, _ in weights)
    assert all(0 < w < 0.5 for t, w in weights if t < 2000) and all(w == 0 for t, w in weights if t >= 2000)
    assert all(abs(w - 0.5 * (1 - t / 2000)) < 1e-9 for t, w in weights if t < 2000)
    assert list(run.glob("events.out.tfevents.*")), "no TensorBoard log"
    for name in ("policy.zip", "vecnormalize.pkl", "state.pt"):
        assert (run / "checkpoint" / name).stat().st_size > 0
    png = (run / "learning_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

    videos = tmp_path / "videos"
    assert main(["eval", str(run), "--episodes", "1", "--video", "--video-seconds", "1",
                 "--videos-dir", str(videos)]) == 0
    clip = (videos / run.name / "eval.webm").read_bytes()
    assert clip[:4] == b"\x1a\x45\xdf\xa3" and len(clip) > 1000  # an EBML (WebM) file with content


def expect_usage_error(capsys, argv, fragment, runs):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith("prefrl train: error:") and fragment in err, err
    assert run_folders(runs) == []


@pytest.mark.parametrize("flags, fragment", [
    (["--env", "HalfCheeta-v5"], "unknown env id 'HalfCheeta-v5'"),
    (["--timesteps", "0"], "--timesteps must be positive"),
    (["--labels", "-5"], "--labels must be positive"),
    (["--labels", "5000", "--timesteps", "20000"], "cannot be spent"),
    (["--reward-recent-fraction", "1.5"], "--reward-recent-fraction must be within [0, 1]"),
    (["--device", "gpu"], "--device must be auto, cpu, cuda or cuda:N, got 'gpu'"),
    (["--disagreement-weight", "nan"], "--disagreement-weight must be a finite number"),
    (["--disagreement-until", "1.5"], "--disagreement-until is a share of --timesteps within (0, 1]"),
    (["--labels", "60", "--timesteps", "4000", "--n-envs", "2", "--initial-label-fraction", "1"],
     "leaving less than one PPO rollout"),
    (["--explore-steps", "-1"], "--explore-steps must be 0 or positive"),
    (["--env", "prefrl/Hopper-v0", "--initial-episode-steps", "90"], "not a multiple of the 60-step segments; use 120"),
    (["--env", "prefrl/Hopper-v0", "--initial-episode-steps", "1200"], "exceeds the env's 1000-step episodes"),
    (["--reward-dropout", "1"], "--reward-dropout must be within [0, 1)"),
    (["--env", "prefrl/Pong-v0", "--reward-conv-dropout", "1"], "--reward-conv-dropout must be within [0, 1)"),
    (["--reward-conv-dropout", "0"], "--reward-conv-dropout is for the Atari games"),
    (["--reward-frame-stride", "0"], "--reward-frame-stride must be positive"),
    (["--reward-batch-size", "0"], "--reward-batch-size must be positive"),
    (["--reward-l2-max", "0"], "--reward-l2-max must be a positive number"),
    (["--env", "prefrl/Pong-v0", "--reward-dropout", "0.5"], "--reward-dropout is for the vector tasks"),
    (["--env", "prefrl/Pong-v0", "--explore-steps", "1000"], "--explore-steps is for the vector tasks"),
    (["--timesteps", "8000", "--labels", "10", "--n-envs", "2", "--explore-steps", "7500"],
     "--explore-steps 7500 leaves less than one PPO rollout"),
])
def test_bad_input_gives_one_line_error_exit_2_and_no_run_folder(tmp_path, capsys, flags, fragment):
    runs = tmp_path / "runs"
    expect_usage_error(capsys, ["train", "--runs-dir", str(runs), "--no-progress", *flags], fragment, runs)


def test_unwritable_run_folder_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    runs = blocker / "runs"  # cannot be created under a file, even by root
    expect_usage_error(capsys, ["train", "--runs-dir", str(runs), "--timesteps", "4000", "--labels", "4",
                                "--n-envs", "2", "--no-progress"], "choose a writable --runs-dir", tmp_path / "none")


def test_console_command_exits_2_on_bad_input(tmp_path):
    cmd = shutil.which("prefrl")
    argv = [cmd] if cmd else [sys.executable, "-m", "prefrl.cli"]
    proc = subprocess.run([*argv, "train", "--env", "NoSuchEnv-v0", "--runs-dir", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown env id" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_every_train_flag_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    from prefrl.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    for action in train._actions:
        assert action.help, f"{action.option_strings} has no help"
    assert "--labels" in out and "--timesteps" in out


def test_eval_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pass a run folder written by `prefrl train`" in err


@pytest.mark.parametrize("config_text, fragment", [
    ('{"env": "HalfCheetah-v5", "explore_bonus": 1.0}', "does not know (explore_bonus)"),
    ('{"env": "HalfCheetah-v5",', "is not valid JSON"),
])
def test_eval_and_resume_reject_a_config_from_another_version_in_one_line(tmp_path, capsys, config_text, fragment):
    (tmp_path / "checkpoint").mkdir()
    for name in ("policy.zip", "state.pt"):
        (tmp_path / "checkpoint" / name).write_bytes(b"x")
    (tmp_path / "config.json").write_text(config_text)
    for argv in (["eval", str(tmp_path)], ["train", "--resume", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and fragment in err, err


def _fake_run(folder: Path, name: str, steps: int, returns: list[float], accuracy: list[float]) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"env": "prefrl/Pong-v0", "name": name, "seed": 0,
                                                    "reward_max_steps": steps, "runs_dir": str(folder.parent)}))
    with (folder / "progress.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["charts/env_steps", "charts/true_return", "reward/heldout_accuracy"])
        for i, (ret, acc) in enumerate(zip(returns, accuracy)):
            w.writerow([1000 * (i + 1), ret, acc])
    return folder


def test_plot_compares_runs_named_by_the_settings_they_differ_in(tmp_path, capsys):
    from prefrl.plotting import comparison_labels, curve_source, trailing_mean

    a = _fake_run(tmp_path / "a", "fast", 15, [-21, -20, -18], [0.6, 0.8, 0.9])
    b = _fake_run(tmp_path / "b", "slow", 30, [-21, -15, -5], [0.7, 0.9, 1.0])
    arm = tmp_path / "Pong__prefrl__0"  # a benchmark arm folder naming its run folder
    arm.mkdir()
    (arm / "run_dir.txt").write_text(str(b))
    true_arm = tmp_path / "Pong__true_reward__0"
    true_arm.mkdir()
    (true_arm / "curve.csv").write_text("env_steps,wall_seconds,true_return\n1000,1.0,-20\n2000,2.0,-10\n")
    assert curve_source(arm)[0] == b / "progress.csv"
    configs = [curve_source(f)[3] for f in (a, arm, true_arm)]
    assert comparison_labels([a, arm, true_arm], configs) == [
        "fast seed 0 (reward_max_steps=15)", "slow seed 0 (reward_max_steps=30)", "Pong__true_reward__0"]
    assert trailing_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2).tolist() == [1.0, 2.0, 4.0, 6.0]

    out = tmp_path / "cmp.png"
    assert main(["plot", str(a), str(arm), str(true_arm), "--out", str(out), "--smooth", "2"]) == 0
    assert out.stat().st_size > 10_000 and capsys.readouterr().out.strip() == str(out)
    assert main(["plot", str(a)]) == 0 and (a / "learning_curve.png").is_file()  # one run: its own curve

    assert main(["plot", str(a), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "neither progress.csv" in err
    assert main(["plot", str(a), str(b), "--out", str(tmp_path / "missing" / "x.png")]) == 2
    assert "choose a writable --out" in capsys.readouterr().err
    assert main(["plot", str(a), str(b), "--smooth", "0"]) == 2


def test_plot_comparison_says_default_where_a_run_recorded_none_and_finds_moved_bench_folders(tmp_path, capsys):
    from prefrl.plotting import comparison_labels, curve_source

    old = {"env": "prefrl/Pong-v0", "name": "old", "seed": 0, "reward_max_steps": None}
    new = {"env": "prefrl/Pong-v0", "name": "new", "seed": 1, "reward_max_steps": 30}
    assert comparison_labels([Path("a"), Path("b")], [old, new]) == [
        "old seed 0 (reward_max_steps=default)", "new seed 1 (reward_max_steps=30)"]
    # a benchmark arm folder whose run_dir.txt holds the path as seen from where the benchmark ran
    arm = tmp_path / "Pong__prefrl__0"
    run = _fake_run(arm / "prefrl-Pong-v0__bench__0__x", "bench", 15, [], [])
    (arm / "run_dir.txt").write_text("runs/bench_atari/Pong__prefrl__0/prefrl-Pong-v0__bench__0__x")
    assert curve_source(arm)[0] == run / "progress.csv"
    # one run with --out: the comparison layout; a run without a finished game is still drawn
    out = tmp_path / "one.png"
    assert main(["plot", str(arm), "--out", str(out)]) == 0 and out.stat().st_size > 10_000
    (run / "config.json").write_text("{not json")
    assert main(["plot", str(arm), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot read" in err and "config.json" in err
