"""The paper's eight MuJoCo tasks as prefrl variants of Gymnasium's v5 environments.

Two changes from the Gymnasium originals, both from Christiano et al. 2017:
- Fixed-length episodes: where the original ends an episode (the body fell, the pole dropped), the
  variant goes on to the time limit and the true reward takes a penalty for each such step, so an
  episode's end carries no information and the agent must learn to avoid the states itself.
- The true reward (what the synthetic oracle compares) leaves out control costs: a person watching
  a clip cannot see torques. Other reward terms are unchanged and stay in `info`.

Registered as `prefrl/<Task>-v0` (e.g. `prefrl/Hopper-v0`) when `prefrl_envs` is imported.
"""

from __future__ import annotations

import gymnasium as gym

PAPER_TASKS: dict[str, float] = {
    # task: penalty per step spent in a state the original would have terminated in. The paper
    # does not give its value; we use the task's own alive bonus, so a fallen step costs as much
    # as a standing step earns (chosen here; `termination_penalty=` overrides it).
    "Hopper": 1.0,
    "Walker2d": 1.0,
    "Swimmer": 0.0,  # never terminates
    "HalfCheetah": 0.0,  # never terminates
    "Ant": 1.0,
    "Reacher": 0.0,  # never terminates
    "InvertedPendulum": 1.0,
    "InvertedDoublePendulum": 10.0,
}


def paper_id(task: str) -> str:
    return f"prefrl/{task}-v0"


class FixedLengthEpisode(gym.Wrapper):
    """Turns `terminated` into a per-step penalty on the reward; only the time limit ends episodes.

    `info["would_terminate"]` tells when the original env would have ended the episode.

    >>> env = FixedLengthEpisode(gym.make("InvertedPendulum-v5"), penalty=1.0)
    >>> _ = env.reset(seed=0)
    >>> any(env.step(env.action_space.high)[2] for _ in range(200))  # the pole falls: no termination
    False
    """

    def __init__(self, env: gym.Env, penalty: float) -> None:
        super().__init__(env)
        if penalty < 0:
            raise ValueError(f"termination penalty must be non-negative, got {penalty}")
        self.penalty = penalty

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["would_terminate"] = bool(terminated)
        if terminated:
            reward -= self.penalty
        return obs, reward, False, truncated, info


class WithoutControlCost(gym.Wrapper):
    """Adds the control cost back: the reward no longer depends on the torques applied.

    Gymnasium's v5 envs report it as `info["reward_ctrl"]` (a non-positive number)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward -= info.get("reward_ctrl", 0.0)
        return obs, reward, terminated, truncated, info


def make_paper_task(task: str, termination_penalty: float | None = None, **kwargs) -> gym.Env:
    """The paper variant of `task` (a key of PAPER_TASKS) over Gymnasium's `<task>-v5`."""
    # The bare env, without the wrappers gym.make adds: the registration below adds them (and the
    # time limit) around the variant instead.
    base = gym.envs.registration.load_env_creator(gym.spec(f"{task}-v5").entry_point)(**kwargs)
    penalty = PAPER_TASKS[task] if termination_penalty is None else termination_penalty
    return FixedLengthEpisode(WithoutControlCost(base), penalty)


def register_paper_tasks() -> None:
    for task in PAPER_TASKS:
        if paper_id(task) in gym.registry:
            continue
        spec = gym.spec(f"{task}-v5")
        gym.register(id=paper_id(task), entry_point=make_paper_task, kwargs={"task": task},
                     max_episode_steps=spec.max_episode_steps)
