"""Annotation statistics: labels and pace per annotator, agreement between annotators on shared
queries, and agreement with the true reward where the task has one."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from statistics import median

from prefrl.preferences import Answer, PreferenceStore

BREAK_SECONDS = 300
"""Gaps between two answers longer than this are breaks, not time spent on a label."""


def annotation_stats(store: PreferenceStore) -> dict:
    answers = [c for c in store.comparisons() if c.query_id is not None]
    by_annotator: dict[str, list] = defaultdict(list)
    by_query: dict[int, list] = defaultdict(list)
    for c in answers:
        by_annotator[c.annotator].append(c)
        by_query[c.query_id].append(c)
    segments = store.segments({c.left_id for c in answers} | {c.right_id for c in answers}) if answers else {}

    def agrees_with_truth(c) -> bool | None:
        if c.answer not in (Answer.LEFT, Answer.RIGHT):
            return None
        diff = segments[c.left_id].true_return - segments[c.right_id].true_return
        return None if diff == 0 else (diff > 0) == (c.answer is Answer.LEFT)

    annotators = []
    for name, given in sorted(by_annotator.items()):
        gaps = [b.created - a.created for a, b in zip(given, given[1:]) if 0 <= b.created - a.created <= BREAK_SECONDS]
        truth = [t for t in map(agrees_with_truth, given) if t is not None]
        annotators.append({
            "annotator": name,
            "labels": len(given),
            "seconds_per_label": round(median(gaps), 2) if gaps else None,
            "agreement_with_true_reward": round(sum(truth) / len(truth), 3) if truth else None,
        })
    pairs = [(a.answer == b.answer) for given in by_query.values() for a, b in combinations(given, 2)]
    truth = [t for t in map(agrees_with_truth, answers) if t is not None]
    return {
        "annotators": annotators,
        "shared_queries": sum(1 for given in by_query.values() if len(given) > 1),
        "inter_annotator_agreement": round(sum(pairs) / len(pairs), 3) if pairs else None,
        "agreement_with_true_reward": round(sum(truth) / len(truth), 3) if truth else None,
    }
