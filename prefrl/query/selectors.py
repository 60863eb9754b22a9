"""Query selectors: which segment pairs to show the teacher.

Both sample candidate pairs uniformly from the buffer's most recent segments (the current policy's
behaviour, where a learned reward is most likely to be wrong in a way the agent exploits). `DisagreementSelector`
then keeps the pairs whose predicted preference probability varies most across ensemble members
(the paper's crude active-learning rule); `RandomSelector` keeps the first ones (the ablation).

With `event_share` below 1, `DisagreementSelector` ranks only the candidate pairs that hold one of
that share of the candidates' segments with the largest predicted |return| (the members' mean,
normalised). In a sparse-reward game most segments of a long rally hold no reward event, and a pair of
two of them is answered "equal" and says little; where the model already sees something happening,
an event is likelier (not part of the paper: an option, off by default).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np
import torch
from torch import nn

from prefrl.reward.ensemble import normalize_output, returns_in_chunks
from prefrl.segments import SegmentBuffer


def sample_candidate_pairs(buffer: SegmentBuffer, n_pairs: int, rng: np.random.Generator,
                           pool: int | None = None, recent: int | None = None) -> np.ndarray:
    """(n_pairs, 2) segment ids, two distinct segments per pair, from the `recent` newest segments
    (all when None); with `pool`, from a random subset of at most that many of those (bounds the
    cost of scoring pixel segments)."""
    ids = buffer.live_ids()
    if recent is not None:
        ids = ids[-recent:]
    if pool is not None and len(ids) > pool:
        ids = np.sort(rng.choice(ids, pool, replace=False))
    if len(ids) < 2:
        raise ValueError("need at least two segments in the buffer to form a pair")
    first = rng.integers(0, len(ids), size=n_pairs)
    # Offset by 1..len-1 so the second differs from the first, still uniform over the others.
    second = (first + rng.integers(1, len(ids), size=n_pairs)) % len(ids)
    return np.stack([ids[first], ids[second]], axis=1)


@torch.no_grad()
def preference_variance(model: nn.Module, buffer: SegmentBuffer, pairs: np.ndarray) -> np.ndarray:
    """Variance across members of P[left > right] for each pair, (n_pairs,)."""
    return scored_preference_variance(model, buffer, pairs)[0]


@torch.no_grad()
def scored_preference_variance(model: nn.Module, buffer: SegmentBuffer,
                               pairs: np.ndarray) -> tuple[np.ndarray, "ScoredSegments"]:
    """`preference_variance`, and the scores it was computed from."""
    model.eval()
    unique, inverse = np.unique(pairs, return_inverse=True)
    returns = returns_in_chunks(model, len(unique),
                                lambda sl: tuple(map(torch.as_tensor, buffer.batch(unique[sl])[:2])),
                                buffer.obs[0].nbytes, buffer.length)  # (M, U)
    inverse = torch.as_tensor(inverse.reshape(pairs.shape))
    p_left = torch.sigmoid(returns[:, inverse[:, 0]] - returns[:, inverse[:, 1]])
    return p_left.var(0, unbiased=False).numpy(), ScoredSegments(unique, returns)


def salient_pairs(model: nn.Module, scored: "ScoredSegments", pairs: np.ndarray, share: float,
                  length: int) -> np.ndarray:
    """Which `pairs` (bool, (n_pairs,)) hold one of the `share` of scored segments (at least one) with
    the largest |mean normalised return| under `model`."""
    strength = normalize_output(model, scored.returns, length).mean(0).abs().numpy()
    k = max(1, int(np.ceil(share * len(strength))))
    threshold = np.partition(strength, len(strength) - k)[len(strength) - k]
    return np.isin(pairs, scored.ids[strength >= threshold]).any(axis=1)


class ScoredSegments(NamedTuple):
    """Segments' unnormalised returns by each member of a model, as the model was when scoring them."""
    ids: np.ndarray
    """Segment ids, ascending, (U,)."""
    returns: torch.Tensor
    """(M, U)."""

    def lookup(self, ids: np.ndarray) -> torch.Tensor:
        """The returns (M, *ids.shape) of segments `ids`, each of which was scored."""
        pos = np.searchsorted(self.ids, ids)
        if not np.array_equal(self.ids[np.minimum(pos, len(self.ids) - 1)], ids):
            raise KeyError("some of these segments were not scored")
        return self.returns[:, torch.as_tensor(pos)]


class QuerySelector(Protocol):
    def select(self, buffer: SegmentBuffer, n_queries: int, rng: np.random.Generator) -> np.ndarray:
        """(n_queries, 2) segment ids to ask about."""


class RandomSelector:
    """Uniformly random pairs (of the `recent` newest segments)."""

    def __init__(self, recent: int | None = None) -> None:
        self.recent = recent

    def select(self, buffer: SegmentBuffer, n_queries: int, rng: np.random.Generator) -> np.ndarray:
        return sample_candidate_pairs(buffer, n_queries, rng, recent=self.recent)


class DisagreementSelector:
    """Sample `oversample` x n candidate pairs; keep the n with the highest member variance. The
    candidates' scores stay in `scored` until the next selection (the learner's held-out accuracy
    on the chosen pairs needs them, with the same model). With `event_share` < 1, only pairs holding a
    salient segment (`salient_pairs`) are ranked, and others fill in after them if too few are."""

    def __init__(self, model: nn.Module, oversample: int = 10, pool: int | None = None,
                 recent: int | None = None, event_share: float = 1.0) -> None:
        if oversample < 1:
            raise ValueError(f"oversample must be at least 1, got {oversample}")
        if not 0 < event_share <= 1:
            raise ValueError(f"event_share must be within (0, 1], got {event_share}")
        self.event_share = event_share
        self.model = model
        self.oversample = oversample
        self.pool = pool
        self.recent = recent
        self.scored: ScoredSegments | None = None

    def select(self, buffer: SegmentBuffer, n_queries: int, rng: np.random.Generator) -> np.ndarray:
        candidates = sample_candidate_pairs(buffer, n_queries * self.oversample, rng, self.pool, self.recent)
        variance, self.scored = scored_preference_variance(self.model, buffer, candidates)
        if self.event_share < 1:
            salient = salient_pairs(self.model, self.scored, candidates, self.event_share, buffer.length)
            variance = np.where(salient, variance, variance - 2.0)  # a variance of P is at most 0.25
        top = np.argsort(-variance, kind="stable")[:n_queries]
        return candidates[top]


def make_selector(name: str, model: nn.Module, oversample: int = 10, pool: int | None = None,
                  recent: int | None = None, event_share: float = 1.0) -> QuerySelector:
    if name == "disagreement":
        return DisagreementSelector(model, oversample, pool, recent, event_share)
    if name == "random":
        return RandomSelector(recent)
    raise ValueError(f"unknown query selector {name!r}; choose 'disagreement' or 'random'")
