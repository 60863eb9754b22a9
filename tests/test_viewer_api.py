import json

import numpy as np
import pytest

from prefrl.preferences import PreferenceStore
from prefrl.segments import Segment
from prefrl.viewer.app import create_app
from prefrl.viewer.server import is_loopback


def seg(i, ret):
    return Segment(i, np.zeros((3, 2), np.float32), np.zeros((3, 1), np.float32),
                   np.full(3, ret / 3, np.float32), np.zeros((3, 4)))


@pytest.fixture
def run(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"env": "HalfCheetah-v5", "labels": 10}))
    with PreferenceStore(run_dir / "preferences.sqlite") as store:
        ids = store.add_queries([(seg(0, 5), seg(1, 1)), (seg(2, 0), seg(3, 2)), (seg(0, 5), seg(3, 2))])
    clip_dir = tmp_path / "videos" / "run"
    clip_dir.mkdir(parents=True)
    (clip_dir / "seg-0.webm").write_bytes(b"\x1a\x45\xdf\xa3 fake clip")
    return run_dir, clip_dir, ids


def client_for(run, token=None):
    run_dir, clip_dir, _ = run
    return create_app(run_dir, clip_dir, token=token, render=False).test_client()


def stored(run):
    with PreferenceStore(run[0] / "preferences.sqlite") as store:
        return [(c.query_id, c.answer.value, c.annotator) for c in store.comparisons()]


def test_next_answer_and_progress(run):
    client = client_for(run)
    data = client.get("/api/next?annotator=ann").get_json()
    assert [q["id"] for q in data["queries"]] == run[2][:2]
    assert data["queries"][0]["left"] == "clips/seg-0.webm"
    assert data["progress"] == {"answered": 0, "pending": 3, "budget": 10}
    r = client.post("/api/answer", json={"query_id": run[2][0], "choice": "left", "annotator": "ann"})
    assert r.status_code == 200 and r.get_json()["new"] is True
    assert stored(run) == [(run[2][0], "left", "ann")]
    # the same answer again (a retry) counts once
    r = client.post("/api/answer", json={"query_id": run[2][0], "choice": "left", "annotator": "ann"})
    assert r.status_code == 200 and r.get_json()["new"] is False
    assert len(stored(run)) == 1
    assert [q["id"] for q in client.get("/api/next?annotator=ann").get_json()["queries"]] == run[2][1:]


@pytest.mark.parametrize("body, status, fragment", [
    ("not json", 400, "JSON object"),
    ([1, 2], 400, "JSON object"),
    ({"choice": "left", "annotator": "ann"}, 400, "query_id"),
    ({"query_id": "1", "choice": "left", "annotator": "ann"}, 400, "query_id"),
    ({"query_id": 999, "choice": "left", "annotator": "ann"}, 404, "no query 999"),
    ({"query_id": 1, "choice": "sideways", "annotator": "ann"}, 400, "choice must be"),
    ({"query_id": 1, "choice": "left", "annotator": ""}, 400, "annotator"),
    ({"query_id": 1, "choice": "left", "annotator": "<script>"}, 400, "annotator"),
    ({"query_id": 1, "choice": "left", "annotator": "ann", "pad": "x" * 10_000}, 413, "bytes"),
])
def test_bad_answers_get_a_4xx_json_error_and_leave_the_store_unchanged(run, body, status, fragment):
    client = client_for(run)
    if isinstance(body, str):
        r = client.post("/api/answer", data=body, content_type="application/json")
    else:
        r = client.post("/api/answer", json=body)
    assert r.status_code == status
    assert fragment in r.get_json()["error"]
    assert stored(run) == []


def test_a_different_answer_to_an_answered_query_conflicts(run):
    client = client_for(run)
    client.post("/api/answer", json={"query_id": 1, "choice": "left", "annotator": "ann"})
    r = client.post("/api/answer", json={"query_id": 1, "choice": "right", "annotator": "ann"})
    assert r.status_code == 409 and "undo it first" in r.get_json()["error"]
    assert stored(run) == [(1, "left", "ann")]


def test_undo(run):
    client = client_for(run)
    client.post("/api/answer", json={"query_id": 1, "choice": "left", "annotator": "ann"})
    r = client.post("/api/undo", json={"annotator": "ann"})
    assert r.status_code == 200 and r.get_json()["query_id"] == 1
    assert stored(run) == []
    assert client.post("/api/undo", json={"annotator": "ann"}).status_code == 404


@pytest.mark.parametrize("path", ["/clips/../config.json", "/clips/..%2Fconfig.json", "/clips/%2e%2e%2fconfig.json",
                                  "/clips/seg-9.webm", "/clips/config.json", "/static/../app.py",
                                  "/static/..%2Fapp.py", "/preferences.sqlite"])
def test_only_the_runs_own_clips_are_served(run, path):
    r = client_for(run).get(path)
    assert r.status_code == 404
    assert b"fake clip" not in r.data and b"labels" not in r.data


def test_clip_is_served_as_webm(run):
    r = client_for(run).get("/clips/seg-0.webm")
    assert r.status_code == 200 and r.mimetype == "video/webm" and r.data.startswith(b"\x1a\x45\xdf\xa3")


def test_token_is_required_when_set(run):
    client = client_for(run, token="s3cret")
    assert client.get("/api/next?annotator=ann").status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/api/next?annotator=ann&token=s3cret").status_code == 200
    assert client.get("/api/next?annotator=ann", headers={"X-Prefrl-Token": "s3cret"}).status_code == 200
    assert client.get("/?token=wrong").status_code == 401


def test_page_and_stats(run):
    client = client_for(run)
    assert b"Which clip is better?" in client.get("/").data
    for qid, choice, who in [(1, "left", "ann"), (2, "left", "ann"), (1, "left", "bob"), (3, "right", "bob")]:
        assert client.post("/api/answer", json={"query_id": qid, "choice": choice, "annotator": who}).status_code == 200
    stats = client.get("/api/stats").get_json()
    assert [(a["annotator"], a["labels"]) for a in stats["annotators"]] == [("ann", 2), ("bob", 2)]
    assert stats["shared_queries"] == 1 and stats["inter_annotator_agreement"] == 1.0
    # true returns: q1 5 vs 1 (left right), q2 0 vs 2 (left wrong), q3 5 vs 2 (right wrong)
    assert stats["agreement_with_true_reward"] == 0.5


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
