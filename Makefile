# The two commands: `make run` and `make test`. Both create and reuse .venv: `make run`
# installs what serving needs, `make test` the development tools too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What is installed: the server alone, or with the development tools ([dev]).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# openapi-python-client, for the test of a client generated from /openapi.json: in a venv of
# its own, as it pins httpx and typer below the versions the server runs on.
OPC := $(VENV)/opc/bin/openapi-python-client
HOST ?= 127.0.0.1
PORT ?= 8000
DB ?= ordergate.db
# Test processes for `make test` (pytest-xdist); 0 runs the suite in this one process.
TEST_WORKERS ?= 2

.PHONY: run test lint typecheck check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

# The dev install includes the server's: it stands for both.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(RUN_STAMP)

$(OPC): | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/opc
	$(VENV)/opc/bin/python -m pip install --quiet 'openapi-python-client>=0.29,<0.30'

run: $(RUN_STAMP)
	$(BIN)/ordergate init --demo --db $(DB) --if-new
	$(BIN)/ordergate serve --host $(HOST) --port $(PORT) --db $(DB)

test: $(DEV_STAMP) $(OPC)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

check: lint typecheck test

# The six benchmarks of bench/README.md, each beside its floor, on SQLite and PostgreSQL.
bench: $(DEV_STAMP)
	for b in fills placements webhooks bulk_cancel ws_get_order million; do \
	    $(BIN)/python bench/$$b.py --db both || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
