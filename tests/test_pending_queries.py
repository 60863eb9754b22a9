import numpy as np
import pytest

from prefrl.preferences import Answer, ConflictingAnswer, PreferenceStore
from prefrl.segments import Segment


def seg(i):
    return Segment(i, np.zeros((3, 2), np.float32), np.zeros((3, 1), np.float32), np.full(3, i, np.float32),
                   np.zeros((3, 4)))


@pytest.fixture
def store(tmp_path):
    with PreferenceStore(tmp_path / "p.sqlite") as s:
        yield s


def test_queries_wait_until_answered_and_are_not_shown_again(store):
    ids = store.add_queries([(seg(0), seg(1)), (seg(2), seg(3)), (seg(0), seg(3))])
    assert store.pending_count() == 3
    assert [q.id for q in store.next_queries("ann", limit=2)] == ids[:2]
    cid, new = store.answer_query(ids[0], "left", "ann")
    assert new and store.pending_count() == 2
    assert [q.id for q in store.next_queries("ann", limit=5)] == ids[1:]
    (c,) = store.comparisons()
    assert (c.id, c.query_id, c.annotator, c.answer, c.left_id, c.right_id) == (cid, ids[0], "ann", Answer.LEFT, 0, 1)


def test_the_same_answer_twice_counts_once_and_a_different_one_conflicts(store):
    (qid,) = store.add_queries([(seg(0), seg(1))])
    first = store.answer_query(qid, "right", "ann")
    assert store.answer_query(qid, "right", "ann") == (first[0], False)
    with pytest.raises(ConflictingAnswer):
        store.answer_query(qid, "left", "ann")
    assert store.count() == 1
    with pytest.raises(KeyError):
        store.answer_query(999, "left", "ann")
    with pytest.raises(ValueError):
        store.answer_query(qid, "sideways", "bob")
    assert store.count() == 1


def test_undo_withdraws_the_annotators_last_answer(store):
    q1, q2 = store.add_queries([(seg(0), seg(1)), (seg(2), seg(3))])
    store.answer_query(q1, "left", "ann")
    store.answer_query(q2, "equal", "ann")
    store.answer_query(q1, "left", "bob")
    assert store.revision() == 0
    assert store.undo_last("ann") == q2
    assert store.revision() == 1
    assert [(c.query_id, c.annotator) for c in store.comparisons()] == [(q1, "ann"), (q1, "bob")]
    assert [q.id for q in store.next_queries("ann")] == [q2]
    assert store.undo_last("nobody") is None


def test_answered_queries_are_shared_with_a_second_annotator_for_agreement(store):
    q1, q2 = store.add_queries([(seg(0), seg(1)), (seg(2), seg(3))])
    store.answer_query(q1, "left", "ann")
    # bob gets the unanswered query first, then ann's for a second opinion
    assert [q.id for q in store.next_queries("bob", limit=5)] == [q2, q1]
    store.answer_query(q1, "right", "bob")
    assert [q.id for q in store.next_queries("cy", limit=5)] == [q2]  # q1 has its two answers
