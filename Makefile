# certbench: set-up, tests and benchmarks. The pipeline itself runs with `snakemake` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# evaluated on use only (make perf): 1 when torch sees a GPU
CUDA = $(shell $(BIN)/python -c "import torch; print(1 if torch.cuda.is_available() else '')")

.PHONY: setup test test-slow mutate perf paper-units perf-device clean-results

setup:  ## create .venv and install certbench with its test tools (about 2-3 minutes)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'

test:  ## the default suite: fast CPU tests, the smoke DAG included
	$(BIN)/python -m pytest -q

test-slow:  ## long-running tests only
	$(BIN)/python -m pytest -q -m slow

mutate:  ## mutation testing (mutmut, [tool.mutmut] in pyproject.toml): prints the score and every surviving mutant
	$(BIN)/python -m pip install --quiet 'mutmut>=3.3'
	OMP_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2 >mutants.log 2>&1 || (tail -c 3000 mutants.log; exit 1)
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
	  tested = s['total'] - s['skipped']; \
	  print(f\"mutation score {100 * (s['killed'] + s['timeout']) / tested:.1f}% ({s['killed']} killed, \
	{s['timeout']} timed out, {s['survived']} survived, {s['no_tests']} without tests, of {s['total']})\")"
	$(BIN)/mutmut results

perf:  ## speed ratios: certify vs raw inference (fp32, fast path); data held on the device vs a DataLoader; IBP / CROWN-IBP / OURS step vs standard; l2 IBP / LMT / BCP on 4C3F, BCP / LocalBCP on 6C2F; CAP with 50 projections on Medium; LipLT vs naive pairwise bounds on 6C2F; EOT-PGD vs PGD on Adv-BNN; traced vs untraced step; smoothing steps per pass; deterministic vs not
	$(BIN)/python -m bench.perf.certify_throughput --batch 400 1000 --batches 4 --fast
	$(BIN)/python -m bench.perf.train_step
	$(BIN)/python -m bench.perf.train_step --model 4c3f --norm l2 --eps 0.1412 --batch 50 --methods ibp lmt bcp
	$(BIN)/python -m bench.perf.train_step --model 6c2f --norm l2 --eps 0.1412 --batch 50 --methods ibp bcp local_bcp
	$(BIN)/python -m bench.perf.train_step --model medium --batch 32 --methods ibp cap-projections50
	$(BIN)/python -m bench.perf.liplt_time
	$(BIN)/python -m bench.perf.eot_time
	$(BIN)/python -m bench.perf.trace_overhead
	$(BIN)/python -m bench.perf.smoothing_step --sigma 0.25
	$(BIN)/python -m bench.perf.determinism_cost
	$(BIN)/python -m bench.perf.data_on_device
	$(BIN)/python -m bench.perf.bound_memory --batch 50 $(if $(CUDA),--device cuda,--measure-batch 2)

paper-units:  ## every distinct unit of the paper-scale jobs (benchmarks/paper_units.json), to time on a machine without snakemake
	$(BIN)/python -m bench.perf.paper_cost --write-units benchmarks/paper_units.json all

# perf-device: logs and unit times land in $(OUT); each part stops at its time limit (seconds) with what it has.
# A unit time file already in $(OUT) is resumed; PERF_SECONDS=0 skips make perf (a second run for the units).
OUT ?= benchmarks/device
PERF_SECONDS ?= 240
UNITS_SECONDS ?= 280
perf-device:  ## one prepared run on a GPU with torch but no snakemake (python3 on PATH): make perf, then the units of make paper-units
	mkdir -p $(OUT)
	export PYTHONUNBUFFERED=1; \
	python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))" >$(OUT)/perf.log 2>&1; \
	[ $(PERF_SECONDS) -eq 0 ] || timeout $(PERF_SECONDS) make -k perf BIN="$$(dirname "$$(command -v python3)")" \
	  >>$(OUT)/perf.log 2>&1; \
	timeout $(UNITS_SECONDS) python3 -m bench.perf.paper_cost --units benchmarks/paper_units.json \
	  --timings $(OUT)/paper_cost.json >$(OUT)/units.log 2>&1; \
	tail -n 80 $(OUT)/perf.log; tail -n 3 $(OUT)/units.log

clean-results:  ## delete every checkpoint, certificate, log, job timing and generated table or figure
	rm -rf results logs benchmarks .snakemake report.html
	find tables figures -type f ! -name README.md -delete
