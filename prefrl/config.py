"""Run configuration: one dataclass whose fields are the `prefrl train` flags, each with its help."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """Bad user input; the CLI prints the message on one line and exits with code 2."""


def opt(default: Any, help: str, **kwargs) -> Any:
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class TrainConfig:
    env: str = opt("HalfCheetah-v5", "Gymnasium env id of the task to learn.")
    labels: int = opt(700, "Total comparisons to ask the teacher for (the label budget).")
    timesteps: int = opt(1_000_000, "Total env steps, including those of the random initial policy.")
    seed: int = opt(0, "Random seed for envs, networks and query sampling.")
    name: str = opt("prefrl", "Experiment name, part of the run folder's name.")
    runs_dir: str = opt("runs", "Folder under which the run folder is created.")
    teacher: str = opt(
        "oracle", "Who answers: the synthetic oracle (true reward), a person in the viewer, or a "
        "scripted stand-in answering through the viewer's path (store and pending queries).",
        choices=["oracle", "human", "scripted"])
    max_pending: int = opt(20, "Most unanswered queries waiting for a person at once (--teacher human).")
    viewer: bool = opt(False, "Also serve the comparison viewer on 127.0.0.1 while training.")
    viewer_port: int = opt(8000, "Port of the viewer started by --viewer.")
    query_selector: str = opt(
        "disagreement", "How to pick pairs: ensemble disagreement (paper) or random (ablation).",
        choices=["disagreement", "random"])
    oversample: int = opt(10, "Candidate pairs sampled per query for disagreement selection.")
    query_event_share: float = opt(
        1.0, "Disagreement selection ranks only pairs holding one of this share of the candidate segments "
        "with the largest predicted |return| (likelier to hold a reward event in sparse games such as Pong); "
        "1 (default) ranks all pairs, as the paper does.")
    segment_length: int | None = opt(
        None, "Steps per segment; default 1.5 s: of clip at the task's clip rate for the paper's MuJoCo "
        "tasks (15-60 steps), of simulated time for other envs, 25 steps on Atari.")
    segment_buffer: int | None = opt(
        None, "Most recent segments kept for queries (fixed memory); default 4096, Atari 1024.")
    label_buffer: int | None = opt(
        None, "Most recent labels kept for reward training (FIFO); default keeps all, Atari 3000.")
    ensemble_size: int = opt(3, "Reward-model ensemble members.")
    reward_inputs: str | None = opt(
        None, "What the MuJoCo reward model sees: observation and action (the paper's r(o, a)) "
        "or the observation only (what a person watching a clip sees); default obs_act, prefrl/HalfCheetah-v0 obs.",
        choices=["obs_act", "obs"])
    reward_dropout: float = opt(
        0.0, "Chance that each hidden unit of the MuJoCo reward model is dropped during its training "
        "(the paper's public code drops half); 0 (default) trains without dropout. Vector tasks only: the "
        "Atari CNN has --reward-conv-dropout.")
    reward_conv_dropout: float | None = opt(
        None, "Chance that each channel of the Atari CNN reward model's conv layers is dropped during its "
        "training; default 0 (the paper's is 0.5: with it the model did not fit Pong's labels within a CPU "
        "run's reward training). Atari games only.")
    reward_precision: str = opt(
        "auto", "Arithmetic of the Atari CNN reward model's conv layers: bfloat16 trains about 2x and scores "
        "about 4x faster on CPUs that compute it natively (AVX-512 BF16 or AMX); auto picks it there, "
        "else float32.",
        choices=["auto", "float32", "bfloat16"])
    initial_label_fraction: float | None = opt(
        None, "Share of the budget asked about the random initial policy before RL starts; "
        "default 0.25, Atari 500 labels (or 0.25 of a smaller budget).")
    initial_episode_steps: int | None = opt(
        None, "Steps after which the random initial policy's episodes are reset, so that its segments start "
        "from more episode starts (where a random policy falls within its first steps, as on Hopper, more of "
        "the first labels then show the body up); a multiple of the segment length; default: the env's own "
        "episodes (the paper's).")
    schedule_horizon: float | None = opt(
        None, "h in the label rate h/(T+h) after T env steps; default 2e6, Atari 5e6.")
    query_window: int | None = opt(
        None, "Queries compare only segments from the most recent this-many env steps (the current "
        "policy's behaviour; the first labels still cover all of the random policy's segments); "
        "default: every segment in the buffer.")
    update_every: int = opt(10_000, "Env steps between label requests and reward-model updates.")
    reward_lr: float = opt(1e-3, "Reward-model Adam learning rate.")
    reward_epochs: float = opt(1.0, "Passes over the label set per reward-model update.")
    reward_max_steps: int | None = opt(
        None, "Most reward-model gradient steps per update (caps --reward-epochs); default 30 (on "
        "Atari each sees every 4th step of its segments, --reward-frame-stride: the CNN costs about as much "
        "as the agent's policy).")
    reward_batch_size: int | None = opt(
        None, "Comparisons per ensemble member in each reward-model gradient step; default 32, Atari 16.")
    reward_recent_fraction: float | None = opt(
        None, "Share of each reward-model batch drawn from the labels that arrived since the last update, "
        "the rest from all labels; default 0 (the paper's uniform draw), Atari 0.5 (labels about the "
        "agent's newest behaviour are learned in the update they arrive in).")
    reward_frame_stride: int | None = opt(
        None, "Each reward-model gradient step sees every this-many-th step of its segments (a fresh random "
        "offset each step), their summed reward scaled by it: the same expected return at a fraction of the "
        "cost; default 1 (the paper's whole segment), Atari 4 at 25-step segments (with 4-frame stacks every "
        "frame is still seen), scaled with the segment length (8 at 50 steps).")
    pretrain_epochs: float | None = opt(
        None, "Passes over the initial labels to fit the reward model before RL starts; default 20, Atari 6.")
    reward_l2_max: float | None = opt(
        None, "Largest L2 coefficient the reward model's adaptive L2 may reach (the paper's rule keeps held-out "
        "loss within 1.1-1.5x training loss and names no bound); default 1.0, prefrl/Walker2d-v0 0.1.")
    pretrain_l2: str | None = opt(
        None, "When the pretraining on the first labels adapts the reward model's L2 coefficient (the paper's "
        "rule: keep held-out loss within 1.1-1.5x training loss): end, once at its end (the first model "
        "starts RL overfitted and the coefficient reaches the band a dozen updates later), or epoch, after every "
        "pass (it is near the band by the time RL starts); default end, prefrl/Walker2d-v0 epoch.",
        choices=["epoch", "end"])
    reward_norm_momentum: float = opt(
        1.0, "Share of the way the reward's mean/std normalisation moves towards recent segments' at "
        "each update (1: refit each time; smaller: a moving average, a steadier reward for the agent).")
    reward_norm_data: str | None = opt(
        None, "Segments the reward's mean/std normalisation is fitted on at each update: recent ones "
        "(the current policy's behaviour), or the random initial policy's (and, with --explore-steps, the "
        "exploration's), kept fixed for the run (the same behaviour keeps the same reward as the policy "
        "improves); default recent, prefrl/Walker2d-v0 initial.", choices=["recent", "initial"])
    disagreement_weight: float = opt(
        0.0, "Multiple of the reward members' disagreement (their std, in normalised reward units) added "
        "to the agent's reward: above 0 pays it to try what the labels have not pinned down yet (an "
        "exploration bonus), below 0 docks it there (caution where a young model extrapolates); falls "
        "linearly to 0 over --disagreement-until of the run; 0 (default) is the paper's plain mean.")
    disagreement_until: float = opt(
        0.5, "Share of --timesteps over which --disagreement-weight falls linearly to 0.")
    explore_steps: int = opt(
        0, "Env steps of unsupervised exploration before the first labels (PEBBLE): the agent is paid "
        "the state entropy of what it visits (k-nearest-neighbour estimate), so the first labels compare "
        "more varied behaviour than the random policy's; part of --timesteps; vector tasks only; "
        "0 (default): the paper's start from the random policy.")
    random_answer_prob: float = opt(
        0.1, "Assumed chance the teacher answered at random (Bradley-Terry noise).")
    algo: str = opt("ppo", "RL algorithm: PPO, or A2C (the paper's Atari learner; Atari games only).",
                    choices=["ppo", "a2c"])
    n_envs: int | None = opt(None, "Parallel envs; default from the PPO hyperparameter table.")
    checkpoint_every: int = opt(100_000, "Env steps between checkpoints (0: only at the end).")
    torch_threads: int = opt(1, "Torch CPU threads (1 is fastest for small nets on few cores).")
    device: str = opt(
        "auto", "Torch device of the agent's policy and the reward model: cpu, cuda or cuda:N; auto takes "
        "the GPU for the Atari games' CNNs when torch sees one, else the CPU (MuJoCo's small MLPs run "
        "faster there).")
    progress: bool = opt(True, "Show a progress bar.")

    def validate(self) -> None:
        """Checks that need no environment; raises ConfigError with a one-line fix."""
        for name in ("labels", "timesteps", "oversample", "ensemble_size",
                     "update_every", "torch_threads", "max_pending"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        for name in ("segment_length", "label_buffer", "n_envs", "segment_buffer", "query_window", "reward_max_steps",
                     "initial_episode_steps", "reward_frame_stride", "reward_batch_size"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {value}")
        if not 0 < self.viewer_port < 65536:
            raise ConfigError(f"--viewer-port must be within 1-65535, got {self.viewer_port}")
        if not 0 < self.query_event_share <= 1:
            raise ConfigError(f"--query-event-share is a share of the candidate segments within (0, 1], "
                              f"got {self.query_event_share}")
        if not math.isfinite(self.disagreement_weight):
            raise ConfigError(f"--disagreement-weight must be a finite number, got {self.disagreement_weight}")
        if not 0 < self.disagreement_until <= 1:
            raise ConfigError(f"--disagreement-until is a share of --timesteps within (0, 1], "
                              f"got {self.disagreement_until}")
        if self.explore_steps < 0:
            raise ConfigError(f"--explore-steps must be 0 or positive, got {self.explore_steps}")
        if self.checkpoint_every < 0:
            raise ConfigError(f"--checkpoint-every must be 0 or positive, got {self.checkpoint_every}")
        if self.initial_label_fraction is not None and not 0.0 <= self.initial_label_fraction <= 1.0:
            raise ConfigError(f"--initial-label-fraction must be within [0, 1], got {self.initial_label_fraction}")
        if self.reward_recent_fraction is not None and not 0.0 <= self.reward_recent_fraction <= 1.0:
            raise ConfigError(f"--reward-recent-fraction must be within [0, 1], got {self.reward_recent_fraction}")
        if not 0.0 <= self.reward_dropout < 1.0:
            raise ConfigError(f"--reward-dropout must be within [0, 1), got {self.reward_dropout}")
        if self.reward_conv_dropout is not None and not 0.0 <= self.reward_conv_dropout < 1.0:
            raise ConfigError(f"--reward-conv-dropout must be within [0, 1), got {self.reward_conv_dropout}")
        if not 0.0 <= self.random_answer_prob < 1.0:
            raise ConfigError(f"--random-answer-prob must be within [0, 1), got {self.random_answer_prob}")
        optional = [v for v in (self.pretrain_epochs, self.schedule_horizon) if v is not None]
        if min(self.reward_lr, self.reward_epochs, *optional) <= 0:
            raise ConfigError(
                "--reward-lr, --reward-epochs, --pretrain-epochs and --schedule-horizon must be positive")
        if not 0.0 < self.reward_norm_momentum <= 1.0:
            raise ConfigError(f"--reward-norm-momentum must be within (0, 1], got {self.reward_norm_momentum}")
        if self.reward_norm_data not in (None, "recent", "initial"):
            raise ConfigError(f"--reward-norm-data must be recent or initial, got {self.reward_norm_data!r}")
        if self.reward_l2_max is not None and not (math.isfinite(self.reward_l2_max) and self.reward_l2_max > 0):
            raise ConfigError(f"--reward-l2-max must be a positive number, got {self.reward_l2_max}")
        if self.pretrain_l2 not in (None, "epoch", "end"):
            raise ConfigError(f"--pretrain-l2 must be epoch or end, got {self.pretrain_l2!r}")
        if self.reward_inputs not in (None, "obs_act", "obs"):
            raise ConfigError(f"--reward-inputs must be obs_act or obs, got {self.reward_inputs!r}")
        if self.reward_precision not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"--reward-precision must be auto, float32 or bfloat16, got {self.reward_precision!r}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.algo not in ("ppo", "a2c"):
            raise ConfigError(f"--algo must be ppo or a2c, got {self.algo!r}")
        if self.segment_buffer is not None and self.segment_buffer < 2:
            raise ConfigError("--segment-buffer must hold at least 2 segments")
        if any(sep in self.name for sep in ("/", "\\")) or not self.name:
            raise ConfigError(f"--name must be a plain non-empty name without slashes, got {self.name!r}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json_file(cls, path: Path) -> "TrainConfig":
        """A run's saved settings. ConfigError where the file is not JSON, or holds settings this
        version of prefrl does not know (a run folder written by another version); settings it
        lacks take the value every run took before they were recorded (`UNRECORDED`), else
        their defaults."""
        try:
            values = json.loads(Path(path).read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); it should be the "
                              f"config.json that `prefrl train` wrote") from None
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"{path} has settings this version of prefrl does not know ({', '.join(unknown)}); "
                              f"the run was written by another version: use that one")
        if "reward_conv_dropout" not in values:
            from prefrl_envs.atari import ATARI_GAMES

            if values.get("env") in {f"prefrl/{game}-v0" for game in ATARI_GAMES}:
                values["reward_conv_dropout"] = 0.5  # every Atari run's CNN took it until 2026-11-27
        return cls(**(UNRECORDED | values))


UNRECORDED = {"reward_l2_max": 1.0, "pretrain_l2": "end", "reward_norm_data": "recent", "reward_frame_stride": 1}
"""What runs used before config.json recorded these settings (the L2 pair was fixed until
2026-11-26, the normalisation until 2026-11-23, the reward frame stride until 2026-11-27), so that
resuming such a run keeps them now that their defaults depend on the task. The Atari CNN's dropout,
recorded from 2026-11-27, is filled in by `from_json_file` (0.5 for an Atari run, none otherwise)."""
