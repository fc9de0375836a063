# The two commands a new user needs: `make demo` (the main job) and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: help install demo test clean-demo

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

install:  ## create ./.venv with the pinned stack and mmdmtl (idempotent; seconds when done)
	@PYTHON=$(PYTHON) VENV=$(VENV) bash tools/misc/install_env.sh

demo: install  ## generate the synthetic data, train + evaluate DiffusionMTL, write work_dirs/demo/
	$(PY) tools/run_demo.py --work-dir work_dirs/demo

test: install  ## run the test suite
	$(PY) -m pytest tests

clean-demo:  ## remove the demo's outputs (data and work dir)
	rm -rf work_dirs/demo data/synthetic_scenes_demo
