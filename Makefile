# Every target that runs code first makes sure .venv matches requirements.lock.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

LINT_PATHS := src tests bench .ci

.PHONY: run test test-unit test-integration test-e2e test-concurrency lint typecheck arch fmt \
	migrate bench bench-browse clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/marketlink migrate
	$(BIN)/marketlink seed-demo --once
	$(BIN)/marketlink run

# Tests ----------------------------------------------------------------------------------

# Everything: unit, integration and e2e, then the slow concurrency runs.
test: $(STAMP)
	$(BIN)/pytest -m "not concurrency"
	$(BIN)/pytest -m concurrency

# Domain and use cases with fakes: no PostgreSQL, no Redis, no network.
test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

# Each adapter against the real thing (SQLite, PostgreSQL, Redis, the sandbox).
test-integration: $(STAMP)
	$(BIN)/pytest tests/integration -m "not concurrency"

# HTTP through the app and the real container.
test-e2e: $(STAMP)
	$(BIN)/pytest tests/e2e -m "not concurrency"

test-concurrency: $(STAMP)
	$(BIN)/pytest -m concurrency

# Checks ---------------------------------------------------------------------------------

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	@$(MAKE) --no-print-directory typecheck arch

typecheck: $(STAMP)
	$(BIN)/mypy src

arch: $(STAMP)
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

migrate: $(STAMP)
	$(BIN)/marketlink migrate

bench: $(STAMP)
	$(BIN)/python bench/bench.py --mode book

bench-browse: $(STAMP)
	$(BIN)/python bench/bench.py --mode browse

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
