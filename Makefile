# The two commands: `make run` and `make test`. Both create and reuse .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DB ?= ordergate.db
# Test processes for `make test` (pytest-xdist); 0 runs the suite in this one process.
TEST_WORKERS ?= 2

.PHONY: run test lint typecheck check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ordergate init --demo --db $(DB) --if-new
	$(BIN)/ordergate serve --host $(HOST) --port $(PORT) --db $(DB)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# The six benchmarks of bench/README.md, each beside its floor, on SQLite and PostgreSQL.
bench: $(STAMP)
	for b in fills placements webhooks bulk_cancel ws_get_order million; do \
	    $(BIN)/python bench/$$b.py --db both || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
