"""The paper's Atari reward net, `n_members` times, all members in one batched pass.

Per member: 84x84x4 uint8 frames -> conv 7x7/3, 5x5/2, 3x3/1, 3x3/1 (16 filters each, batch norm,
leaky ReLU, channel dropout: the paper's 0.5 by default here, 0 in prefrl's Atari runs, see
`prefrl/rl/defaults.py`) -> FC 64 -> scalar. Each member's conv stack runs on its own (channels-
last): on CPU that is about twice as fast as one grouped convolution over the whole ensemble. The
FC heads of all members run as one batched matmul. Actions are not an input: the paper's Atari
predictor sees the frames only.

Speed on CPU, where these nets cost about as much per frame as the agent's own policy: in eval mode
(scoring rollouts, queries, normalisation) batch norm is folded into the convolutions and dropout
skipped (1.5x faster scoring); with `precision="bfloat16"` (`auto` where the CPU has native
bfloat16) the conv stacks run under autocast: against the plain float32 modules, training steps
about 2x and scoring about 4x faster (`scripts/bench_reward_cnn.py`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from prefrl.reward.ensemble import (EnsembleLinear, agent_reward, blend_output_stats, chunk_slices, linear_weight_norms,
                                    model_device, normalize_output)

PRECISIONS = ("auto", "float32", "bfloat16")
"""`auto`: bfloat16 on a CUDA GPU, and where the CPU computes it natively (AVX-512 BF16 or AMX);
else float32."""


def resolve_precision(precision: str, device: str = "cpu") -> str:
    if precision != "auto":
        return precision
    if torch.device(device).type == "cuda":
        return "bfloat16"
    caps = torch.cpu.get_capabilities()
    return "bfloat16" if caps.get("avx512_bf16") or caps.get("amx_bf16") else "float32"


CONV_LAYERS: Sequence[tuple[int, int]] = ((7, 3), (5, 2), (3, 1), (3, 1))
"""(kernel, stride) of the paper's four conv layers."""


