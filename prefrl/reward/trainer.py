"""Bradley-Terry training of a reward ensemble, with bootstrap and adaptive L2 (the paper's recipe).

P[left > right] = sigmoid(sum r(left) - sum r(right)), no discounting, mixed with a fixed chance
that the teacher answered uniformly at random; cross-entropy against the answer (0.5 for equal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.ensemble import returns_in_chunks, segment_returns


@dataclass
class RewardTrainerConfig:
    lr: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 32
    """Comparisons per member per gradient step."""
    epochs_per_round: float = 1.0
    """Passes over the label set at each reward-model update (bounded by min/max_steps). Each
    update warm-starts from the last, so over a run the passes add up (100 updates: ~100 epochs).
    Kept small so reward training costs the agent little throughput."""
    min_steps: int = 10
    """Fewest gradient steps per update, so that a small label set still gets trained."""
    max_steps: int = 30
    """Most gradient steps per update, so that a large label set cannot stall the agent."""
    random_answer_prob: float = 0.1
    """Assumed chance that the teacher answered uniformly at random (the paper: 10%)."""
    l2_init: float = 1e-4
    """Starting L2 coefficient on weights (per member)."""
    adaptive_l2: bool = True
    """Adapt each member's L2 to keep validation loss within `l2_band` x training loss."""
    l2_band: tuple[float, float] = (1.1, 1.5)
    """The paper's band for validation/training loss."""
    l2_factor: float = 2.0
    """Multiplicative step for the L2 coefficient."""
    l2_max: float = 1.0
    """Largest L2 coefficient the adaptation may reach (the paper names none)."""
    pretrain_l2_every_epoch: bool = False
    """Whether pretraining (`pretrain`) measures the losses and adapts L2 after every pass over the
    first labels, not only once at its end. From `l2_init`, one step of `l2_factor` per check, a
    single check leaves the first model overfitted (held-out loss 2-4x training loss on Walker2d) for
    the dozen online updates the coefficient takes to reach the band; a check per pass gets it near
    the band before RL starts. Off by default (BENCHMARKS.md, session 18: on Walker2d it helped only
    together with `l2_max` 0.1)."""
    eval_comparisons: int | None = 1000
    """Most comparisons (a random subset) on which each update measures training and held-out
    loss; None measures all. Bounds the cost of an update as the label set grows."""
    recent_fraction: float = 0.0
    """Share of each member's batch drawn from the labels that arrived since the last update (at
    least a batch's worth of the newest), the rest from all labels. 0 is the paper's uniform draw.
    Above 0, a label about what the agent does now is learned within the update it arrives in,
    not diluted among thousands of older ones. Rounded to whole comparisons, at least one when above 0."""
    frame_stride: int = 1
    """Each gradient step sees every `frame_stride`-th step of its segments, from an offset drawn
    afresh each step, and scales their summed reward by the stride: an unbiased estimate of each
    segment's return at about 1/stride of the cost. 1 is the paper's whole segment. With Atari's
    4-frame stacks a stride of 4 still shows the model every frame of the segment, once."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.recent_fraction <= 1.0:
            raise ValueError(f"recent_fraction must be within [0, 1], got {self.recent_fraction}")
        if self.frame_stride < 1:
            raise ValueError(f"frame_stride must be positive, got {self.frame_stride}")


class RewardTrainer:
    def __init__(
        self,
        model: nn.Module,
        dataset: PreferenceDataset,
        config: RewardTrainerConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.dataset = dataset
        self.config = config or RewardTrainerConfig()
        self.optimizer = torch.optim.Adam(model.parameters(), lr=self.config.lr)
        self.l2 = torch.full((model.n_members,), self.config.l2_init)
        self.generator = torch.Generator().manual_seed(seed)
        self._trained_through = 0
        """The dataset's `total_added` at the last update: the labels since then are the new ones
        (not checkpointed: a resumed run's first update draws uniformly)."""

    def _bt_loss(self, r_left: torch.Tensor, r_right: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Elementwise cross-entropy under the noisy Bradley-Terry model."""
        eps = self.config.random_answer_prob
        delta = r_left - r_right
        # log((1-eps) sigmoid(d) + eps/2), computed stably from logsigmoid.
        log_half_eps = math.log(eps / 2) if eps > 0 else -math.inf
        log_p = torch.logaddexp(math.log1p(-eps) + nn.functional.logsigmoid(delta),
                                torch.full_like(delta, log_half_eps))
        log_q = torch.logaddexp(math.log1p(-eps) + nn.functional.logsigmoid(-delta),
                                torch.full_like(delta, log_half_eps))
        return -(target * log_p + (1 - target) * log_q)

    def train_round(self, epochs: float | None = None, steps: int | None = None) -> dict[str, float]:
        """One reward-model update over the current label set; returns metrics. Its gradient steps:
        `steps` where given, else `epochs` passes (uncapped, as for pretraining), else the
        configured passes within `min_steps`/`max_steps`."""
        cfg = self.config
        if len(self.dataset) == 0:
            return {}
        data = self.dataset.tensors()
        n = len(self.dataset)
        if steps is None:
            steps = self._steps_for(epochs or cfg.epochs_per_round)
            if epochs is None:
                steps = min(steps, max(cfg.max_steps, cfg.min_steps))
        weights = data["weights"]
        # A member whose bootstrap drew nothing yet trains on everything rather than nothing.
        weights = torch.where(weights.sum(1, keepdim=True) > 0, weights, torch.ones_like(weights))
        new = min(n, max(cfg.batch_size, self.dataset.total_added - self._trained_through))
        self._trained_through = self.dataset.total_added
        self.model.train()
        for _ in range(steps):
            idx = self._draw(weights, new)
            norms = self.model.member_weight_norms()
            loss = self._member_losses(data, idx).sum() + (self.l2.to(norms.device) * norms).sum()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self.model.eval()
        metrics = self._evaluate(data)
        metrics["reward/train_steps"] = steps
        return metrics

    def pretrain(self, epochs: float) -> dict[str, float]:
        """Fit the label set before RL starts: `epochs` passes (at least `min_steps` gradient steps),
        with the losses measured and L2 adapted after each whole pass (`pretrain_l2_every_epoch`),
        else once at the end. Returns the last check's metrics."""
        cfg = self.config
        if not cfg.pretrain_l2_every_epoch or len(self.dataset) == 0:
            return self.train_round(epochs)
        total = self._steps_for(epochs)
        checks = max(1, min(math.ceil(epochs), total))
        metrics: dict[str, float] = {}
        for i in range(checks):  # the steps split as evenly as whole numbers allow
            metrics = self.train_round(steps=total * (i + 1) // checks - total * i // checks)
        metrics["reward/train_steps"] = total
        return metrics

    def _steps_for(self, epochs: float) -> int:
        """Gradient steps for `epochs` passes over the label set, at least `min_steps`."""
        return max(self.config.min_steps, math.ceil(epochs * len(self.dataset) / self.config.batch_size))

    def _draw(self, weights: torch.Tensor, new: int) -> torch.Tensor:
        """Each member's batch of comparison indices (M, B), by its bootstrap weights: a
        `recent_fraction` share from the `new` newest labels (the dataset's last columns), the rest
        from all. A member that holds out every new label draws its whole batch from all."""
        cfg = self.config
        idx = torch.multinomial(weights, cfg.batch_size, replacement=True, generator=self.generator)
        k = max(1, round(cfg.recent_fraction * cfg.batch_size)) if cfg.recent_fraction > 0 else 0
        n = weights.shape[1]
        if k == 0 or new >= n:
            return idx
        recent = weights[:, n - new:]
        has = recent.sum(1, keepdim=True) > 0
        drawn = torch.multinomial(torch.where(has, recent, torch.ones_like(recent)), k, replacement=True,
                                  generator=self.generator) + (n - new)
        idx[:, :k] = torch.where(has, drawn, idx[:, :k])
        return idx

    def _member_losses(self, data: dict[str, torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
        """Mean BT loss per member over its own comparison indices idx (M, B)."""
        left, right = data["left"][idx], data["right"][idx]
        both = torch.cat([left, right], dim=1)
        stride = min(self.config.frame_stride, data["seg_acts"].shape[1])
        offset = int(torch.randint(stride, (1,), generator=self.generator)) if stride > 1 else 0
        returns = strided_returns(self.model, data["seg_obs"], data["seg_acts"], both, stride, offset)
        r_left, r_right = returns.split(idx.shape[1], dim=1)
        return self._bt_loss(r_left, r_right, data["target"][idx].to(returns.device)).mean(1)

    @torch.no_grad()
    def _evaluate(self, data: dict[str, torch.Tensor]) -> dict[str, float]:
        """In-bag and out-of-bag (held-out, 1/e) loss and accuracy, on up to `eval_comparisons`
        comparisons; adapts L2 from their ratio."""
        cfg = self.config
        n = len(data["target"])
        rows = torch.arange(n)
        if cfg.eval_comparisons is not None and n > cfg.eval_comparisons:
            rows = torch.randperm(n, generator=self.generator)[:cfg.eval_comparisons]
        segs, inverse = torch.unique(torch.cat([data["left"][rows], data["right"][rows]]), return_inverse=True)
        seg_obs = data["seg_obs"]
        returns = returns_in_chunks(self.model, len(segs),
                                    lambda sl: (take(seg_obs, segs[sl]), take(data["seg_acts"], segs[sl])),
                                    seg_obs[0].numel() * seg_obs.element_size(), seg_obs.shape[1])  # (M, segments)
        r_left, r_right = returns[:, inverse[:len(rows)]], returns[:, inverse[len(rows):]]
        target = data["target"][rows]
        weights = data["weights"][:, rows]
        losses = self._bt_loss(r_left, r_right, target)  # (M, N)
        in_bag = weights > 0
        n_out = (~in_bag).sum(1)
        train_loss = (losses * weights).sum(1) / weights.sum(1).clamp_min(1)
        val_loss = (losses * ~in_bag).sum(1) / n_out.clamp_min(1)
        decided = target != 0.5
        correct = ((r_left > r_right) == (target > 0.5)) & decided
        oob = ~in_bag & decided
        metrics = {
            "reward/train_loss": float(train_loss.mean()),
            "reward/labels": float(n),
            "reward/train_accuracy": float((correct & in_bag).sum() / (in_bag & decided).sum().clamp_min(1)),
        }
        if int(n_out.min()) > 0:
            metrics["reward/val_loss"] = float(val_loss.mean())
            if int(oob.sum()) > 0:
                metrics["reward/val_accuracy"] = float((correct & oob).sum() / oob.sum())
            if self.config.adaptive_l2:
                ratio = val_loss / train_loss.clamp_min(1e-8)
                low, high = self.config.l2_band
                f = self.config.l2_factor
                self.l2 = torch.where(ratio > high, self.l2 * f, torch.where(ratio < low, self.l2 / f, self.l2))
                self.l2 = self.l2.clamp(1e-8, self.config.l2_max)
        metrics["reward/l2"] = float(self.l2.mean())
        return metrics

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "l2": self.l2,
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.l2 = state["l2"]
        self.generator.set_state(state["generator"])


def strided_returns(model: nn.Module, seg_obs: torch.Tensor, seg_acts: torch.Tensor, rows: torch.Tensor,
                    stride: int, offset: int) -> torch.Tensor:
    """Each member's estimate of its segments' returns (M, B) from steps offset, offset+stride, ...
    of the segments `rows` (M, B) indexes, their summed reward times the stride: averaged over the
    offsets 0..stride-1 it is the whole segment's return. Only the kept steps' frames are gathered."""
    return segment_returns(model, take(seg_obs[:, offset::stride], rows), take(seg_acts[:, offset::stride], rows),
                           per_member=True) * stride


def take(rows: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`rows[index]` (index of any shape), the same values in the same memory layout, gathered
    fast from strided views. Indexing copies element by element where a row's elements are not laid
    out in order, as in the label set's stacked frames (`stacked_view`: the stack axis is the outer
    one in memory): gathering those rows by index took 9.5 ms for a training batch of Pong segments.
    Here each row's axes are put in memory order first, so each row is copied as one block (1.7 ms),
    and then put back."""
    order = sorted(range(1, rows.dim()), key=lambda d: -rows.stride(d))
    picked = rows.permute(0, *order).index_select(0, index.reshape(-1))
    back = [0] + [1 + order.index(d) for d in range(1, rows.dim())]
    return picked.permute(*back).reshape(*index.shape, *rows.shape[1:])


@torch.no_grad()
def preference_accuracy(model: nn.Module, left_obs, left_acts, right_obs, right_acts, target) -> float | None:
    """Share of decided comparisons (not 'equal') where the ensemble mean prefers the right side.

    Returns None when there are no decided comparisons."""
    def returns(obs, acts) -> torch.Tensor:  # obs/acts: arrays or lists of per-segment arrays
        return returns_in_chunks(model, len(obs), lambda sl: (torch.as_tensor(np.stack(obs[sl])),
                                                               torch.as_tensor(np.stack(acts[sl]))),
                                 obs[0].nbytes, len(obs[0]), normalized=True).mean(0)

    return decided_accuracy(returns(left_obs, left_acts), returns(right_obs, right_acts), target)


def decided_accuracy(r_left: torch.Tensor, r_right: torch.Tensor, target) -> float | None:
    """Share of decided comparisons (target not 0.5) where the higher of the predicted returns
    (n,) is the preferred side; None when none is decided."""
    target = torch.as_tensor(np.asarray(target, dtype=np.float32))
    decided = target != 0.5
    if int(decided.sum()) == 0:
        return None
    correct = (r_left > r_right) == (target > 0.5)
    return float((correct & decided).sum() / decided.sum())
