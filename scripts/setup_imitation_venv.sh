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

# Hold torch at exactly the build just installed (e.g. 2.13.0+cpu) while resolving the rest: a
# plain "torch==2.13.0" also matches PyPI's CUDA build, which pip would download (526 MB) if it
# ever backtracked.
TORCH_VERSION="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==$TORCH_VERSION" > "$CONSTRAINTS"

# Everything else in one resolver call:
#   imitation==1.0.1              the library under benchmark (latest release).
#   stable-baselines3~=2.2.1      imitation 1.0.1's own pin, restated so pip never wanders off it.
#   gymnasium[mujoco]==0.29.1     imitation pins gymnasium~=0.29; 0.29.1 is the last 0.29 release
#                                 and has the MuJoCo v4 envs (HalfCheetah/Hopper/Walker2d/Swimmer-v4).
#   mujoco==2.3.7                 gymnasium 0.29 only asks for mujoco>=2.3.3, so pip would take 4.x;
#                                 its v4 envs were written against the 2.3.x bindings, and 2.3.7 (the
#                                 last 2.x) ships cp311 wheels. Checked: the four v4 envs step.
#   numpy<2                       gymnasium 0.29 (np.bool8 in its env checker) and SB3 2.2 predate
#                                 NumPy 2.
#   pyarrow<26                    pulled in by imitation's `datasets` dependency; pyarrow 26 refuses
#                                 to import under NumPy 1.x (checked: 23.0.1 and 25.0.1 import fine).
#   setuptools>=77.0.3,<81        imitation's sacred-based modules import pkg_resources, which the
#                                 newest setuptools dropped (84.2.1 has none; 80.10.2 does). The
#                                 usual advice, setuptools<70, conflicts with torch 2.13.0, which
#                                 requires setuptools>=77.0.3; <81 satisfies both.
"${PIP[@]}" -c "$CONSTRAINTS" \
    "imitation==1.0.1" \
    "stable-baselines3~=2.2.1" \
    "gymnasium[mujoco]==0.29.1" \
    "mujoco==2.3.7" \
    "numpy<2" \
    "pyarrow<26" \
    "setuptools>=77.0.3,<81"
"$VENV/bin/python" -m pip check

# Verify: the library imports and a v4 MuJoCo env steps.
"$VENV/bin/python" - <<'EOF'
import gymnasium as gym, imitation, mujoco, stable_baselines3, torch
import imitation.algorithms.preference_comparisons  # noqa: F401  the arm's entry point
import imitation.scripts.train_preference_comparisons  # noqa: F401  sacred, datasets, pyarrow
env = gym.make("Hopper-v4")
env.reset(seed=0)
env.step(env.action_space.sample())
print(f"ok: imitation {imitation.__version__}, torch {torch.__version__}, sb3 {stable_baselines3.__version__}, "
      f"gymnasium {gym.__version__}, mujoco {mujoco.__version__}")
EOF
