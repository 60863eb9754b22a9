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
    penalty = PAPER_TASKS[task]
    for _ in range(300):
        action = rng.uniform(base.action_space.low, base.action_space.high).astype(np.float32)
        _, r_base, term_base, _, info_base = base.step(action)
        _, r_var, term_var, _, info_var = variant.step(action)
        assert not term_var
        assert info_var["would_terminate"] == term_base
        expected = r_base - info_base.get("reward_ctrl", 0.0) - (penalty if term_base else 0.0)
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


def test_penalty_is_charged_on_every_step_in_a_terminal_state():
    env = prefrl_envs.make_task(paper_id("InvertedPendulum"))
    env.reset(seed=0)
    rewards = [env.step(env.action_space.high)[1] for _ in range(100)]
    # reward 1 while the pole stands, then 0 - penalty 1 on every step after it has fallen
    assert rewards[0] == 1.0 and rewards[-1] == -1.0


def test_raw_gymnasium_ids_still_work():
    env = prefrl_envs.make_task("Hopper-v5")
    env.reset(seed=0)
    assert env.spec.id == "Hopper-v5"


@pytest.mark.parametrize("task, steps", [("HalfCheetah", 30), ("Hopper", 188), ("Swimmer", 38), ("Reacher", 50)])
def test_segments_last_one_and_a_half_simulated_seconds(task, steps):
    info = prefrl_envs.task_info(paper_id(task))
    assert info.default_segment_length == steps
