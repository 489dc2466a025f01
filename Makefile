# certbench: set-up, tests and benchmarks. The pipeline itself runs with `snakemake` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup test test-slow perf clean-results

setup:  ## create .venv and install certbench with its test tools (about 2-3 minutes)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'

test:  ## the default suite: fast CPU tests, the smoke DAG included
	$(BIN)/python -m pytest -q

test-slow:  ## long-running tests only
	$(BIN)/python -m pytest -q -m slow

perf:  ## speed ratios: certify vs raw inference throughput; IBP / CROWN-IBP / OURS step vs a standard step
	$(BIN)/python -m bench.perf.certify_throughput
	$(BIN)/python -m bench.perf.train_step

clean-results:  ## delete every checkpoint, certificate, log, job timing and generated table or figure
	rm -rf results logs benchmarks .snakemake report.html
	find tables figures -type f ! -name README.md -delete
