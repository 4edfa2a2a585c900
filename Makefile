# Contact Frequency Kit. `make report` and `make test` do all the set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
EXTRAS ?= report,test
ALL_EXTRAS := report,test,spark,postgres
# one stamp per set of extras, so `make install EXTRAS=...` installs what it names
comma  := ,
STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
SAMPLE := data/sample
PERIOD ?= 2026-10
GRAIN  ?= month
KERNEL := contact-kit
# measured on the 2-core dev machine: report,test is about 0.9 GB, all extras 1.4 GB
INSTALL_NOTE = $(if $(findstring spark,$(EXTRAS)),about 1.4 GB,about 0.9 GB), \
  1-5 minutes the first time (seconds when the packages are cached)

.PHONY: help install install-all bytecode sample report test lint format lab kernel bench equivalence clean

help: ## list the targets
	@grep -E '^[a-z.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "== installing the kit with extras [$(EXTRAS)] into $(VENV): $(INSTALL_NOTE)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "== uv (the fast installer)"
	@$(PY) -m pip install -q --upgrade uv || true
	@echo "== the kit and its dependencies"
	@if $(BIN)/uv --version >/dev/null 2>&1; then \
	  $(BIN)/uv pip install --python $(PY) --compile-bytecode -e '.[$(EXTRAS)]'; \
	else $(PY) -m pip install --progress-bar on -e '.[$(EXTRAS)]'; fi
	@$(MAKE) --no-print-directory bytecode
	@echo "== the Jupyter kernel $(KERNEL)"
	@$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (contact-kit)" >/dev/null
	@touch $@

install: $(STAMP) ## create .venv and install the kit (EXTRAS=report,test; add spark,postgres as needed)

install-all: ## install the kit with every extra, Spark and PostgreSQL included (about 1.4 GB)
	@$(MAKE) --no-print-directory install EXTRAS=$(ALL_EXTRAS)

kernel: $(STAMP) ## register the Jupyter kernel used by JupyterLab and papermill

$(SAMPLE)/ground_truth.json: | $(STAMP)
	$(PY) -m kit sample --out $(SAMPLE)

sample: $(SAMPLE)/ground_truth.json ## create the sample data if missing

# Compiled bytecode, written once: uv (unlike pip) does not compile at install unless asked, and where
# PYTHONDONTWRITEBYTECODE is set (the dev machine, many Docker images) Python never writes it, so every process, each
# report kernel included, compiled pandas, matplotlib and the kit from source again (report 32 s -> 21 s)
bytecode: ## compile the kit's modules to bytecode (only changed files; the install compiles the packages)
	@$(PY) -m compileall -q kit

report: $(STAMP) sample bytecode ## render the periodic report for PERIOD (default 2026-10) into reports/
	$(PY) -m kit report --period $(PERIOD) --grain $(GRAIN) --config report.yml

test: $(STAMP) bytecode ## run the test suite in parallel (doctests of kit/ included) and list the 15 slowest tests
	$(PY) -m pytest -q -n auto --durations=15

lint: $(STAMP) ## ruff lint and format check, mypy on kit/core and kit/metrics, notebook pairs in sync
	$(BIN)/ruff check kit tests benchmarks tools notebooks/*.py conftest.py
	$(BIN)/ruff format --check kit tests benchmarks tools notebooks/*.py conftest.py
	$(BIN)/mypy
	$(PY) tools/notebook_sync.py --check notebooks
	$(PY) tools/environment.py --check

format: $(STAMP) ## apply ruff's fixes and formatting, and re-pair the notebooks
	$(BIN)/ruff check --fix kit tests benchmarks tools notebooks/*.py
	$(BIN)/ruff format kit tests benchmarks tools notebooks/*.py
	$(PY) tools/notebook_sync.py notebooks

environment.yml: pyproject.toml tools/environment.py ## regenerate the conda environment from pyproject.toml
	$(PYTHON) tools/environment.py --write

lab: $(STAMP) ## start JupyterLab with the kit importable and the contact-kit kernel
	$(BIN)/jupyter lab --notebook-dir=. --config=jupyter_server_config.json --ServerApp.open_browser=False $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: $(STAMP) sample ## run the speed benchmarks (see benchmarks/README.md)
	$(PY) benchmarks/frequency_bench.py
	$(PY) benchmarks/report_time.py

equivalence: $(STAMP) sample ## compare every public function's output with a baseline (see benchmarks/equivalence.py)
	$(PY) benchmarks/equivalence.py compare --baseline $(or $(BASELINE),/tmp/kit-equivalence.pkl)

clean: ## remove generated data and reports (keeps .venv)
	rm -rf $(SAMPLE) reports/*/ reports/index.html
