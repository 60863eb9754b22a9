"""Reward-model ensembles: every member evaluated in one batched forward pass.

A reward model maps a batch of (observation, action) to `(n_members, batch)` rewards. A single
net is an ensemble of one; nothing downstream special-cases it.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn


class EnsembleLinear(nn.Module):
    """`n_members` independent linear layers applied at once: (M, B, in) -> (M, B, out)."""

    def __init__(self, n_members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_members, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_members, 1, out_features))
        # Same initialisation as nn.Linear, drawn independently per member.
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def model_device(model: nn.Module) -> torch.device:
    """The torch device a model's weights live on (its inputs go there, its scores come back to the CPU)."""
    return next(model.parameters()).device


def linear_weight_norms(module: nn.Module) -> torch.Tensor:
    """Squared weight norm per member, (M,), summed over the `EnsembleLinear` layers in `module`."""
    return sum(m.weight.pow(2).sum(dim=(1, 2)) for m in module.modules() if isinstance(m, EnsembleLinear))


class MLPRewardEnsemble(nn.Module):
    """The paper's MuJoCo reward net, `n_members` times: (obs, act) -> 64 -> 64 -> scalar.

    With `dropout` above 0, each hidden layer's units are dropped with that chance while training
    (the paper's public code, rl-teacher, drops half); scoring uses the whole net.

    Inputs are standardised with statistics fitted on collected data (`fit_input_normalization`);
    each member's output is shifted and scaled to zero mean and `reward_std` std on recent data
    (`fit_output_normalization`), then members are averaged by `predict_reward`.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        n_members: int = 3,
        hidden: Sequence[int] = (64, 64),
        negative_slope: float = 0.01,
        reward_std: float = 1.0,
        use_actions: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if n_members < 1:
            raise ValueError(f"an ensemble needs at least one member, got {n_members}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be within [0, 1), got {dropout}")
        self.n_members = n_members
        self.obs_dim = obs_dim
        self.act_dim = act_dim
        self.input_act_dim = act_dim if use_actions else 0
        """Action components the net sees: all (the paper's r(o, a)) or none (r(o)); callers pass
        actions either way."""
        self.reward_std = reward_std
        sizes = [obs_dim + self.input_act_dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [EnsembleLinear(n_members, a, b), nn.LeakyReLU(negative_slope)]
            if dropout > 0:  # none at 0, so the weights' names match nets saved without it
                layers.append(nn.Dropout(dropout))
        layers.append(EnsembleLinear(n_members, sizes[-1], 1))
        self.net = nn.Sequential(*layers)
        self.register_buffer("in_mean", torch.zeros(sizes[0]))
        self.register_buffer("in_std", torch.ones(sizes[0]))
        self.register_buffer("out_mean", torch.zeros(n_members))
        self.register_buffer("out_std", torch.ones(n_members))
        self.negative_slope = negative_slope
        self.eval()  # scoring mode; the trainer switches to training mode for its gradient steps

    def member_weight_norms(self) -> torch.Tensor:
        """Squared weight norm per member (M,), for the trainer's L2 penalty."""
        return linear_weight_norms(self)

    def features(self, obs: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        """Concatenate flattened obs and actions over the last axis; leading axes are kept."""
        lead = acts.shape[:-1]
        obs = obs.reshape(*lead, -1).float()
        return (torch.cat([obs, acts[..., :self.input_act_dim].float()], dim=-1) - self.in_mean) / self.in_std

    def raw(self, obs: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        """Unnormalised rewards. Inputs (B, ...) are shared by all members; inputs with a leading
        member axis (M, B, ...) give each member its own batch. Returns (M, B)."""
        x = self.features(obs, acts)
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_members, -1, -1)
        return self.net(x).squeeze(-1)

    def forward(self, obs: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        """Normalised per-member rewards, (M, B)."""
        return normalize_output(self, self.raw(obs, acts))

    @torch.inference_mode()
    def predict_reward(self, obs: np.ndarray, acts: np.ndarray, disagreement: float = 0.0) -> np.ndarray:
        """The reward the agent sees: normalised member rewards averaged (plus `disagreement` times
        their std, see `agent_reward`), float32 numpy (B,). Called on whole rollouts, in
        torch (which keeps to the run's `--torch-threads`; NumPy's BLAS threads would fight the env
        processes for the cores)."""
        device = model_device(self)
        members = self(torch.as_tensor(obs, device=device), torch.as_tensor(acts, device=device))
        return agent_reward(members, disagreement).cpu().numpy()

    @torch.no_grad()
    def fit_input_normalization(self, obs: np.ndarray, acts: np.ndarray) -> None:
        """Standardise inputs with this data's statistics, without changing the function: the
        first layer absorbs the change, so the rewards only move when training moves them."""
        device = model_device(self)
        x = torch.cat([torch.as_tensor(obs, device=device).reshape(len(acts), -1).float(),
                       torch.as_tensor(acts, device=device)[:, :self.input_act_dim].float()], dim=-1)
        mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
        first = self.net[0]
        # old standardised input = new one * std/old_std + (mean - old_mean)/old_std
        first.bias.add_(torch.einsum("i,mio->mo", (mean - self.in_mean) / self.in_std, first.weight)[:, None])
        first.weight.mul_((std / self.in_std)[None, :, None])
        self.in_mean.copy_(mean)
        self.in_std.copy_(std)

    @torch.inference_mode()
    def fit_output_normalization(self, obs: np.ndarray, acts: np.ndarray, momentum: float = 1.0) -> torch.Tensor:
        """Each member independently to zero mean, unit std (times `reward_std`) on this data;
        with `momentum` < 1 the statistics move only that share of the way (`blend_output_stats`).
        Returns the data's unnormalised rewards, (M, B), on the model's device."""
        device = model_device(self)
        obs, acts = torch.as_tensor(obs), torch.as_tensor(acts)
        raw = torch.cat([self.raw(obs[sl].to(device), acts[sl].to(device))
                         for sl in chunk_slices(len(acts), obs[0].nbytes)], dim=1)
        blend_output_stats(self, raw, momentum)
        return raw


def agent_reward(members: torch.Tensor, disagreement: float = 0.0) -> torch.Tensor:
    """(M, B) normalised member rewards -> (B,): their mean, plus `disagreement` times their
    standard deviation. The members agree where their labels pinned the reward down and disagree
    where the agent has not yet been: a positive multiple sends the agent there (an exploration
    bonus, after Liang et al. 2022, RUNE), a negative one keeps it where the reward is known.

    >>> agent_reward(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), disagreement=0.5).tolist()
    [2.5, 0.0]
    >>> agent_reward(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), disagreement=-1.0).tolist()
    [1.0, 0.0]
    """
    mean = members.mean(0)
    if disagreement == 0:  # the paper's plain mean; no second pass over the members
        return mean
    return mean + disagreement * members.std(0, unbiased=False)


def normalize_output(model: nn.Module, raw: torch.Tensor, steps: int = 1) -> torch.Tensor:
    """A model's unnormalised rewards (M, ...) shifted and scaled per member by its output
    statistics, to `reward_std`: what its forward pass returns. With `steps`, `raw` holds sums
    over that many steps (segment returns), and each step's shift is taken that many times. On
    `raw`'s device, wherever the model is."""
    shape = (-1,) + (1,) * (raw.dim() - 1)
    mean, std = model.out_mean.to(raw.device).view(shape), model.out_std.to(raw.device).view(shape)
    return (raw - steps * mean) / std * model.reward_std


def blend_output_stats(model: nn.Module, raw: torch.Tensor, momentum: float) -> None:
    """Move a model's per-member output statistics towards those of `raw` (M, N): `momentum` 1
    replaces them; smaller values average them over updates (an exponential moving average of
    mean and variance), so the reward the agent sees does not jump each time the sample of recent
    segments it is measured on moves with the policy."""
    if not 0.0 < momentum <= 1.0:
        raise ValueError(f"momentum must be in (0, 1], got {momentum}")
    mean, var = raw.mean(1), raw.var(1)
    if momentum < 1.0:
        mean = (1 - momentum) * model.out_mean + momentum * mean
        var = (1 - momentum) * model.out_std.pow(2) + momentum * var
    model.out_mean.copy_(mean)
    model.out_std.copy_(var.sqrt().clamp_min(1e-8))


CHUNK_BYTES = 16 << 20
"""Observation bytes scored per forward pass where many segments are scored at once: bounds the
memory of pixel segments (a 25-step Atari segment is 0.7 MB as uint8 stacks, 2.8 MB as floats)."""

CHUNK_ROWS = 8192
"""Steps scored per forward pass where many are scored at once. An MLP ensemble's hidden
activations for more steps than this no longer stay in the CPU's caches, and each pass writes them
to freshly allocated memory: scoring 1,400 segments of 60 steps in one pass took 4x as long as in
chunks of this size (same float32 results)."""


def chunk_slices(n: int, item_bytes: int, item_rows: int = 1) -> list[slice]:
    """Slices covering range(n), each with at most about CHUNK_BYTES of items of `item_bytes` each
    and CHUNK_ROWS steps of items of `item_rows` steps each (a segment's length, or 1 for a step)."""
    size = max(1, min(CHUNK_BYTES // max(1, item_bytes), CHUNK_ROWS // max(1, item_rows)))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def returns_in_chunks(
    model: nn.Module,
    n: int,
    segments: Callable[[slice], tuple[torch.Tensor, torch.Tensor]],
    item_bytes: int,
    item_rows: int,
    normalized: bool = False,
) -> torch.Tensor:
    """`segment_returns` of `n` segments, (M, n), scored a chunk at a time (`chunk_slices`):
    `segments(sl)` gives the (obs, acts) tensors of the segments in slice `sl`, each segment
    `item_bytes` of observations and `item_rows` steps. Returned on the CPU, wherever the model is."""
    return torch.cat([segment_returns(model, *segments(sl), normalized=normalized).cpu()
                      for sl in chunk_slices(n, item_bytes, item_rows)], dim=1)


def segment_returns(
    model: nn.Module,
    obs: torch.Tensor,
    acts: torch.Tensor,
    per_member: bool = False,
    normalized: bool = False,
) -> torch.Tensor:
    """Summed (undiscounted) predicted reward of each segment, per member: (M, N).

    `obs`/`acts` are (N, L, ...) shared by all members, or (M, N, L, ...) with `per_member=True`,
    on any device: they are moved to the model's, and so are the returns.
    """
    device = model_device(model)
    obs, acts = obs.to(device, non_blocking=True), acts.to(device, non_blocking=True)
    lead = 2 if per_member else 1
    n_steps = acts.shape[lead]
    n_segments = acts.shape[lead - 1]
    flat_obs = obs.reshape(*obs.shape[: lead - 1], n_segments * n_steps, *obs.shape[lead + 1:])
    flat_acts = acts.reshape(*acts.shape[: lead - 1], n_segments * n_steps, acts.shape[-1])
    rewards = model(flat_obs, flat_acts) if normalized else model.raw(flat_obs, flat_acts)
    return rewards.view(model.n_members, n_segments, n_steps).sum(-1)
