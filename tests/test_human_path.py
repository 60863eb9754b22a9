import numpy as np
import pytest

from prefrl.preferences import PreferenceStore
from prefrl.query.selectors import RandomSelector
from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.ensemble import MLPRewardEnsemble
from prefrl.reward.trainer import RewardTrainer
from prefrl.rl.learner import PreferenceLearner
from prefrl.segments import SegmentBuffer
from prefrl.teachers.human import HumanTeacher


def make_learner(store, max_pending=3):
    rng = np.random.default_rng(0)
    buffer = SegmentBuffer(50, 4, (3,), np.float32, 2, 0)
    for i in range(20):
        buffer.add(rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), np.full(4, float(i)), np.zeros((4, 0)))
    model = MLPRewardEnsemble(3, 2)
    dataset = PreferenceDataset(3, rng)
    return PreferenceLearner(model, buffer, 1, RandomSelector(), HumanTeacher(max_pending), store, dataset,
                             RewardTrainer(model, dataset), rng)


def test_human_queries_are_capped_answered_through_the_store_and_picked_up(tmp_path):
    with PreferenceStore(tmp_path / "p.sqlite") as store:
        learner = make_learner(store, max_pending=3)
        assert learner.ask(5) == 3  # capped: nobody is buried
        assert store.pending_count() == 3 and learner.labels_asked == 3
        assert learner.ask(5) == 0
        q1, q2, _ = store.next_queries("ann", limit=3)
        store.answer_query(q1.id, "left", "ann")
        store.answer_query(q2.id, "right", "ann")
        assert learner.collect_answers() == 2
        assert len(learner.dataset) == 2 and learner.pending_train
        assert learner.collect_answers() == 0  # nothing new
        assert learner.ask(5) == 2  # room again for two

        store.undo_last("ann")
        learner.collect_answers()
        assert len(learner.dataset) == 1  # the withdrawn answer left the label set too


def test_a_restarted_learner_counts_what_was_asked_and_reads_only_new_answers(tmp_path):
    path = tmp_path / "p.sqlite"
    with PreferenceStore(path) as store:
        learner = make_learner(store)
        learner.ask(2)
        (q1, q2) = store.next_queries("ann")
        store.answer_query(q1.id, "left", "ann")
        learner.collect_answers()
    with PreferenceStore(path) as store:  # e.g. the trainer restarted
        learner = make_learner(store)
        assert learner.labels_asked == 2
        store.answer_query(q2.id, "equal", "ann")
        assert learner.collect_answers() == 1


def test_the_scripted_stand_in_answers_through_the_store_like_a_person(tmp_path):
    from prefrl.teachers.scripted import ScriptedAnnotator

    with PreferenceStore(tmp_path / "p.sqlite") as store:
        learner = make_learner(store)
        learner.teacher = ScriptedAnnotator(max_pending=4)
        learner.ask(4)
        assert store.pending_count() == 4
        assert learner.collect_answers() == 4
        assert store.pending_count() == 0
        for c in store.comparisons():
            segs = store.segments([c.left_id, c.right_id])
            better = c.left_id if segs[c.left_id].true_return > segs[c.right_id].true_return else c.right_id
            assert c.annotator == "script" and c.query_id is not None
            assert (c.answer.value == "left") == (better == c.left_id)


def test_backflip_task_never_terminates_and_rewards_backward_rotation_off_the_ground():
    import prefrl_envs
    from prefrl_envs.backflip import BACKFLIP_ID, MIN_FLIP_HEIGHT

    env = prefrl_envs.make_task(BACKFLIP_ID)
    env.reset(seed=0)
    pitch = float(env.unwrapped.data.qpos[2])
    airborne = grounded = 0
    for _ in range(300):
        _, reward, terminated, _, info = env.step(env.action_space.sample())
        assert not terminated
        if info["height"] > MIN_FLIP_HEIGHT:
            assert reward == pytest.approx(pitch - info["pitch"])  # backward rotation counts up
            airborne += 1
        else:
            assert reward == 0.0  # toppled: tumbling along the floor is no flip
            grounded += 1
        pitch = info["pitch"]
    assert airborne and grounded  # a random policy stands a moment, then falls


def test_train_with_the_scripted_stand_in_runs_the_whole_human_loop(tmp_path):
    import sqlite3

    from prefrl.cli import main

    runs = tmp_path / "runs"
    assert main(["train", "--env", "prefrl/HopperBackflip-v0", "--teacher", "scripted", "--timesteps", "8000",
                 "--labels", "8", "--n-envs", "2", "--update-every", "1000", "--max-pending", "3",
                 "--runs-dir", str(runs), "--no-progress"]) == 0
    (run,) = list(runs.iterdir())
    db = sqlite3.connect(run / "preferences.sqlite")
    queries = db.execute("SELECT COUNT(*) FROM queries").fetchone()[0]
    rows = db.execute("SELECT query_id, annotator, teacher FROM comparisons").fetchall()
    db.close()
    assert queries == 8  # the whole budget went out as pending queries (the cap is tested above)
    assert len(rows) == 8 and all(q is not None and a == "script" and t == "human" for q, a, t in rows)
