"""Reward models learned from comparisons: ensembles and their Bradley-Terry trainer."""

from prefrl.reward.ensemble import EnsembleLinear, MLPRewardEnsemble, segment_returns
from prefrl.reward.dataset import PreferenceDataset
from prefrl.reward.trainer import RewardTrainer, RewardTrainerConfig

__all__ = [
    "EnsembleLinear",
    "MLPRewardEnsemble",
    "PreferenceDataset",
    "RewardTrainer",
    "RewardTrainerConfig",
    "segment_returns",
]
