#!/usr/bin/env bash
# Creates (or tops up) a separate virtual environment for the `imitation` benchmark arm
# (scripts/imitation_arm.py). imitation 1.0.1 pins an older stack (gymnasium 0.29, SB3 2.2) that
# cannot share prefrl's own .venv, so it gets its own.
#
#     scripts/setup_imitation_venv.sh [VENV_DIR]     # default: <repo>/.venv-imitation
#
# Idempotent: re-running reuses the venv and pip leaves already-satisfied pins alone.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO/.venv-imitation}"
PYTHON="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating $VENV"
    "$PYTHON" -m venv "$VENV"
else
    echo "reusing $VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

# torch first and pinned: 2.13.0 is the CPU build available locally (find-links); letting imitation
# pull an unpinned torch would fetch the latest CUDA build and several GB of nvidia-* wheels.
"${PIP[@]}" "torch==2.13.0"

# Everything else in one resolver call, with torch held at the version installed above.
#   imitation==1.0.1            the library under benchmark (latest release).
#   stable-baselines3~=2.2.1    imitation 1.0.1's own pin, restated so pip never wanders off it.
#   gymnasium[mujoco]==0.29.1   imitation pins gymnasium~=0.29; 0.29.1 is the last 0.29 release and
#                               provides the MuJoCo v4 envs (HalfCheetah/Hopper/Walker2d/Swimmer-v4).
#   mujoco==2.3.7               gymnasium 0.29's v4 envs were written against the 2.3.x bindings;
#                               2.3.7 is the last 2.x release and ships cp311 wheels. Newer majors
#                               (3.x/4.x) changed the bindings' API, and gymnasium 0.29 only asks
#                               for mujoco>=2.3.3, so without this pip would take 4.x.
#   numpy<2                     gymnasium 0.29 (np.bool8 in its env checker) and SB3 2.2 predate
#                               NumPy 2 and break under it.
#   setuptools<70               imitation imports sacred, which needs pkg_resources APIs that
#                               setuptools 70 removed.
"${PIP[@]}" \
    "torch==2.13.0" \
    "imitation==1.0.1" \
    "stable-baselines3~=2.2.1" \
    "gymnasium[mujoco]==0.29.1" \
    "mujoco==2.3.7" \
    "numpy<2" \
    "setuptools<70"

# Verify: the library imports and a v4 MuJoCo env steps.
"$VENV/bin/python" - <<'EOF'
import gymnasium as gym, imitation, mujoco, stable_baselines3, torch
import imitation.algorithms.preference_comparisons  # noqa: F401
env = gym.make("Hopper-v4")
env.reset(seed=0)
env.step(env.action_space.sample())
print(f"ok: imitation {imitation.__version__}, torch {torch.__version__}, sb3 {stable_baselines3.__version__}, "
      f"gymnasium {gym.__version__}, mujoco {mujoco.__version__}")
EOF
