import csv
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
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
        steps = [float(r["charts/env_steps"]) for r in csv.DictReader(f)]
    assert steps == sorted(steps) and steps[-1] >= 14000
    # the reward's normalisation sample (--reward-norm-data initial) came back with the checkpoint
    kept = torch.load(run / "checkpoint" / "state.pt", weights_only=False)["norm_reference"]
    assert all(np.array_equal(a, b) for a, b in zip(kept, reference)) and len(reference[0]) > 0


def test_resume_rejects_other_flags_and_non_runs(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--labels", "5"]) == 2
    assert "drop --labels" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "pass a run folder" in capsys.readouterr().err
