import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from prefrl.preferences import Answer, PreferenceStore
from prefrl.reward.dataset import PreferenceDataset
from prefrl.segments import Segment


def seg(i, ret):
    return Segment(i, np.full((5, 3), i, np.float32), np.zeros((5, 2), np.float32),
                   np.full(5, ret / 5, np.float32), np.arange(10.0).reshape(5, 2))


def test_round_trip_and_offline_reload(tmp_path):
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        pairs = [(seg(0, 1), seg(1, 2)), (seg(1, 2), seg(2, 0)), (seg(0, 1), seg(2, 0))]
        ids = store.add_comparisons(pairs, [Answer.RIGHT, Answer.LEFT, Answer.INCOMPARABLE], "oracle")
        assert ids == [1, 2, 3]
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        got = store.comparisons()
        assert [(c.left_id, c.right_id, c.answer, c.teacher) for c in got] == [
            (0, 1, Answer.RIGHT, "oracle"), (1, 2, Answer.LEFT, "oracle"), (0, 2, Answer.INCOMPARABLE, "oracle")]
        segments = store.segments([0, 1, 2])
        np.testing.assert_array_equal(segments[1].obs, seg(1, 2).obs)
        np.testing.assert_array_equal(segments[1].render_states, seg(1, 2).render_states)
        data = PreferenceDataset.from_store(store, n_members=3, rng=np.random.default_rng(0))
        assert len(data) == 2  # the incomparable pair carries no label
        assert data.tensors()["target"].tolist() == [0.0, 1.0]


def test_a_failed_transaction_stores_nothing(tmp_path):
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        with pytest.raises(ValueError):
            store.add_comparisons([(seg(0, 1), seg(1, 2))], ["sideways"], "oracle")
        assert store.count() == 0


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from prefrl.preferences import Answer, PreferenceStore
    from prefrl.segments import Segment
    store = PreferenceStore(sys.argv[1])
    i = 0
    while True:
        segs = [Segment(2 * i + k, np.random.rand(50, 17).astype(np.float32), np.zeros((50, 6), np.float32),
                        np.random.rand(50).astype(np.float32), np.random.rand(50, 18)) for k in range(2)]
        (cid,) = store.add_comparisons([tuple(segs)], [Answer.LEFT], "oracle")
        print(cid, flush=True)  # acknowledged only after the commit returned
        i += 1
""")


def test_every_acknowledged_comparison_survives_sigkill(tmp_path):
    path = tmp_path / "p.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    acknowledged = []
    try:
        for line in proc.stdout:
            acknowledged.append(int(line))
            if len(acknowledged) >= 200:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(acknowledged) == 200
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with PreferenceStore(path) as store:
        stored = {c.id for c in store.comparisons()}
        assert set(acknowledged) <= stored
        ids = {c.left_id for c in store.comparisons()} | {c.right_id for c in store.comparisons()}
        assert len(store.segments(ids)) == len(ids)  # every labelled segment is whole


def test_reload_into_a_label_fifo_keeps_the_latest_decided_labels_only(tmp_path):
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        pairs = [(seg(2 * i, i), seg(2 * i + 1, 0)) for i in range(5)]
        store.add_comparisons(pairs, [Answer.LEFT, Answer.LEFT, Answer.RIGHT, Answer.EQUAL, Answer.INCOMPARABLE],
                              "oracle")
        data = PreferenceDataset.from_store(store, 3, np.random.default_rng(0), max_size=2)
    assert len(data) == 2
    assert sorted(data._rows) == [4, 5, 6, 7]  # comparisons 3 and 4; the incomparable 5th is no label
    assert data.tensors()["target"].tolist() == [0.0, 0.5]
    assert data.total_added == 4  # every decided label the run took in, those the FIFO dropped included
