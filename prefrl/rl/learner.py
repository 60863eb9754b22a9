"""The preference side of the loop, free of SB3: segments in, queries out, reward model updated.

`PreferenceLearner.observe` takes the recorded env steps; `ask` picks pairs, gets answers and commits them
to the store before anything uses them; `update_reward_model` retrains and renormalises.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from prefrl.preferences import PreferenceStore
from prefrl.query.selectors import QuerySelector
from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.ensemble import normalize_output, returns_in_chunks
from prefrl.reward.trainer import RewardTrainer, decided_accuracy, preference_accuracy
from prefrl.rl.reward_wrapper import RolloutRecord
from prefrl.segments import SegmentBuffer, SegmentCollector
from prefrl.teachers.base import Teacher

NORMALIZATION_SEGMENTS = 300
"""Most segments sampled from the buffer to fit input/output normalisation and to measure
correlation (fewer when `normalization_steps` / segment length is smaller)."""


def normalization_segment_count(normalization_steps: int, segment_length: int) -> int:
    """Segments sampled to fit the reward's normalisation: about `normalization_steps` steps' worth,
    at least 2 and at most NORMALIZATION_SEGMENTS."""
    return max(2, min(NORMALIZATION_SEGMENTS, normalization_steps // segment_length))


class PreferenceLearner:
    def __init__(
        self,
        model: nn.Module,
        buffer: SegmentBuffer,
        n_envs: int,
        selector: QuerySelector,
        teacher: Teacher,
        store: PreferenceStore,
        dataset: PreferenceDataset,
        trainer: RewardTrainer,
        rng: np.random.Generator,
        normalization_steps: int = 9000,
        normalization_momentum: float = 1.0,
        normalization_data: str = "recent",
    ) -> None:
        self.model = model
        self.normalization_momentum = normalization_momentum
        if normalization_data not in ("recent", "initial"):
            raise ValueError(f"normalization_data must be 'recent' or 'initial', got {normalization_data!r}")
        self.normalization_data = normalization_data
        self.reference: tuple[np.ndarray, np.ndarray] | None = None
        """With `normalization_data="initial"`: the (obs, acts) steps the output normalisation is
        fitted on at every update, sampled once at the first update (the random initial policy's
        segments). Part of the checkpoint, so a resumed run keeps the same reward scale."""
        self.stats_fitted = False
        """Whether the model's output statistics were fitted yet (a resumed model's were); until then
        an update refits them fully."""
        self.normalization_segments = normalization_segment_count(normalization_steps, buffer.length)
        self.buffer = buffer
        self.collector = SegmentCollector(buffer, n_envs)
        self.selector = selector
        self.teacher = teacher
        self.store = store
        self.dataset = dataset
        self.trainer = trainer
        self.rng = rng
        self.asynchronous = bool(getattr(teacher, "asynchronous", False))
        self.labels_asked = store.query_count() if self.asynchronous else store.count()
        self.pending_train = False
        self.metrics: dict[str, float] = {}
        # what of the store the dataset already holds (the human path reads answers back from it)
        self._seen_comparison = max((c.id for c in store.comparisons()), default=0)
        self._seen_revision = store.revision()

    def observe(self, rollout: RolloutRecord) -> None:
        """Cut the recorded steps (a rollout, or the random policy's last steps) into segments."""
        states = rollout.render_states if self.buffer.render_states.shape[-1] else None
        self.collector.observe_block(rollout.obs, rollout.actions, rollout.true_rewards, rollout.dones, states)

    def ask(self, n_queries: int) -> int:
        """Select `n_queries` pairs and put them to the teacher. A synchronous teacher answers at
        once and the answers are committed; an asynchronous one (a person) gets pending queries,
        capped at its `max_pending`. Returns how many pairs were asked."""
        if self.asynchronous:
            n_queries = min(n_queries, self.teacher.max_pending - self.store.pending_count())
        if n_queries <= 0:
            return 0
        ids = self.selector.select(self.buffer, n_queries, self.rng)
        pairs = [(self.buffer.get(a), self.buffer.get(b)) for a, b in ids]
        self.labels_asked += len(pairs)
        if self.asynchronous:
            self.store.add_queries(pairs)
            return len(pairs)
        answers = self.teacher.answer(pairs)
        comparison_ids = self.store.add_comparisons(pairs, answers, self.teacher.name)  # acknowledged from here on
        self._seen_comparison = max(comparison_ids)
        scored = getattr(self.selector, "scored", None)  # the disagreement selector's scores, this model's
        self._add_labels(pairs, answers, None if scored is None else
                         normalize_output(self.model, scored.lookup(ids.T), self.buffer.length).mean(0))
        return len(pairs)

    def collect_answers(self) -> int:
        """Take in answers committed to the store since last time (the human path). Returns how
        many new labels arrived. A withdrawn answer (undo) makes the label set reload whole."""
        if not self.asynchronous:
            return 0  # a synchronous teacher's labels went into the dataset as they were asked
        self.teacher.before_collect(self.store)
        if self.store.revision() != self._seen_revision:
            self._seen_revision = self.store.revision()
            self.dataset.replace_with(self.store)
            self._seen_comparison = max((c.id for c in self.store.comparisons()), default=0)
            self.pending_train = True
        new = self.store.comparisons(after_id=self._seen_comparison)
        if not new:
            return 0
        self._seen_comparison = new[-1].id
        segments = self.store.segments({c.left_id for c in new} | {c.right_id for c in new})
        self._add_labels([(segments[c.left_id], segments[c.right_id]) for c in new], [c.answer for c in new])
        return len(new)

    def _add_labels(self, pairs, answers, returns: torch.Tensor | None = None) -> None:
        """Add answered pairs to the label set. `returns` (2, n): the pairs' predicted returns (the
        members' normalised mean) by the current model, where they were already scored."""
        # The current model has not seen these labels: its accuracy on them is a held-out figure.
        decided = [i for i, a in enumerate(answers) if a.target is not None]
        if decided:
            targets = [answers[i].target for i in decided]
            if returns is not None:
                acc = decided_accuracy(returns[0, decided], returns[1, decided], targets)
            else:
                side = lambda s, key: [getattr(pairs[i][s], key) for i in decided]  # noqa: E731
                acc = preference_accuracy(self.model, side(0, "obs"), side(0, "acts"), side(1, "obs"),
                                          side(1, "acts"), targets)
            if acc is not None:
                self.metrics["reward/heldout_accuracy"] = acc
        if self.dataset.add(pairs, answers):
            self.pending_train = True

    def _normalization_sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids = self.buffer.live_ids()
        if len(ids) > self.normalization_segments:
            ids = np.sort(self.rng.choice(ids, self.normalization_segments, replace=False))
        return self.buffer.batch(ids)

    def update_reward_model(self, epochs: float | None = None) -> dict[str, float]:
        """Retrain on every label so far, then renormalise on recent segments. With `epochs`, this is
        the pretraining on the first labels (`RewardTrainer.pretrain`); else one online update."""
        if not self.pending_train:
            return {}
        obs, acts, true_rewards = self._normalization_sample()
        flat_obs = obs.reshape(-1, *obs.shape[2:])
        flat_acts = acts.reshape(-1, acts.shape[-1])
        self.model.fit_input_normalization(flat_obs, flat_acts)
        metrics = self.trainer.train_round() if epochs is None else self.trainer.pretrain(epochs)
        momentum = self.normalization_momentum if self.stats_fitted else 1.0
        if self.normalization_data == "initial":
            if self.reference is None:
                self.reference = (flat_obs.copy(), flat_acts.copy())
            self.model.fit_output_normalization(*self.reference, momentum=momentum)
            with torch.no_grad():
                predicted = returns_in_chunks(self.model, len(obs),
                                              lambda sl: (torch.as_tensor(obs[sl]), torch.as_tensor(acts[sl])),
                                              obs[0].nbytes, obs.shape[1], normalized=True).mean(0).numpy()
        else:  # the sample's scores from the fit serve the correlation too: no second pass over it
            raw = self.model.fit_output_normalization(flat_obs, flat_acts, momentum=momentum)
            with torch.no_grad():
                predicted = normalize_output(self.model, raw).view(raw.shape[0], *obs.shape[:2]).sum(-1)
            predicted = predicted.mean(0).cpu().numpy()
        self.stats_fitted = True
        true = true_rewards.sum(1)
        if len(true) > 2 and true.std() > 0 and predicted.std() > 0:
            metrics["reward/return_corr"] = float(np.corrcoef(predicted, true)[0, 1])
        self.pending_train = False
        self.metrics.update(metrics)
        return metrics
