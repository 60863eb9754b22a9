import csv
import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def script_module(name: str):
    """The module of scripts/<name>.py, imported as the scripts import each other."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_bench_mujoco_runs_end_to_end_on_a_tiny_budget(tmp_path):
    out = tmp_path / "bench"
    sb3_default_log = tmp_path / "sb3-default-log"  # where SB3 would make its own logger's folder
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--envs", "HalfCheetah-v5", "--seeds", "0",
         "--timesteps", "4096", "--labels", "10", "12", "--eval-episodes", "1", "--jobs", "2", "--out", str(out),
         "--prefrl-flags", "--reward-norm-data initial --update-every 2048"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "SB3_LOGDIR": str(sb3_default_log)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not sb3_default_log.exists()  # no arm leaves an empty SB3 log folder behind
    results = json.loads((out / "results.json").read_text())
    assert sorted((r["arm"], r["labels"]) for r in results) == [("prefrl", 10), ("prefrl", 12), ("true_reward", 10)]
    for r in results:
        assert r["steps_per_s"] > 0 and r["wall_s"] > 0
        assert r["ppo"]["n_envs"] == 8 and r["ppo"]["gamma"] == 0.98  # the row each arm ran with
        assert isinstance(r["return_mean"], float) and isinstance(r["return_sampled_mean"], float)
        if r["arm"] == "prefrl":  # the reward model's settings, as the run resolved them
            assert r["reward"] == {"inputs": "obs_act", "l2_max": 1.0, "pretrain_l2": "end", "norm_data": "initial"}
    table = (out / "results.md").read_text()
    flags = "(--update-every 2048 --reward-norm-data initial)"  # the reward settings the run took go last
    assert f"| prefrl-10 {flags} |" in table and f"| prefrl-12 {flags} |" in table  # one row per budget
    assert "return / true-reward" in table and "steps/s / true-reward" in table
    assert "![curves](curves.png)" in table and (out / "curves.png").stat().st_size > 10_000
    configs = [json.loads(p.read_text()) for p in out.glob("*prefrl-1*/*/config.json")]
    assert len(configs) == 2  # the extra flags reached both prefrl runs
    assert all(c["reward_norm_data"] == "initial" and c["update_every"] == 2048 for c in configs)


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state, ppid, ...); None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if (f := _stat(int(p.name))) and int(f[1]) == pid]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_bench_mujoco_stopped_with_sigterm_stops_its_workers(tmp_path):
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--envs", "HalfCheetah-v5", "--seeds", "0",
         "--timesteps", "1000000", "--labels", "10", "--jobs", "1", "--arms", "true_reward", "--out",
         str(tmp_path / "bench")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (workers := _children(proc.pid)) and time.time() < deadline:
            time.sleep(0.5)
        assert workers, "no worker process started"
        time.sleep(3)  # the worker is under way
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) != 0
        deadline = time.time() + 30
        def survivors() -> list[int]:  # a zombie has stopped running
            return [w for w in workers if (f := _stat(w)) and f[0] != "Z"]

        while survivors() and time.time() < deadline:
            time.sleep(0.5)
        assert not survivors(), f"workers {survivors()} outlived the stopped benchmark"
    finally:
        proc.kill()


def _arm_run(arm, seed, ret, flags="", steps_per_s=1000.0):
    return {"env": "prefrl/Hopper-v0", "seed": seed, "arm": arm, "timesteps": 1000, "labels": 700,
            "eval_episodes": 1, "out": "/nonexistent", "prefrl_flags": flags, "wall_s": 1.0,
            "steps_per_s": steps_per_s, "return_mean": ret, "return_std": 0.0, "return_sampled_mean": ret}


def test_bench_mujoco_merges_runs_and_takes_ratios_over_shared_seeds(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps([_arm_run("true_reward", s, r) for s, r in [(0, 100.0), (1, 300.0), (2, 1000.0)]]))
    second.write_text(json.dumps([_arm_run("prefrl", 0, 100.0, "--reward-inputs obs", 900.0),
                                  _arm_run("prefrl", 1, 200.0, "--reward-inputs obs", 900.0),
                                  _arm_run("prefrl", 0, 50.0),
                                  _arm_run("true_reward", 0, 7.0)]))  # seed 0 is in the first file already
    out = tmp_path / "merged"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--merge", str(first),
                           str(second), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "true_reward seed 0 is in more than one file" in proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert len(results) == 6 and sum(r["return_mean"] == 7.0 for r in results) == 0
    table = (out / "results.md").read_text()
    # obs variant: seeds 0-1 only, (100 + 200) / (100 + 300) = 0.75x, not over all three true-reward seeds
    assert "| prefrl/Hopper-v0 | prefrl-700 (--reward-inputs obs) | 2 | 0.75x | 0.75x | 0.90x |" in table
    assert "| prefrl/Hopper-v0 | prefrl-700 | 1 | 0.50x | 0.50x | 1.00x |" in table  # the default, seed 0
    assert "| prefrl/Hopper-v0 | true_reward | 3 | 467 ± " in table
    # per-seed differences 0 and -100: mean -50, standard error 50; one shared seed gives no row
    assert "| prefrl/Hopper-v0 | prefrl-700 (--reward-inputs obs) | true_reward | 2 | -50 ± 50 |" in table
    assert "| prefrl/Hopper-v0 | prefrl-700 | true_reward |" not in table


def test_bench_mujoco_names_a_variant_by_the_reward_settings_it_took_not_the_flags_that_said_it():
    variant = script_module("bench_mujoco").variant
    walker = {"env": "prefrl/Walker2d-v0", "arm": "prefrl", "labels": 700}
    row = "--reward-l2-max 0.1 --pretrain-l2 epoch --reward-norm-data initial"
    # session 19 spelled Walker2d's row out; a run from session 20 on takes it unasked and records it
    spelled = walker | {"prefrl_flags": "--reward-norm-data initial --reward-l2-max 0.1 --pretrain-l2 epoch"}
    recorded = walker | {"prefrl_flags": "", "reward": {"l2_max": 0.1, "pretrain_l2": "epoch", "norm_data": "initial"}}
    assert variant(spelled) == variant(recorded) == f"prefrl-700 ({row})"
    # flags that restate the paper's rule drop out; the others stay, in the order given
    old_rule = walker | {"prefrl_flags": "--reward-norm-data=initial --reward-l2-max 1.0 --pretrain-l2 end --oversample 30"}
    assert variant(old_rule) == "prefrl-700 (--oversample 30 --reward-norm-data initial)"
    gone = walker | {"prefrl_flags": "--reward-norm-data initial --no-such-flag 2"}  # one `prefrl train` lost
    assert variant(gone) == "prefrl-700 (--reward-norm-data initial --no-such-flag 2)"
    # before session 19 a run without flags took the paper's rule, after it Walker2d's row: apart
    assert variant(walker | {"prefrl_flags": ""}) == "prefrl-700"
    assert variant(walker | {"prefrl_flags": "--initial-label-fraction 0.5", "reward": recorded["reward"]}) == (
        f"prefrl-700 (--initial-label-fraction 0.5 {row})")
    assert variant({"env": "prefrl/Walker2d-v0", "arm": "true_reward", "labels": 700}) == "true_reward"
    # the model's inputs: flagged before session 21, recorded after it; a record without them
    # (session 20) falls back on the flags, and the inputs come first
    cheetah = {"env": "prefrl/HalfCheetah-v0", "arm": "prefrl", "labels": 700}
    flagged = cheetah | {"prefrl_flags": "--reward-l2-max 0.1 --reward-inputs obs",
                         "reward": {"l2_max": 0.1, "pretrain_l2": "end", "norm_data": "recent"}}
    taken = cheetah | {"prefrl_flags": "--reward-l2-max 0.1",
                       "reward": {"inputs": "obs", "l2_max": 0.1, "pretrain_l2": "end", "norm_data": "recent"}}
    assert variant(flagged) == variant(taken) == "prefrl-700 (--reward-inputs obs --reward-l2-max 0.1)"
    assert variant(cheetah | {"prefrl_flags": "--reward-inputs obs_act"}) == "prefrl-700"


def test_bench_mujoco_merge_keeps_only_the_envs_asked_for(tmp_path):
    results = tmp_path / "a.json"
    walker = {"env": "prefrl/Walker2d-v0"}
    results.write_text(json.dumps([_arm_run("true_reward", 0, 100.0), _arm_run("true_reward", 0, 800.0) | walker,
                                   _arm_run("prefrl", 0, 400.0) | walker]))

    def merge(*envs):
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--merge", str(results),
                               "--envs", *envs, "--out", str(tmp_path / "out")], capture_output=True, text=True,
                              timeout=120)

    assert merge("prefrl/Walker2d-v0").returncode == 0
    kept = json.loads((tmp_path / "out" / "results.json").read_text())
    assert sorted((r["env"], r["return_mean"]) for r in kept) == [("prefrl/Walker2d-v0", 400.0),
                                                                  ("prefrl/Walker2d-v0", 800.0)]
    assert "| prefrl/Walker2d-v0 | prefrl-700 | 1 | 0.50x |" in (tmp_path / "out" / "results.md").read_text()
    proc = merge("prefrl/Swimmer-v0")
    assert proc.returncode == 2 and "no runs of prefrl/Swimmer-v0 in these files" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bench_mujoco_merge_rejects_missing_and_foreign_files(tmp_path):
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"not": "a list"}))
    for path, message in [(tmp_path / "missing.json", "no file"), (foreign, "is not a bench_mujoco results.json")]:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--merge", str(path),
                               "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_bench_mujoco_merge_refuses_runs_of_different_ppo_rows(tmp_path):
    row = {"n_envs": 8, "gamma": 0.99, "log_std_init": -1.0}
    old, new, unrecorded = tmp_path / "old.json", tmp_path / "new.json", tmp_path / "unrecorded.json"
    old.write_text(json.dumps([_arm_run("true_reward", 0, 100.0) | {"ppo": row}]))
    new.write_text(json.dumps([_arm_run("prefrl", 0, 90.0) | {"ppo": row | {"log_std_init": 0.0}}]))
    unrecorded.write_text(json.dumps([_arm_run("prefrl", 1, 80.0)]))  # from before rows were recorded

    def merge(*paths):
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--merge",
                               *map(str, paths), "--out", str(tmp_path / "out")],
                              capture_output=True, text=True, timeout=120)

    proc = merge(old, new)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "prefrl/Hopper-v0 runs were made with different PPO rows (log_std_init -1.0 vs 0.0)" in proc.stderr
    assert not (tmp_path / "out" / "results.json").exists()
    assert merge(old, unrecorded).returncode == 0


def assert_refused(command: list[str], cases, not_a_run: Path | None = None) -> None:
    """Each (args, message) of `cases` added to `command`: exit 2, the message on one line of stderr.
    With `not_a_run`: the script (command[:2]) given that folder instead of a run folder says so."""
    for args, message in cases:
        bad = subprocess.run(command + args, capture_output=True, text=True, timeout=300)
        assert bad.returncode == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, (
            args, bad.stderr)
    if not_a_run is not None:
        bad = subprocess.run(command[:2] + [str(not_a_run)], capture_output=True, text=True, timeout=300)
        assert bad.returncode == 2 and "has no config.json" in bad.stderr, bad.stderr


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory):
    """A tiny finished Hopper run, shared by the scripts that read run folders."""
    runs = tmp_path_factory.mktemp("runs")
    train = subprocess.run([sys.executable, "-m", "prefrl.cli", "train", "--env", "prefrl/Hopper-v0",
                            "--timesteps", "4096", "--labels", "12", "--update-every", "2048", "--runs-dir",
                            str(runs), "--no-progress"], capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    return next(runs.glob("prefrl-Hopper-v0__*"))


def test_reward_fit_curve_retrains_on_a_runs_labels_and_tests_on_held_out_ones(hopper_run, tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "reward_fit_curve.py"), str(hopper_run)]
    proc = subprocess.run(script + ["--steps", "0", "15", "--test-fraction", "0.25", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "9 training labels, 3 test labels" in proc.stdout
    rows = [line.split("|") for line in proc.stdout.splitlines() if line.startswith("| ") and "steps" not in line]
    assert [int(r[1]) for r in rows] == [0, 15]
    assert all(0.0 <= float(r[i]) <= 1.0 for r in rows for i in (2, 3))
    assert (tmp_path / "reward_fit_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert float(rows[1][4]) > 0  # the training loss after 15 steps
    other = subprocess.run(script + ["--steps", "5", "--test-fraction", "0.25", "--out", str(tmp_path),
                                     "--prefrl-flags", "--reward-l2-max 0.5"], capture_output=True, text=True,
                           timeout=300)
    assert other.returncode == 0 and "settings replaced: --reward-l2-max 0.5" in other.stdout, other.stderr[-3000:]
    assert_refused(script, [(["--test-fraction", "1.5"], "--test-fraction within (0, 1)"),
                            (["--test-fraction", "0.01"], "cannot be split"),
                            (["--prefrl-flags", "--bogus 1"], "unknown `prefrl train` flags --bogus"),
                            (["--prefrl-flags", "--reward-conv-dropout 0"], "is for the Atari games")],
                   not_a_run=tmp_path)


def test_probe_reward_scores_policies_with_a_runs_reward_model(hopper_run, tmp_path):
    run = hopper_run
    probe = [sys.executable, str(ROOT / "scripts" / "probe_reward.py"), str(run), "--steps", "60"]
    proc = subprocess.run(probe + ["--policies", str(run / "checkpoint")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split("|") for line in proc.stdout.splitlines() if line.startswith("| ") and "per step" not in line]
    assert [r[2].strip() for r in rows] == ["random actions", "this run's policy", str(run / "checkpoint")]
    true, learned = ([float(r[i]) for r in rows] for i in (3, 4))
    assert true[1] == true[2] and learned[1] == learned[2]  # the same policy, seed and steps score the same
    assert true[0] != true[1] and "orders these policies" in proc.stdout
    assert_refused(probe, [(["--steps", "0"], "--steps must be positive"),
                           (["--policies", str(tmp_path)], "holds no policy.zip")], not_a_run=tmp_path)


def test_bench_mujoco_rejects_bad_prefrl_flags():
    for flags, message in [("--bogus 1", "unknown `prefrl train` flags --bogus"),
                           ("--seed 3", "--seed is set by the benchmark"),
                           ("--device cuda", "--device is set by the benchmark"),
                           ("--update-every x", "invalid int value")]:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--prefrl-flags", flags],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and message in proc.stderr, (flags, proc.stderr)


def test_bench_mujoco_rejects_bad_budgets():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_mujoco.py"), "--timesteps", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "must be positive" in proc.stderr


def test_segment_signal_counts_how_often_the_first_segment_wins():
    first_segment_wins = script_module("segment_signal").first_segment_wins
    import numpy as np

    # 10 standing steps (+1), then lying (-1) with a noisy forward drift: the standing steps' edge
    # (20) is constant while the drift's spread grows with the segment length
    rng = np.random.default_rng(0)
    episodes = [np.concatenate([np.ones(10), -1 + rng.normal(0, 1, 4990)]) for _ in range(40)]
    assert first_segment_wins([np.array([1.0, 1.0, -1.0, -1.0])], 2) == 1.0
    assert first_segment_wins(episodes, 20) > 0.95
    assert first_segment_wins(episodes, 500) < 0.85


def test_segment_signal_plays_a_task_and_rejects_unknown_ones():
    script = str(ROOT / "scripts" / "segment_signal.py")
    proc = subprocess.run([sys.executable, script, "--task", "Hopper", "--episodes", "1", "--lengths", "30", "600"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| 30 |" in proc.stdout and "too short" in proc.stdout
    bad = subprocess.run([sys.executable, script, "--task", "Humanoid"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown task 'Humanoid'" in bad.stderr


def test_bench_reward_cnn_times_every_variant_and_rejects_bad_counts():
    script = str(ROOT / "scripts" / "bench_reward_cnn.py")
    proc = subprocess.run([sys.executable, script, "--members", "2", "--pairs", "1", "--segment-length", "2",
                           "--score-frames", "4", "--repeats", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| plain") or line.startswith("| prefrl")]
    assert rows[0].startswith("| plain float32 modules") and "| 1.00x |" in rows[0]
    assert any(r.startswith("| prefrl, float32") for r in rows)
    # every row has two positive times
    assert all(float(r.split("|")[2]) > 0 and float(r.split("|")[4]) > 0 for r in rows)
    bad = subprocess.run([sys.executable, script, "--repeats", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "must be positive" in bad.stderr


def test_bench_reward_update_times_an_atari_update_and_rejects_bad_counts():
    script = str(ROOT / "scripts" / "bench_reward_update.py")
    proc = subprocess.run([sys.executable, script, "--labels", "12", "--segment-length", "6", "--members", "2",
                           "--repeats", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "12 labels of 6-step segments, 2 members" in proc.stdout
    assert float(proc.stdout.split("median ")[1].split(" s")[0]) > 0
    bad = subprocess.run([sys.executable, script, "--labels", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "must be positive" in bad.stderr


def test_bench_atari_runs_both_arms_end_to_end_on_a_tiny_budget(tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "bench_atari.py")]
    proc = subprocess.run(script + ["--game", "Pong", "--seeds", "0", "--timesteps", "2200", "--labels", "12",
                                    "--eval-games", "1", "--jobs", "2", "--out", str(tmp_path),
                                    # two reward steps an update: a float32 CNN step takes seconds on CPUs without bfloat16
                                    "--prefrl-flags", "--update-every 1000 --checkpoint-every 0 --reward-max-steps 2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split("|") for line in proc.stdout.splitlines() if line.startswith("| Pong")]
    assert [r[2].strip() for r in rows] == ["true_reward", "prefrl (--update-every 1000 --checkpoint-every 0 --reward-max-steps 2)"]
    assert all(float(r[6]) > 0 and float(r[7]) > 0 for r in rows)  # steps/s and peak resident memory
    assert "steps/s prefrl / true-reward" in proc.stdout
    # --jobs 2: side by side, but in 275 steps an env finishes no game of Pong, so the true-reward
    # arm's curve has no rows to time it by
    assert "over the span both arms ran at once: seed 0: n/a (too few rows)" in proc.stdout
    assert "\nCPU: " in proc.stdout and all(r["cpu"] for r in json.loads((tmp_path / "results.json").read_text()))
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "results.md").read_text()
    assert "prefrl (--update-every 1000" in md and "--prefrl-flags '--update-every 1000 --checkpoint-every 0 --reward-max-steps 2'" in md
    # the same --out again: refused without --resume, and with other settings
    again = script + ["--game", "Pong", "--seeds", "0", "--timesteps", "2200", "--labels", "12", "--eval-games", "1",
                      "--jobs", "2", "--out", str(tmp_path), "--prefrl-flags",
                      "--update-every 1000 --checkpoint-every 0 --reward-max-steps 2"]
    bad = subprocess.run(again, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "already holds a benchmark's arm-runs" in bad.stderr and "--resume" in bad.stderr
    other = [a if a != "12" else "14" for a in again]
    bad = subprocess.run(other + ["--resume"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "ran with --labels 12" in bad.stderr
    # a benchmark stopped after the prefrl arm trained but before it was scored: --resume keeps the
    # true-reward arm's result, scores the finished prefrl run without training it again
    results = json.loads((tmp_path / "results.json").read_text())
    (tmp_path / "results.json").write_text(json.dumps([r for r in results if r["arm"] == "true_reward"]))
    progress = next(tmp_path.glob("Pong__prefrl__0/*/progress.csv"))
    trained = progress.read_bytes()
    memory_rows = len((tmp_path / "Pong__prefrl__0" / "memory.csv").read_text().splitlines())
    proc = subprocess.run(again + ["--resume"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert progress.read_bytes() == trained
    resumed = json.loads((tmp_path / "results.json").read_text())
    assert resumed[0] == results[[r["arm"] for r in results].index("true_reward")]  # kept as it was
    assert [r["arm"] for r in resumed] == ["true_reward", "prefrl"] and resumed[1]["resumed"] is True
    assert "resumed after a stop: prefrl seed 0" in proc.stdout
    assert len((tmp_path / "Pong__prefrl__0" / "memory.csv").read_text().splitlines()) >= memory_rows  # appended
    bad = subprocess.run(script + ["--prefrl-flags", "--algo a2c"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--algo is set by the benchmark" in bad.stderr
    bad = subprocess.run(script + ["--device", "tpu"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--device must be auto, cpu, cuda or cuda:N" in bad.stderr


def test_bench_atari_resumes_the_newest_prefrl_run_that_wrote_a_checkpoint(tmp_path):
    module = script_module("bench_atari")
    MemorySampler, last_wall_seconds = module.MemorySampler, module.last_wall_seconds
    stopped_prefrl_run = module.stopped_prefrl_run

    assert stopped_prefrl_run(tmp_path) is None
    for name, folder in (("old", "checkpoint"), ("killed-mid-swap", "checkpoint.old"), ("no-checkpoint", None)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
        if folder:
            (tmp_path / name / folder).mkdir()
            (tmp_path / name / folder / "state.pt").write_bytes(b"")
        os.utime(tmp_path / name / "config.json", (1000 + len(name), 1000 + len(name)))
    assert stopped_prefrl_run(tmp_path).name == "killed-mid-swap"  # newest with a checkpoint
    memory = tmp_path / "memory.csv"
    memory.write_text("wall_seconds,rss_mib\n5.0,100\n10.0,120\n")
    assert last_wall_seconds(memory) == 10.0
    sampler = MemorySampler(memory, append=True)
    assert 9.5 < __import__("time").time() - sampler.started < 11  # its clock goes on from the last sample


def test_bench_atari_throughput_is_taken_over_the_span_both_arms_ran_at_once(tmp_path):
    module = script_module("bench_atari")
    side_by_side, span_ratio = module.side_by_side, module.span_ratio
    import numpy as np

    # PPO alone: 200 steps/s from a 20 s set-up to 5,020 s; prefrl started 10 s later, 40 s of set-up,
    # then 150 steps/s to the end of the true-reward arm's run and alone faster after it (the
    # whole-run ratio would flatter it)
    true_wall = np.arange(20.0, 5020.0, 7.0)
    (tmp_path / "Pong__true_reward__0").mkdir()
    (tmp_path / "Pong__true_reward__0" / "curve.csv").write_text(
        "env_steps,wall_seconds,true_return\n" + "".join(f"{200 * (t - 20)},{t},-20\n" for t in true_wall))
    run = tmp_path / "Pong__prefrl__0" / "prefrl-Pong-v0__bench__0__x"
    run.mkdir(parents=True)
    (tmp_path / "Pong__prefrl__0" / "run_dir.txt").write_text(str(run))
    wall = np.arange(40.0, 7000.0, 5.0)  # on its own clock, which starts 10 s after the other's
    steps = np.where(wall + 10 < 5020, 150 * (wall - 40), 150 * (5010 - 40) + 250 * (wall + 10 - 5020))
    (run / "progress.csv").write_text("charts/env_steps,charts/wall_seconds\n" +
                                      "".join(f"{n},{t}\n" for n, t in zip(steps, wall)))
    job = dict(game="Pong", seed=0, out=str(tmp_path))
    results = [dict(job, arm="true_reward", started_at=1000.0), dict(job, arm="prefrl", started_at=1010.0)]
    ((seed, (ratio, start, end)),) = side_by_side(results)
    assert seed == 0 and start == 300.0 and abs(end - 5018.0) < 1e-9  # the true-reward arm's last row
    assert abs(ratio - 0.75) < 1e-9  # 150 / 200, not the whole runs' ratio
    assert side_by_side([dict(r, resumed=r["arm"] == "prefrl") for r in results]) == [(0, "an arm-run was resumed")]
    apart = [results[0], dict(results[1], started_at=5000.0)]  # --jobs 1: one arm after the other
    assert side_by_side(apart) == [(0, "the arms did not run at once")]
    assert side_by_side(results[:1]) == []  # one arm: nothing to compare
    cpu_line = script_module("bench_mujoco").cpu_line
    assert cpu_line([{"cpu": "A"}, {"cpu": "A"}]) == "CPU: A"
    assert cpu_line([{"cpu": "A"}, {}]) == "CPUs (arm-runs on different machines): A; not recorded"
    short = span_ratio(np.array([[0, 0], [30, 3000.0]]), np.array([[0, 0], [40, 8000.0]]))
    assert short[1:] == (3.0, 30.0) and abs(short[0] - 0.5) < 1e-9  # a tenth of a short span is left out
    assert span_ratio(np.zeros((1, 2)), np.array([[0, 0], [40, 8000.0]])) is None


def test_bench_atari_memory_slope_starts_when_the_label_fifo_is_full(tmp_path):
    module = script_module("bench_atari")
    fifo_full_at, memory_stats = module.fifo_full_at, module.memory_stats
    import numpy as np

    seconds = np.arange(0, 4000, 5.0)
    rss = np.where(seconds < 2000, 1000 + seconds / 2, 2000.0)  # grows while the label set fills, then flat
    (tmp_path / "memory.csv").write_text("wall_seconds,rss_mib\n" + "".join(f"{t},{m}\n" for t, m in zip(seconds, rss)))
    every_100s = seconds[::20]
    labels = np.minimum(500 + 1.25 * every_100s, 3000)  # the FIFO's 3,000 are reached at 2,000 s
    (tmp_path / "progress.csv").write_text("charts/labels,charts/wall_seconds\n" +
                                           "".join(f"{n},{t}\n" for n, t in zip(labels, every_100s)))
    settled = fifo_full_at(tmp_path / "progress.csv", 3000)
    assert settled == 2000.0
    assert fifo_full_at(tmp_path / "progress.csv", 5000) is None
    flat = memory_stats(tmp_path / "memory.csv", settled_at=settled)
    assert flat["rss_warmup_s"] == 2000.0 and abs(flat["rss_slope_mib_per_h"]) < 1.0
    assert flat["rss_peak_mib"] == 2000.0
    quarter = memory_stats(tmp_path / "memory.csv")  # the first quarter alone still catches the filling
    assert quarter["rss_warmup_s"] < 1000 and quarter["rss_slope_mib_per_h"] > 100
    late = memory_stats(tmp_path / "memory.csv", settled_at=3500.0)  # a FIFO full in the last eighth: no slope
    assert late["rss_warmup_s"] == 3500.0 and np.isnan(late["rss_slope_mib_per_h"]) and late["rss_peak_mib"] == 2000.0


def test_label_set_memory_fills_the_fifo_and_rejects_bad_counts():
    script = [sys.executable, str(ROOT / "scripts" / "label_set_memory.py")]
    proc = subprocess.run(script + ["--labels", "30", "--fifo", "10", "--per-update", "5"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "30 labels added, 10 kept (20 segments): label set resident" in proc.stdout
    bad = subprocess.run(script + ["--fifo", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "must be positive" in bad.stderr


def test_reward_event_profile_lines_learned_rewards_up_around_true_reward_events():
    module = script_module("reward_event_profile")
    event_profiles, signal_and_noise = module.event_profiles, module.signal_and_noise
    import numpy as np

    # a model that pays -1 one step before each lost point and +2 at each won one, 0.1 elsewhere
    true = [np.array([0, 0, 0, -1, 0, 0]), np.array([0, 1, 0, 0, 0, 0]), np.zeros(6)]
    learned = [np.array([.1, .1, -1, .1, .1, .1]), np.array([.1, 2, .1, .1, .1, .1]), np.full(6, 0.3)]
    prof = event_profiles(learned, true, window=4)
    assert list(prof["offsets"]) == [-4, -3, -2, -1, 0, 1, 2, 3, 4]
    assert list(prof["count"]) == [1, 1] and float(prof["quiet"]) == 0.3
    assert prof["loss"][3] == -1 and np.nanargmin(prof["loss"]) == 3  # the dip, one step before the event
    assert prof["gain"][4] == 2 and np.isnan(prof["gain"][2])  # the won point is at step 1: no step at -2
    assert np.isnan(prof["loss"][8])  # the lost point is at step 3 of 6: nothing 4 steps after it
    assert np.isnan(float(prof["quiet_sd"]))  # one quiet segment: no spread
    prof = event_profiles(learned + [np.full(6, 0.5)], true + [np.zeros(6)], window=4)
    assert float(prof["quiet_sd"]) == pytest.approx(0.6)  # segment sums 1.8 and 3.0
    line = signal_and_noise(prof, 6)
    assert "sd 0.600" in line and "-2.900 over 6 steps" in line  # lost point at step 3 of 6: offsets -3..+2; quiet level 0.4
    lonely = event_profiles([np.array([0.1, -1.0])], [np.array([0, -1])], window=2)  # no quiet segment, no gain
    assert signal_and_noise(lonely, 2).count("n/a") == 3


def test_reward_event_profile_refuses_what_it_cannot_profile(hopper_run, tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "reward_event_profile.py")]
    assert_refused(script, [([str(hopper_run)], "reward_event_profile is for games with sparse rewards"),
                            ([str(tmp_path)], "has no preferences.sqlite"),
                            ([str(hopper_run), "--window", "0"], "--window and --last must be positive")])


def test_retrain_on_reward_trains_a_fresh_agent_on_a_runs_frozen_reward_model(hopper_run, tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "retrain_on_reward.py"), str(hopper_run)]
    out = tmp_path / "retrain"
    proc = subprocess.run(script + ["--timesteps", "16384", "--eval-episodes", "1", "--no-progress", "--compare", str(hopper_run),
                                    str(hopper_run.parent),
                                    "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert (result["env"], result["seed"], result["timesteps"]) == ("prefrl/Hopper-v0", 0, 16384)
    assert math.isfinite(result["return_mean"]) and math.isfinite(result["return_sampled_mean"])
    with (out / "curve.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows and int(rows[-1]["env_steps"]) <= 16384  # the fresh agent's own steps, from 0
    assert (out / "checkpoint" / "policy.zip").is_file() and (out / "retrain_curve.png").read_bytes()[:4] == b"\x89PNG"
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ") and not line.startswith("| curve")]
    assert [r.split("|")[1].strip() for r in table] == ["fresh agent, frozen reward", "the run itself", str(hopper_run),
                                                        str(hopper_run.parent)]  # a folder holding the run folder
    cells = [r.split("|")[2].strip() for r in table]
    assert cells[1] == cells[2] == cells[3] and cells[0] != "nan"  # one run read three ways; the agent's own curve
    assert_refused(script, [(["--timesteps", "0"], "--timesteps must be positive"),
                            (["--compare", str(tmp_path)], "has neither progress.csv")], not_a_run=tmp_path)


def test_replay_label_stream_scores_each_updates_labels_before_training_on_them(hopper_run, tmp_path):
    import numpy as np

    module = script_module("replay_label_stream")
    running_mean, summarise, update_boundaries = module.running_mean, module.summarise, module.update_boundaries

    bounds = update_boundaries(next(hopper_run.glob("progress.csv")))
    assert bounds[0] >= 1 and bounds == sorted(set(bounds)) and len(bounds) >= 2
    script = [sys.executable, str(ROOT / "scripts" / "replay_label_stream.py"), str(hopper_run)]
    proc = subprocess.run(script + ["--out", str(tmp_path / "a")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "a" / "replay.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["labels"]) for r in rows] == bounds[1:]  # one row per update, in the run's batches
    assert [int(r["new_labels"]) for r in rows] == list(np.diff(bounds))
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows if r["accuracy"] != "nan")
    assert all(float(r["loss"]) > 0 for r in rows)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["updates"] == len(rows) and summary["labels"] == bounds[-1]
    other = subprocess.run(script + ["--updates", "1", "--prefrl-flags", "--reward-max-steps 5", "--out",
                                     str(tmp_path / "b"), "--compare", str(tmp_path / "a")],
                           capture_output=True, text=True, timeout=300)
    assert other.returncode == 0 and "settings replaced: --reward-max-steps 5" in other.stdout, other.stderr[-3000:]
    assert (tmp_path / "b" / "replay_label_stream.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((tmp_path / "b" / "replay.csv").read_text().splitlines()) == 2  # header and one update
    assert_refused(script, [(["--updates", "0"], "--updates must be at least 1"),
                            (["--compare", str(tmp_path)], "has no replay.csv"),
                            (["--prefrl-flags", "--bogus 1"], "unknown `prefrl train` flags --bogus")],
                   not_a_run=tmp_path)
    # the summary weights each update by its labels, and the running mean skips gaps
    s = summarise([{"accuracy": 1.0, "loss": 1.0, "return_corr": 0.0, "new_labels": 3},
                   {"accuracy": 0.0, "loss": 2.0, "return_corr": float("nan"), "new_labels": 1}])
    assert (s["accuracy"], s["loss"], s["return_corr"], s["loss_second_half"]) == (0.75, 1.25, 0.0, 2.0)
    assert np.isnan(s["return_corr_second_half"])
    assert np.allclose(running_mean(np.array([1.0, np.nan, 3.0]), 2), [1.0, 1.0, 3.0])


def test_label_contents_counts_uninformative_pairs_and_events_per_block(hopper_run, tmp_path):
    import numpy as np

    block_contents = script_module("label_contents").block_contents

    quiet, won, lost = np.zeros(4), np.array([0.0, 1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0, -1.0])
    rows = block_contents(np.array([0.5, 1.0, 0.0, 0.5, 0.0]), [quiet, won, quiet, quiet, lost],
                          [quiet, quiet, lost, quiet, won], block=2)
    assert [(r["first"], r["last"]) for r in rows] == [(1, 2), (3, 4), (5, 5)]
    assert [r["equal"] for r in rows] == [0.5, 0.5, 0.0]
    assert [r["no_event"] for r in rows] == [0.5, 0.5, 0.0]
    assert [r["won_per_pair"] for r in rows] == [0.5, 0.0, 1.0]
    assert [r["lost_per_pair"] for r in rows] == [0.0, 1.0, 2.0]
    script = [sys.executable, str(ROOT / "scripts" / "label_contents.py"), str(hopper_run)]
    proc = subprocess.run(script + ["--block", "5", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "label_contents.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert int(table[-1]["last"]) == 12 and len(table) == 3  # the run's 12 labels in blocks of 5
    assert all(float(r["no_event"]) == 0.0 for r in table)  # Hopper pays something at every step
    assert all(float(r["agent_steps"]) > 0 for r in table)
    assert (tmp_path / "label_contents.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_refused(script, [(["--block", "0"], "--block must be at least 1")], not_a_run=tmp_path)
