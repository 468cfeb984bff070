# The two commands a newcomer runs: `make demo` and `make test`. `make bench` compares with MLflow.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_VENV := .bench/mlflow-venv
MLFLOW_VERSION := 3.17.2

.PHONY: demo test lint check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

DEMO_PORT ?= 8888
# JupyterLab refuses to run as root unless told to (CI and containers run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py
	@echo "\nJupyterLab on the demo notebooks: open the URL with the token printed below (Ctrl+C stops it)."
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(DEMO_PORT) --ServerApp.port_retries=0 \
		--ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/01-quickstart.ipynb $(ALLOW_ROOT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The quick loop (under a minute): lint, then every test not marked slow or browser, on
# both cores (each test has its own store and folder, so they run in any order).
check: lint
	$(BIN)/python -m pytest -q -n 2 -m "not slow and not browser"

# Everything the tests start is set up here: Chromium (browser tests), PostgreSQL (sync
# against an MLflow server backed by it) and MLflow itself in its own venv (interop, parity,
# evaluation and serving comparisons, the servers that sync talks to).
test: $(STAMP) $(BENCH_VENV)/.installed lint
	bash scripts/setup-browser.sh
	bash scripts/setup-postgres.sh
	NBTRACK_MLFLOW_PYTHON=$(abspath $(BENCH_VENV))/bin/python $(BIN)/python -m pytest

$(BENCH_VENV)/.installed: Makefile
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q "mlflow[auth]==$(MLFLOW_VERSION)" scikit-learn psycopg2-binary
	touch $@

bench: $(STAMP) $(BENCH_VENV)/.installed
	bash scripts/setup-wrk.sh
	bash scripts/setup-browser.sh
	bash scripts/setup-postgres.sh
	$(BIN)/python bench/run.py --mlflow-python $(BENCH_VENV)/bin/python --readme README.md

clean:
	rm -rf $(VENV) .bench .pytest_cache .ruff_cache tests/artifacts
