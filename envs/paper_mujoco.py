"""The paper's eight MuJoCo tasks as prefrl variants of Gymnasium's v5 environments.

Two changes from the Gymnasium originals, both from Christiano et al. 2017:
- Fixed-length episodes: where the original ends an episode (the body fell, the pole dropped), the
  variant goes on to the time limit and the true reward takes a penalty for each such step, so an
  episode's end carries no information and the agent must learn to avoid the states itself.
- The true reward (what the synthetic oracle compares) leaves out control costs: a person watching
  a clip cannot see torques. Other reward terms are unchanged and stay in `info`.

Registered as `prefrl/<Task>-v0` (e.g. `prefrl/Hopper-v0`) when `prefrl_envs` is imported.

Segment length: the paper's clips last 1.5 s "which varies from 15 to 60 timesteps depending on
the task". 1.5 s of *simulated* time cannot give that range (Hopper steps 0.008 s: 188 steps). The
paper's public code (rl-teacher, `envs.py` and its predictor) shows what was meant: 1.5 s of clip
played at a per-task frame rate, one env step per frame, i.e. 1.5 x CLIP_FPS[task] steps.
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
    spec = gym.spec(env_id)
    original = spec.namespace is None and spec.version == 5
    return spec.name if spec.name in PAPER_TASKS and (spec.namespace == "prefrl" or original) else None


def paper_segment_length(task: str) -> int:
    """Steps in one of the paper's clips of `task` (1.5 s at its clip frame rate)."""
    return round(CLIP_SECONDS * CLIP_FPS[task])


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
