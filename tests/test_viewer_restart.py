"""Killing the viewer mid-stream loses no acknowledged answer, and a restart shows none again."""

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from prefrl.preferences import PreferenceStore
from test_viewer_api import seg
from test_viewer_browser import free_port, wait_for


def start(run, port, videos):
    return subprocess.Popen([sys.executable, "-m", "prefrl.cli", "viewer", str(run), "--port", str(port),
                             "--videos-dir", str(videos)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def up(base):
    try:
        call(base + "api/next?annotator=x")
        return True
    except (OSError, urllib.error.URLError):
        return False


def test_acknowledged_answers_survive_a_kill_and_are_not_shown_again(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"env": "HalfCheetah-v5", "labels": 100}))
    with PreferenceStore(run / "preferences.sqlite") as store:
        store.add_queries([(seg(2 * i, i), seg(2 * i + 1, 0)) for i in range(40)])
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    proc = start(run, port, tmp_path / "videos")
    acknowledged = []
    try:
        wait_for(lambda: up(base), what="the viewer")
        for _ in range(25):
            (query, *_) = call(base + "api/next?annotator=ann")["queries"]
            reply = call(base + "api/answer", {"query_id": query["id"], "choice": "left", "annotator": "ann"})
            assert reply["ok"]
            acknowledged.append(query["id"])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    with PreferenceStore(run / "preferences.sqlite") as store:
        assert {c.query_id for c in store.comparisons()} >= set(acknowledged)
    proc = start(run, port, tmp_path / "videos")
    try:
        wait_for(lambda: up(base), what="the restarted viewer")
        shown = call(base + "api/next?annotator=ann")["queries"]
        assert shown and not {q["id"] for q in shown} & set(acknowledged)
        # the page's retry of an answer it never saw acknowledged is taken once
        again = call(base + "api/answer", {"query_id": acknowledged[-1], "choice": "left", "annotator": "ann"})
        assert again["new"] is False
        assert call(base + "api/next?annotator=ann")["progress"]["answered"] == 25
    finally:
        proc.terminate()
        proc.wait(timeout=10)



def test_train_with_viewer_serves_the_run_while_it_trains(tmp_path):
    port = free_port()
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "prefrl.cli", "train", "--teacher", "human", "--viewer",
                             "--viewer-port", str(port), "--timesteps", "30000", "--labels", "6", "--n-envs", "2",
                             "--update-every", "1000", "--runs-dir", str(runs), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: up(base) or proc.poll() is not None, what="the viewer beside training")
        assert proc.poll() is None, "training ended before its viewer answered"
        data = call(base + "api/next?annotator=ann")
        assert data["env"] == "HalfCheetah-v5" and data["queries"]  # pending queries, waiting for a person
        assert data["progress"]["budget"] == 6
    finally:
        proc.terminate()
        proc.wait(timeout=30)
