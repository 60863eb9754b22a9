"""Settings that differ by environment type (MuJoCo and other vector tasks, or Atari pixels), and
the reward model's settings where one task departs from the rest (`TASK_REWARD`).

`TrainConfig` fields left at None take these. The Atari values follow the paper's Atari setup
(500 labels before RL, label rate ~ 5e6/(T+5e6), FIFO of the last 3,000 labels), with reward-model
training sized for CPUs: the CNN ensemble costs about as much per frame as the agent's own policy.
The paper trained its Atari reward model far more (about one step per 10 agent steps). Within a CPU
budget, each update takes 30 gradient steps that each see every 4th step of their segments (about
the cost of 15 whole-segment steps), and half of each batch comes from the labels new since the
last update, so what the labels say about the agent's newest behaviour is learned while it still
matters (BENCHMARKS.md: with the paper's uniform draw and 5 steps, Pong's agent learned to lose).
The CNN trains without the paper's conv dropout: with it, the model did not fit Pong's labels
within such a budget (its loss stayed at ln 2; BENCHMARKS.md, session 26).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from prefrl.config import TrainConfig


@dataclass(frozen=True)
class TypeDefaults:
    segment_buffer: int
    label_buffer: int | None
    initial_labels_cap: int | None
    """Labels asked before RL starts: 25% of the budget, but at most this many (None: no cap)."""
    schedule_horizon: float
    pretrain_epochs: float
    reward_batch_size: int
    reward_max_steps: int
    """Most reward-model gradient steps per update."""
    reward_recent_fraction: float
    """Share of each reward-model batch drawn from the labels new since the last update."""
    reward_frame_stride: int
    """Each reward-model gradient step sees every this-many-th step of its segments (at segments of
    `stride_length` steps; see `default_frame_stride`)."""
    stride_length: int | None
    """The segment length `reward_frame_stride` is set for: longer or shorter segments scale the
    stride in proportion, so a gradient step costs the same (None: the same stride at any length)."""
    reward_conv_dropout: float | None
    """The Atari CNN's channel dropout in its conv layers (None: no CNN)."""
    normalization_steps: int
    """Env steps sampled from recent segments to renormalise the reward model at each update."""
    eval_comparisons: int
    candidate_pool: int | None
    """Queries are chosen among pairs of at most this many randomly drawn recent segments."""


VECTOR = TypeDefaults(segment_buffer=4096, label_buffer=None, initial_labels_cap=None, schedule_horizon=2e6,
                      pretrain_epochs=20.0, reward_batch_size=32, reward_max_steps=30, reward_recent_fraction=0.0,
                      reward_frame_stride=1, stride_length=None, reward_conv_dropout=None,
                      normalization_steps=9000, eval_comparisons=1000, candidate_pool=None)
ATARI = TypeDefaults(segment_buffer=1024, label_buffer=3000, initial_labels_cap=500, schedule_horizon=5e6,
                     pretrain_epochs=6.0, reward_batch_size=16, reward_max_steps=30, reward_recent_fraction=0.5,
                     reward_frame_stride=4, stride_length=25, reward_conv_dropout=0.0,
                     normalization_steps=750, eval_comparisons=64, candidate_pool=128)


def type_defaults(kind: str) -> TypeDefaults:
    return ATARI if kind == "atari" else VECTOR


def default_frame_stride(defaults: TypeDefaults, segment_length: int) -> int:
    """The reward-model gradient step's frame stride for segments of `segment_length` steps when no
    flag sets it: Atari's 4 at the paper's 25 steps, 8 at 50 (about 6-7 stacks a segment, whatever its
    length, so an update costs the same)."""
    if defaults.stride_length is None:
        return defaults.reward_frame_stride
    return max(1, round(defaults.reward_frame_stride * segment_length / defaults.stride_length))


def initial_label_fraction(config: TrainConfig, defaults: TypeDefaults) -> float:
    if config.initial_label_fraction is not None:
        return config.initial_label_fraction
    initial = round(0.25 * config.labels)
    if defaults.initial_labels_cap is not None:
        initial = min(initial, defaults.initial_labels_cap)
    return initial / config.labels


@dataclass(frozen=True)
class RewardSettings:
    """The reward model's settings where one task departs from the rest: what its MLP sees ("obs_act",
    the paper's r(o, a), or "obs"), the bound on its adaptive L2 coefficient, when pretraining adapts
    that coefficient ("end" or every "epoch"), and which segments its output normalisation is fitted
    on ("recent" or "initial"). The defaults are the paper's; `TASK_REWARD` holds the tasks whose
    default departs from them."""

    inputs: str = "obs_act"
    l2_max: float = 1.0
    pretrain_l2: str = "end"
    norm_data: str = "recent"


TASK_REWARD = {
    # Walker2d's default model is overfitted for its first ~130k steps, then underfitted with its L2
    # near 1 while the agent settles into its gait (BENCHMARKS.md, session 18). Bounded at 0.1 and
    # adapted from the first model on, with the normalisation fitted on the random policy's segments,
    # it is far more accurate mid-run, and the agent's return rose (ten seeds, then ten fresh ones:
    # BENCHMARKS.md, sessions 18-20).
    "prefrl/Walker2d-v0": RewardSettings(l2_max=0.1, pretrain_l2="epoch", norm_data="initial"),
    # HalfCheetah's true reward is its forward speed, a function of the observation alone; a model of
    # (observation, action) can pay for a stroke rather than the motion it makes. The observation-only
    # model reached 0.97x the true-reward arm on seeds 0-4 (session 7) and beat the default on fresh
    # seeds 10-12, 5,403 against 4,474 (BENCHMARKS.md, session 21).
    "prefrl/HalfCheetah-v0": RewardSettings(inputs="obs"),
}


def reward_settings(config: TrainConfig) -> RewardSettings:
    """The task's row (or the common one), with each flag the user gave in its place."""
    row = TASK_REWARD.get(config.env, RewardSettings())
    given = {"inputs": config.reward_inputs, "l2_max": config.reward_l2_max, "pretrain_l2": config.pretrain_l2,
             "norm_data": config.reward_norm_data}
    return replace(row, **{k: v for k, v in given.items() if v is not None})
