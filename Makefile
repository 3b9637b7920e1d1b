# Two commands a newcomer needs: `make demo` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch/torchvision are pinned here (not in pyproject) because this machine serves these
# exact builds from local files; users elsewhere get the open ranges in pyproject.toml.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: setup demo test lint bench clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -e ".[test,albumentations,notebook]" $(TORCH_PINS)
	touch $@

setup: $(VENV)/.installed

demo: setup
	OMP_NUM_THREADS=1 $(PY) -m reorder.cli demo --images sample_images

test: setup
	$(PY) -m ruff check reorder tests bench
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist worksteal -q

# NVIDIA DALI (CPU pipeline) is one of the alternatives compared; where it cannot be
# installed, its column is skipped with a note.
bench: setup
	$(PY) -m pip install --quiet -e ".[bench]" $(TORCH_PINS) || \
		echo "NVIDIA DALI could not be installed here: the benchmark skips its column"
	OMP_NUM_THREADS=1 $(PY) bench/run.py $(if $(QUICK),--quick,)
	OMP_NUM_THREADS=1 $(PY) bench/watch_cost.py
	$(if $(QUICK),,OMP_NUM_THREADS=1 $(PY) bench/small.py)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
