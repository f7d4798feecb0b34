# Every target that runs code first makes sure .venv matches requirements.lock.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-unit test-integration test-concurrency lint typecheck arch fmt migrate openapi bench bench-browse clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/marketlink migrate
	$(BIN)/marketlink seed-demo --once
	$(BIN)/marketlink run

test: $(STAMP)
	$(BIN)/pytest -m "not concurrency"
	$(BIN)/pytest -m concurrency

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest tests/integration -m "not concurrency"

test-concurrency: $(STAMP)
	$(BIN)/pytest -m concurrency

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

migrate: $(STAMP)
	$(BIN)/marketlink migrate

# The committed OpenAPI document: regenerate it after any API change (a test compares).
openapi: $(STAMP)
	$(BIN)/python -m marketlink.entrypoints.http.openapi docs/openapi.json

bench: $(STAMP)
	$(BIN)/python bench/bench.py --mode book

bench-browse: $(STAMP)
	$(BIN)/python bench/bench.py --mode browse

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
