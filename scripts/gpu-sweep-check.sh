#!/usr/bin/env bash
# GPU check of sweeps (issue 17), for a GPU machine: one worker per GPU through
# open_client(gpus=True), a batch sized to the device's free memory, and a batched
# ModelObserver run there, in images/s against the CPU (benchmarks/gpu_check.py).
#
# On a bare machine with torch but without dask or the bundled model's weights, put their
# wheels in .whl/ first (see /work/.library/device/README.md); this script installs
# whatever .whl/ holds into /tmp/site. Takes about a minute; stopped after 170 s.
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
	python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
		--target /tmp/site .whl/*.whl
	export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv || true
timeout 170 python3 benchmarks/gpu_check.py
