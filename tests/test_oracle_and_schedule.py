import numpy as np
import pytest

from prefrl.preferences import Answer
from prefrl.query.schedule import LabelSchedule
from prefrl.segments import Segment
from prefrl.teachers.oracle import SyntheticOracle


def seg(i, rewards):
    r = np.asarray(rewards, dtype=np.float32)
    return Segment(i, np.zeros((len(r), 1)), np.zeros((len(r), 1)), r, np.zeros((len(r), 0)))


def test_oracle_prefers_larger_true_return_and_says_equal_on_ties():
    a, b, c = seg(0, [1, 2]), seg(1, [0, 1]), seg(2, [2, 1])
    assert SyntheticOracle().answer([(a, b), (b, a), (a, c)]) == [Answer.LEFT, Answer.RIGHT, Answer.EQUAL]


def test_answer_targets():
    assert [a.target for a in Answer] == [1.0, 0.0, 0.5, None]


def test_schedule_front_loads_a_quarter_then_decays_and_spends_all():
    s = LabelSchedule(total_labels=700, total_timesteps=1_000_000)
    start = 10_000
    assert s.initial_labels == 175
    assert s.target(start, start) == 175
    targets = [s.target(t, start) for t in range(start, 1_000_001, 10_000)]
    assert targets[-1] == 700
    assert all(b >= a for a, b in zip(targets, targets[1:]))
    early = s.target(start + 100_000, start) - s.target(start, start)
    late = s.target(1_000_000, start) - s.target(900_000, start)
    # rate h/(T+h): at T~1M it is about 2/3 of the rate near T=0
    assert 0.6 < late / early < 0.75


@pytest.mark.parametrize("kwargs", [dict(total_labels=0, total_timesteps=10),
                                    dict(total_labels=1, total_timesteps=0),
                                    dict(total_labels=1, total_timesteps=10, initial_fraction=1.5)])
def test_schedule_rejects_bad_budgets(kwargs):
    with pytest.raises(ValueError):
        LabelSchedule(**kwargs)
