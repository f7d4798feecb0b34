# Every target that runs code first makes sure .venv matches the locks in requirements/:
# runtime.txt (what `pip install .` needs) and dev.txt (plus the dev extra). `make lock`
# regenerates both from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := -m pip install --quiet --disable-pip-version-check

RUNTIME_LOCK := requirements/runtime.txt
DEV_LOCK     := requirements/dev.txt
LOCKS        := $(RUNTIME_LOCK) $(DEV_LOCK)

# pip-compile lives in a venv of its own: it is needed only to write the locks.
LOCK_VENV    := .venv-lock
PIP_TOOLS    := pip-tools==7.6.2
LOCK_FLAGS   := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
# e.g. make lock LOCK_ARGS="--upgrade-package flask"; without it, existing pins are kept.
LOCK_ARGS    ?=

# A fresh venv with the runtime lock and a non-editable install, for check-runtime-install.
RUNTIME_VENV := .venv-runtime

LINT_PATHS := src tests bench .ci

.PHONY: run test test-unit test-integration test-e2e test-browser test-concurrency lint typecheck arch fmt \
	lock check-runtime-install migrate openapi bench bench-browse bench-admin clean

$(STAMP): $(LOCKS) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP) --require-hashes -r $(RUNTIME_LOCK) -r $(DEV_LOCK)
	$(BIN)/python $(PIP) --no-deps -e .
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

# The admin panel in Debian's Chromium (/usr/bin/chromium; skipped without it, except
# under CI=true). Part of `make test` and `make test-e2e` too.
test-browser: $(STAMP)
	$(BIN)/pytest -m browser

test-concurrency: $(STAMP)
	$(BIN)/pytest -m concurrency

# Checks ---------------------------------------------------------------------------------

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/bandit -q -c pyproject.toml -r src
	@$(MAKE) --no-print-directory typecheck arch

typecheck: $(STAMP)
	$(BIN)/mypy src

arch: $(STAMP)
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

# Dependencies ---------------------------------------------------------------------------

$(LOCK_VENV)/.installed:
	@test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python $(PIP) $(PIP_TOOLS)
	@touch $@

# Both locks from pyproject.toml: the runtime dependencies, then the dev extra on top of
# them (constrained by the runtime lock, so both pin every shared package alike).
lock: $(LOCK_VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) \
		--output-file=$(RUNTIME_LOCK) pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) \
		--extra=dev --constraint=$(RUNTIME_LOCK) --output-file=$(DEV_LOCK) pyproject.toml

# A runtime-only install into a fresh venv has exactly the runtime lock (no ruff, mypy
# or pytest) and works: see .ci/check_runtime_install.py.
check-runtime-install:
	rm -rf $(RUNTIME_VENV) build  # build/: setuptools would put files left there in the wheel
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python $(PIP) --require-hashes -r $(RUNTIME_LOCK)
	$(RUNTIME_VENV)/bin/python $(PIP) --no-deps .
	$(RUNTIME_VENV)/bin/python -m pip check --disable-pip-version-check
	$(RUNTIME_VENV)/bin/python .ci/check_runtime_install.py
	rm -rf $(RUNTIME_VENV) build

migrate: $(STAMP)
	$(BIN)/marketlink migrate

# The committed OpenAPI document: regenerate it after any API change (a test compares).
openapi: $(STAMP)
	$(BIN)/marketlink write-openapi docs/openapi.json

bench: $(STAMP)
	$(BIN)/python bench/bench.py --mode book

bench-browse: $(STAMP)
	$(BIN)/python bench/bench.py --mode browse

# The admin dashboard and orders list on PostgreSQL with 100,000 seeded orders.
bench-admin: $(STAMP)
	$(BIN)/python bench/admin_dashboard.py

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(RUNTIME_VENV) build instance .pytest_cache .mypy_cache .ruff_cache
