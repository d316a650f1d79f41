# psychoalign — everything a fresh clone needs, from apt packages to the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Xvfb and GL for PsychoPy windows in tests; libjack lets psychtoolbox import.
# chromium + chromium-driver: the report is checked in a real headless browser.
APT_PACKAGES := xvfb xauth libgl1-mesa-dri libjack-jackd2-0 chromium chromium-driver
TORCH := torch==2.14.1 torchvision==0.29.1
PYTEST_WORKERS ?= 2
LINTED := src tests benchmarks analysis experiments setup.py

.PHONY: setup test demo bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	scripts/install-apt-packages $(APT_PACKAGES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[lab,models,timm,dev]"
	touch $@

test: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

demo: $(STAMP)
	$(BIN)/psychoalign demo

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(STAMP)
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
