"""The viewer in a real headless Chromium: clips play, keys answer, undo works, the next pair shows."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from prefrl.preferences import PreferenceStore
from prefrl.segments import Segment

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run(tmp_path, n_queries=3):
    import prefrl_envs

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"env": "HalfCheetah-v5", "labels": 10}))
    env = prefrl_envs.make_task("HalfCheetah-v5")
    env.reset(seed=0)
    segments = []
    for i in range(2 * n_queries):
        states, rewards = [], []
        for _ in range(30):
            _, r, _, _, info = env.step(env.action_space.sample())
            states.append(info["render_state"])
            rewards.append(r)
        segments.append(Segment(i, np.zeros((30, 17), np.float32), np.zeros((30, 6), np.float32),
                                np.array(rewards, np.float32), np.array(states)))
    with PreferenceStore(run / "preferences.sqlite") as store:
        store.add_queries([(segments[2 * i], segments[2 * i + 1]) for i in range(n_queries)])
    return run


def answers(run):
    with PreferenceStore(run / "preferences.sqlite") as store:
        return [(c.query_id, c.answer.value, c.annotator) for c in store.comparisons()]


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def viewer(tmp_path):
    run = make_run(tmp_path)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "prefrl.cli", "viewer", str(run), "--port", str(port),
                             "--videos-dir", str(tmp_path / "videos")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=os.environ | {"MUJOCO_GL": "egl"})

    def up():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200
        except OSError:
            return False

    try:
        wait_for(up, what="the viewer to listen")
        yield run, f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={tmp_path / 'chrome'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def playing(driver):
    """Both clips advance: their currentTime grows over a short wait."""
    before = driver.execute_script("return prefrlPlayback()")
    time.sleep(0.3)
    after = driver.execute_script("return prefrlPlayback()")
    return after[0] > before[0] and after[1] > before[1]


def test_compare_clips_in_the_browser(viewer, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    run, url = viewer
    browser.get(url)
    name = browser.find_element(By.ID, "annotator")
    name.send_keys("Ada", Keys.TAB)  # the name is kept in this browser
    assert browser.execute_script("return localStorage.getItem('prefrl.annotator')") == "Ada"

    wait_for(lambda: playing(browser), what="both clips to play")
    first = browser.execute_script("return prefrlState().current")
    # a person watches the pair for a while; meanwhile the next pair loads into the spare slot
    wait_for(lambda: browser.execute_script("return prefrlState().upcomingReady"), what="the next pair to preload")

    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_LEFT)
    wait_for(lambda: answers(run), what="the answer to be stored")
    assert answers(run) == [(first, "left", "Ada")]
    wait_for(lambda: browser.execute_script("return prefrlState().current") not in (None, first),
             what="the next pair")
    wait_for(lambda: playing(browser), what="the next pair to play")
    latency = browser.execute_script("return prefrlMetrics.answerToPlayMs[0]")
    print(f"\nanswer to next pair playing: {latency:.0f} ms")
    assert latency is not None

    body.send_keys(Keys.ARROW_DOWN)  # can't tell
    wait_for(lambda: len(answers(run)) == 2, what="the second answer")
    assert answers(run)[1][1:] == ("incomparable", "Ada")

    body.send_keys(Keys.BACKSPACE)  # undo the last answer
    wait_for(lambda: len(answers(run)) == 1, what="the undo")
    assert answers(run) == [(first, "left", "Ada")]
