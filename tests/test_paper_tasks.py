import gymnasium as gym
import numpy as np
import pytest

import prefrl_envs
from prefrl_envs.paper_mujoco import PAPER_TASKS, paper_id

TASKS = sorted(PAPER_TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_variant_reward_is_the_original_without_control_cost_and_with_the_penalty(task):
    base, variant = gym.make(f"{task}-v5"), prefrl_envs.make_task(paper_id(task))
    base.reset(seed=1)
    variant.reset(seed=1)
    rng = np.random.default_rng(0)
    stay_up = PAPER_TASKS[task]
    for _ in range(300):
        action = rng.uniform(base.action_space.low, base.action_space.high).astype(np.float32)
        _, r_base, term_base, _, info_base = base.step(action)
        _, r_var, term_var, _, info_var = variant.step(action)
        assert not term_var
        assert info_var["would_terminate"] == term_base
        expected = r_base - info_base.get("reward_ctrl", 0.0)
        if stay_up is not None:  # the alive bonus replaced by the stay-up term
            expected += stay_up(variant.unwrapped.data) - info_base["reward_survive"]
        assert r_var == pytest.approx(expected, abs=1e-6)
        if term_base:  # the original ends here; the variant goes on
            break


@pytest.mark.parametrize("task", TASKS)
def test_variant_episodes_have_fixed_length(task):
    env = prefrl_envs.make_task(paper_id(task))
    env.reset(seed=0)
    limit = env.spec.max_episode_steps
    terminated = truncated = False
    steps = would_terminate = 0
    while not (terminated or truncated):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        would_terminate += info["would_terminate"]
    assert not terminated and steps == limit
    if task in ("Hopper", "Walker2d", "InvertedPendulum", "InvertedDoublePendulum"):
        # a random policy falls: the variant kept going through those steps
        assert would_terminate > 0


def test_falling_costs_reward_on_every_step_after_it():
    env = prefrl_envs.make_task(paper_id("InvertedPendulum"))
    env.reset(seed=0)
    rewards = [env.step(env.action_space.high)[1] for _ in range(100)]
    # 1 - angle^2: about 1 while the pole stands, below 0 once it lies past 1 radian
    assert rewards[0] > 0.99 and rewards[-1] < 0


@pytest.mark.parametrize("task", ["Hopper", "Walker2d"])
def test_a_fallen_body_earns_less_than_a_standing_one_however_it_moves(task):
    env = prefrl_envs.make_task(paper_id(task))
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape)
    standing = env.step(zero)[1]
    for _ in range(200):  # full torque one way: the body falls and stays down
        _, _, _, _, info = env.step(env.action_space.high)
    lying = env.unwrapped.data.qpos[1]
    assert info["would_terminate"] and lying < 0.7
    _, reward, _, _, info = env.step(zero)
    assert reward - info["x_velocity"] < standing - 0.5  # the height term alone, forward speed aside


def test_raw_gymnasium_ids_still_work():
    env = prefrl_envs.make_task("Hopper-v5")
    env.reset(seed=0)
    assert env.spec.id == "Hopper-v5"


@pytest.mark.parametrize("task, steps", [("HalfCheetah", 30), ("Hopper", 60), ("Walker2d", 45), ("Swimmer", 60),
                                         ("Ant", 30), ("Reacher", 15), ("InvertedPendulum", 15),
                                         ("InvertedDoublePendulum", 15)])
def test_segments_are_the_papers_clips_of_15_to_60_steps(task, steps):
    # 1.5 s of clip at the paper's per-task frame rate; the Gymnasium original takes the same length
    for env_id in (paper_id(task), f"{task}-v5"):
        info = prefrl_envs.task_info(env_id)
        assert (info.default_segment_length, info.clip_fps) == (steps, steps / 1.5)


@pytest.mark.parametrize("env_id, steps", [("prefrl/HopperBackflip-v0", 188), ("Humanoid-v5", 100)])
def test_other_mujoco_envs_take_one_and_a_half_simulated_seconds(env_id, steps):
    info = prefrl_envs.task_info(env_id)
    assert (info.default_segment_length, info.clip_fps) == (steps, None)


def test_a_paper_task_clip_lasts_one_and_a_half_seconds_with_every_step_a_frame(tmp_path):
    import cv2

    from prefrl.render.clips import SegmentClipRenderer
    from prefrl.segments import Segment

    env = prefrl_envs.make_task(paper_id("Hopper"))
    env.reset(seed=0)
    states = np.stack([env.step(env.action_space.sample())[-1]["render_state"] for _ in range(60)])
    segment = Segment(0, np.zeros((60, 11), np.float32), np.zeros((60, 3), np.float32), np.zeros(60, np.float32),
                      states)
    renderer = SegmentClipRenderer(paper_id("Hopper"), width=64, height=48)
    path = renderer.render(segment, tmp_path)
    renderer.close()
    cap = cv2.VideoCapture(str(path))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert (frames, renderer.fps) == (60, 40)
    assert frames / renderer.fps == 1.5


@pytest.mark.parametrize("episode_steps", [None, 60])
def test_shortened_random_episodes_give_the_first_labels_more_starts_of_the_body_up(tmp_path, episode_steps):
    """--initial-episode-steps resets the random policy's episodes: with it at one segment (60 steps on
    Hopper), every segment the first labels compare starts with the torso at its start height; with the
    env's own 1,000-step episodes only each env's first segment does (2 envs: 2 of the 6 collected)."""
    from prefrl.cli import main
    from prefrl.preferences import PreferenceStore

    runs = tmp_path / "runs"
    flags = [] if episode_steps is None else ["--initial-episode-steps", str(episode_steps)]
    assert main(["train", "--env", paper_id("Hopper"), "--timesteps", "2048", "--labels", "12", "--n-envs", "2",
                 "--update-every", "1024", "--runs-dir", str(runs), "--no-progress", *flags]) == 0
    (run,) = list(runs.iterdir())
    with PreferenceStore(run / "preferences.sqlite") as store:
        first = store.comparisons()[:3]  # the 3 labels before RL
        segments = store.segments([i for c in first for i in (c.left_id, c.right_id)])
    heights = np.array([seg.render_states[0, 1] for seg in segments.values()])  # qpos[1] after the first step
    assert len(heights) >= 2
    if episode_steps is None:
        assert (heights > 1.2).sum() <= 2, heights
    else:
        assert (heights > 1.2).all(), heights
