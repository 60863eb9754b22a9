"""The paper's eight MuJoCo tasks as prefrl variants of Gymnasium's v5 environments.

Two changes from the Gymnasium originals, both from Christiano et al. 2017:
- Fixed-length episodes: where the original ends an episode (the body fell, the pole dropped), the
  variant goes on to the time limit, and the alive bonus becomes a term in the body's height (the
  pole's angle) on every step, as in the paper's public code: an episode's end carries no
  information, and the agent must learn to stay up from the reward alone.
- The true reward (what the synthetic oracle compares) leaves out control costs: a person watching
  a clip cannot see torques. Other reward terms are unchanged and stay in `info`.

Registered as `prefrl/<Task>-v0` (e.g. `prefrl/Hopper-v0`) when `prefrl_envs` is imported.

Segment length: the paper's clips last 1.5 s "which varies from 15 to 60 timesteps depending on
the task". 1.5 s of *simulated* time cannot give that range (Hopper steps 0.008 s: 188 steps). The
paper's public code (rl-teacher, `envs.py` and its predictor) shows what was meant: 1.5 s of clip
played at a per-task frame rate, one env step per frame, i.e. 1.5 x CLIP_FPS[task] steps.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym

StayUpTerm = Callable[[Any], float]
"""Reward for one step from the physics state after it (`env.unwrapped.data`)."""

PAPER_TASKS: dict[str, StayUpTerm | None] = {
    # task: what replaces the alive bonus and the termination ("a penalty which encourages the
    # parameters to remain in the range", in the paper's words). The paper's public code (rl-teacher,
    # envs.py `NeverDone` bonuses on top of the old Gym envs' unconditional alive bonus) makes it a
    # dense term in the body's height, so every step says how far up the body is, not only whether
    # it has fallen. Constant offsets cancel in comparisons of equal-length segments.
    "Hopper": lambda data: float(data.qpos[1]),  # alive 1 + (torso height - 1): ~1.25 standing, ~0.3 lying
    "Walker2d": lambda data: float(data.qpos[1]) - 1.0,  # alive 1 + (torso height - 2)
    "Ant": lambda data: float(data.qpos[2]) - 1.2,  # torso height - 1.2 (rl-teacher: no alive bonus)
    "InvertedPendulum": lambda data: 1.0 - float(data.qpos[1]) ** 2,  # alive 1 - pole angle^2
    "InvertedDoublePendulum": lambda data: 10.0 * float(data.site_xpos[0][2]),  # alive 10 + 10 (tip height - 1)
    "Swimmer": None,  # never terminates
    "HalfCheetah": None,  # never terminates
    "Reacher": None,  # never terminates
}


CLIP_FPS: dict[str, int] = {
    # task: frames per second of the paper's clips, one env step a frame (rl-teacher's per-task
    # viewer rates). 1.5 s of clip: Hopper and Swimmer 60 steps, Walker2d 45, HalfCheetah and Ant
    # 30, Reacher and both pendulums 15 -- the paper's "15 to 60 timesteps".
    "Hopper": 40,
    "Walker2d": 30,
    "Swimmer": 40,
    "HalfCheetah": 20,
    "Ant": 20,
    "Reacher": 10,
    "InvertedPendulum": 10,
    "InvertedDoublePendulum": 10,
}
CLIP_SECONDS = 1.5


def paper_id(task: str) -> str:
    return f"prefrl/{task}-v0"


def paper_task_of(env_id: str) -> str | None:
    """The paper task `env_id` runs: its prefrl variant or Gymnasium's v5 original (same body and
    time step); None for any other env (e.g. the backflip, whose segments keep 1.5 simulated s).

    >>> paper_task_of("prefrl/Hopper-v0"), paper_task_of("Hopper-v5"), paper_task_of("Humanoid-v5")
    ('Hopper', 'Hopper', None)
    """
    namespace, name, version = gym.envs.registration.parse_env_id(env_id)
    ours, original = namespace == "prefrl" and version == 0, namespace is None and version == 5
    return name if name in PAPER_TASKS and (ours or original) else None


def paper_segment_length(task: str) -> int:
    """Steps in one of the paper's clips of `task` (1.5 s at its clip frame rate)."""
    return round(CLIP_SECONDS * CLIP_FPS[task])


class FixedLengthEpisode(gym.Wrapper):
    """Only the time limit ends episodes: `terminated` is never passed on. With a `stay_up` term,
    the original's alive bonus (`info["reward_survive"]`, paid only while healthy) is replaced by
    `stay_up(data)`, so falling costs reward on every step instead of ending the episode.

    `info["would_terminate"]` tells when the original env would have ended the episode.

    >>> env = FixedLengthEpisode(gym.make("InvertedPendulum-v5"), PAPER_TASKS["InvertedPendulum"])
    >>> _ = env.reset(seed=0)
    >>> any(env.step(env.action_space.high)[2] for _ in range(200))  # the pole falls: no termination
    False
    """

    def __init__(self, env: gym.Env, stay_up: StayUpTerm | None) -> None:
        super().__init__(env)
        self.stay_up = stay_up

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["would_terminate"] = bool(terminated)
        if self.stay_up is not None:
            reward += self.stay_up(self.env.unwrapped.data) - info.get("reward_survive", 0.0)
        return obs, reward, False, truncated, info


class WithoutControlCost(gym.Wrapper):
    """Adds the control cost back: the reward no longer depends on the torques applied.

    Gymnasium's v5 envs report it as `info["reward_ctrl"]` (a non-positive number)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward -= info.get("reward_ctrl", 0.0)
        return obs, reward, terminated, truncated, info


def make_paper_task(task: str, **kwargs) -> gym.Env:
    """The paper variant of `task` (a key of PAPER_TASKS) over Gymnasium's `<task>-v5`."""
    # The bare env, without the wrappers gym.make adds: the registration below adds them (and the
    # time limit) around the variant instead.
    base = gym.envs.registration.load_env_creator(gym.spec(f"{task}-v5").entry_point)(**kwargs)
    return FixedLengthEpisode(WithoutControlCost(base), PAPER_TASKS[task])


def register_paper_tasks() -> None:
    for task in PAPER_TASKS:
        if paper_id(task) in gym.registry:
            continue
        spec = gym.spec(f"{task}-v5")
        gym.register(id=paper_id(task), entry_point=make_paper_task, kwargs={"task": task},
                     max_episode_steps=spec.max_episode_steps)
