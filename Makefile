# psychoalign — everything a fresh clone needs, from apt packages to the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Xvfb and GL for PsychoPy windows in tests; libjack lets psychtoolbox import.
# chromium + chromium-driver: the report is checked in a real headless browser.
# postgresql: tests/web start a real PostgreSQL server for the web game's storage.
APT_PACKAGES := xvfb xauth libgl1-mesa-dri libjack-jackd2-0 chromium chromium-driver postgresql
# What PyQt6's xcb platform plugin (the participant dialog) links against: every library
# its plugins and Qt libraries need that Debian does not install by itself. Without
# libxcb-icccm4 and libxcb-keysyms1 Qt aborts with "Could not load the Qt platform plugin".
QT_PACKAGES := libdbus-1-3 libegl1 libfontconfig1 libfreetype6 libgl1 libglib2.0-0 \
	libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-glx0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 \
	libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon0 \
	libxkbcommon-x11-0
TORCH := torch==2.14.1 torchvision==0.29.1
PYTEST_WORKERS ?= 2
LINTED := src tests benchmarks analysis experiments setup.py

.PHONY: setup test demo bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	scripts/install-apt-packages $(APT_PACKAGES) $(QT_PACKAGES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[lab,models,timm,dev,sweep,web]"
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
