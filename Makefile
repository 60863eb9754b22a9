# Set-up is part of every target: the first run creates .venv and installs torch==2.13.0 (the CPU
# build) before the rest, so nothing pulls CUDA packages; later runs reuse it.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export MUJOCO_GL ?= egl

.PHONY: train test test-all venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The main job: a few minutes of HalfCheetah from synthetic preferences; writes runs/<run>/.
train: $(STAMP)
	$(VENV)/bin/prefrl train --env HalfCheetah-v5 --timesteps 400000 --labels 400 --name quickstart

# The default (fast) test suite.
test: $(STAMP)
	$(PY) -m pytest -q

# Everything, including tests marked slow.
test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

clean:
	rm -rf $(VENV) build *.egg-info
