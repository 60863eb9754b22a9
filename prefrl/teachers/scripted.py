"""A scripted stand-in for a person, answering through the human path (the store's pending queries,
exactly as the viewer does), so the whole human loop can be exercised and measured without one."""

from __future__ import annotations

from prefrl.preferences import Answer, PreferenceStore
from prefrl.teachers.human import HumanTeacher


class ScriptedAnnotator(HumanTeacher):
    """Prefers the segment with the larger summed env reward: on `prefrl/HopperBackflip-v0` that
    is the larger backward rotation. Answers every pending query before each collection."""

    def __init__(self, max_pending: int = 20, name: str = "human", annotator: str = "script") -> None:
        super().__init__(max_pending, name)
        self.annotator = annotator

    def before_collect(self, store: PreferenceStore) -> None:
        while queries := store.next_queries(self.annotator, limit=50):
            segments = store.segments({q.left_id for q in queries} | {q.right_id for q in queries})
            for q in queries:
                diff = segments[q.left_id].true_return - segments[q.right_id].true_return
                answer = Answer.EQUAL if diff == 0 else Answer.LEFT if diff > 0 else Answer.RIGHT
                store.answer_query(q.id, answer, self.annotator)
