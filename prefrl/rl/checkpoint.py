"""A run's checkpoint folder: the policy, its observation normalisation and a state dict, written
so that a crash never leaves a broken one, and read back to continue the run."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize


def save_checkpoint(run_dir: Path, agent: BaseAlgorithm, env: VecNormalize, state: dict) -> None:
    """Write `run_dir/checkpoint/` (policy.zip, vecnormalize.pkl, state.pt) beside the old one, then
    swap, so a crash never leaves a broken one."""
    run_dir = Path(run_dir)
    final = run_dir / "checkpoint"
    tmp = run_dir / "checkpoint.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    agent.save(tmp / "policy.zip")
    env.save(str(tmp / "vecnormalize.pkl"))
    torch.save(state, tmp / "state.pt")
    old = run_dir / "checkpoint.old"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def has_checkpoint(run_dir: Path) -> bool:
    """Whether `run_dir` holds a checkpoint (a whole one, or the old one a kill mid-swap left)."""
    return any((Path(run_dir) / folder / "state.pt").is_file() for folder in ("checkpoint", "checkpoint.old"))


def checkpoint_state(run_dir: Path) -> dict | None:
    """The state dict of `run_dir`'s checkpoint, or None where the run wrote none (yet), or was
    killed between the swap's two renames (then the previous checkpoint is still whole)."""
    run_dir = Path(run_dir)
    for folder in ("checkpoint", "checkpoint.old"):
        path = run_dir / folder / "state.pt"
        if path.is_file():
            if folder == "checkpoint.old":  # killed mid-swap: put the whole one back
                (run_dir / folder).rename(run_dir / "checkpoint")
            return torch.load(run_dir / "checkpoint" / "state.pt", weights_only=False, map_location="cpu")
    return None


def restore_agent(run_dir: Path, agent: BaseAlgorithm, venv: VecEnv, state: dict, device: str) -> VecNormalize:
    """Load the checkpoint's policy and observation normalisation into a freshly made `agent`
    around `venv` (the env under its VecNormalize); returns the loaded VecNormalize, now the
    agent's env."""
    checkpoint = Path(run_dir) / "checkpoint"
    env = VecNormalize.load(str(checkpoint / "vecnormalize.pkl"), venv)
    agent.set_env(env)
    agent.set_parameters(str(checkpoint / "policy.zip"), device=device)
    agent.num_timesteps = state["num_timesteps"]
    return env