class CNNRewardEnsemble(nn.Module):
    def __init__(
        self,
        n_members: int = 3,
        frame_shape: tuple[int, int, int] = (84, 84, 4),
        filters: int = 16,
        hidden: int = 64,
        dropout: float = 0.5,
        negative_slope: float = 0.01,
        reward_std: float = 0.05,
        precision: str = "float32",
        device: str = "cpu",
    ) -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision = resolve_precision(precision, device)
        """"float32", or "bfloat16" for the conv stacks (autocast; the FC head and the weights
        stay float32)."""
        if n_members < 1:
            raise ValueError(f"an ensemble needs at least one member, got {n_members}")
        self.n_members = n_members
        self.frame_shape = tuple(frame_shape)
        self.reward_std = reward_std
        height, width, channels = frame_shape
        for kernel, stride in CONV_LAYERS:
            height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1

        def conv_stack() -> nn.Sequential:
            layers: list[nn.Module] = []
            in_ch = channels
            for kernel, stride in CONV_LAYERS:
                # in place: batch norm's backward needs its input, not its output (same results, less memory)
                layers += [nn.Conv2d(in_ch, filters, kernel, stride), nn.BatchNorm2d(filters),
                           nn.LeakyReLU(negative_slope, inplace=True),
                           nn.Dropout2d(dropout) if dropout else nn.Identity()]
                in_ch = filters
            return nn.Sequential(*layers)

        self.convs = nn.ModuleList(conv_stack() for _ in range(n_members)).to(memory_format=torch.channels_last)
        self.features_per_member = filters * height * width
        self.head = nn.Sequential(EnsembleLinear(n_members, self.features_per_member, hidden),
                                  nn.LeakyReLU(negative_slope), EnsembleLinear(n_members, hidden, 1))
        self.register_buffer("out_mean", torch.zeros(n_members))
        self.register_buffer("out_std", torch.ones(n_members))
        self.to(device)

    def raw(self, obs: torch.Tensor, acts: torch.Tensor | None = None) -> torch.Tensor:
        """Unnormalised rewards, (M, B). Frames (B, H, W, C) are shared by all members; frames with
        a leading member axis (M, B, H, W, C) give each member its own batch. In eval mode each
        member's batch norm is folded into its convolution and dropout skipped (`conv_eval`): the
        same function at half the cost."""
        per_member = obs.dim() == 5
        dtype = torch.bfloat16 if self.precision == "bfloat16" else torch.float32  # pixels 0-255 are exact in both

        def pixels(frames: torch.Tensor) -> torch.Tensor:
            # Channels-last, as the convolutions' weights are: (B, H, W, C) frames from the env are
            # that memory already; the label set's stacked frames arrive channel-planar and are
            # reordered here, as bytes, before they become floats (faster than reordering while
            # converting). Handed planar floats, the first convolution reorders them itself: a
            # training step took 1.15x as long, with the same results to the bit. The scaling to
            # [0, 1] happens in the first convolution's weights (`PIXEL_SCALE`).
            return frames.contiguous().permute(0, 3, 1, 2).to(dtype)

        shared = None if per_member else pixels(obs)
        run = conv_train if self.training else conv_eval
        features = []
        with self.autocast():
            for m, conv in enumerate(self.convs):
                features.append(run(conv, pixels(obs[m]) if per_member else shared).flatten(1))  # (B, F*h*w)
        return self.head(torch.stack(features).float()).squeeze(-1)  # (M, B)

    def autocast(self) -> torch.autocast:
        """The conv stacks run in bfloat16 when `precision` says so (the head stays float32)."""
        return torch.autocast(model_device(self).type, dtype=torch.bfloat16, enabled=self.precision == "bfloat16")

    def member_weight_norms(self) -> torch.Tensor:
        """Squared weight norm per member (M,): its conv stack and its FC head, for the trainer's L2."""
        convs = torch.stack([sum(m.weight.pow(2).sum() for m in conv.modules() if isinstance(m, nn.Conv2d))
                             for conv in self.convs])
        return convs + linear_weight_norms(self.head)

    def forward(self, obs: torch.Tensor, acts: torch.Tensor | None = None) -> torch.Tensor:
        return normalize_output(self, self.raw(obs))

    @torch.inference_mode()
    def predict_reward(self, obs: np.ndarray, acts: np.ndarray | None = None,
                       disagreement: float = 0.0) -> np.ndarray:
        """Member-averaged normalised reward of (B, H, W, C) uint8 frames, plus `disagreement` times
        the members' std (`agent_reward`); in eval mode: no dropout, batch-norm running statistics."""
        self.eval()
        return agent_reward(self(torch.as_tensor(obs, device=model_device(self))), disagreement).cpu().numpy()

    def fit_input_normalization(self, obs: np.ndarray, acts: np.ndarray | None = None) -> None:
        """Pixels are scaled to [0, 1] in `raw`; batch norm does the rest."""

    @torch.inference_mode()
    def fit_output_normalization(self, obs: np.ndarray, acts: np.ndarray | None = None,
                                 momentum: float = 1.0) -> torch.Tensor:
        """Each member independently to zero mean and `reward_std` std on these frames (moved only
        `momentum` of the way, see `blend_output_stats`). Returns their unnormalised rewards, (M, B)."""
        was_training = self.training
        self.eval()
        device = model_device(self)
        raw = torch.cat([self.raw(torch.as_tensor(obs[sl], device=device))
                         for sl in chunk_slices(len(obs), obs[0].nbytes)], dim=1)
        blend_output_stats(self, raw, momentum)
        self.train(was_training)
        return raw


PIXEL_SCALE = 1.0 / 255.0
"""Frames enter the conv stacks as 0-255 values; the first convolution's weights carry the scaling
to [0, 1] (the same function as scaling the pixels, without a pass over every pixel)."""


def conv_train(stack: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """A conv stack's training-mode output on 0-255 pixels."""
    first = stack[0]
    return stack[1:](nn.functional.conv2d(x, first.weight * PIXEL_SCALE, first.bias, first.stride))


def conv_eval(stack: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """A conv stack's eval-mode output on 0-255 pixels, with each batch norm folded into the
    convolution before it (running statistics) and dropout left out: convolution and leaky ReLU."""
    layers = list(stack)
    for i in range(0, len(layers), 4):
        conv, norm, act = layers[i], layers[i + 1], layers[i + 2]
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        weight = conv.weight * (scale * (PIXEL_SCALE if i == 0 else 1.0))[:, None, None, None]
        bias = (conv.bias - norm.running_mean) * scale + norm.bias
        x = nn.functional.conv2d(x, weight.contiguous(memory_format=torch.channels_last), bias, conv.stride)
        x = nn.functional.leaky_relu_(x, act.negative_slope)
    return x
