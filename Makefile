# Tasks API: `make run` serves on 127.0.0.1:8000; `make test` installs and runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
PYTEST_ARGS ?=
BENCH_PROFILE ?= full
BENCH_WORKERS ?= 1

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck pytest fuzz fuzz-live openapi migrate clean bench

help:
	@echo "make run      serve the API on $(HOST):$(PORT) (SQLite in ./data, migrated automatically)"
	@echo "make test     install everything, then lint, type-check and run the whole test suite"
	@echo "make fuzz     long schemathesis + hypothesis run for release checks (FUZZ_MAX_EXAMPLES)"
	@echo "make fuzz-live  the schemathesis CLI against a server already running at FUZZ_URL"
	@echo "make install  create $(VENV) with the app and its development tools"
	@echo "make openapi  rewrite specs/2-backend-api/contracts/openapi.json from the app"
	@echo "make migrate  apply migrations to DATABASE_URL"
	@echo "make bench    load-test the API with wrk (BENCH_PROFILE=quick|sqlite|full, BENCH_WORKERS=1)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/tasks-api serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: install
	$(BIN)/ruff check backend tests migrations benchmarks
	$(BIN)/ruff format --check backend tests migrations benchmarks

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The same fuzz and property tests as `make test`, with many more random examples per test.
FUZZ_MAX_EXAMPLES ?= 1000
fuzz: install
	HYPOTHESIS_PROFILE=fuzz FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) $(BIN)/pytest tests/fuzz $(PYTEST_ARGS)

# The schemathesis runs of tests/fuzz with the CLI, over real HTTP, against a server already
# running at FUZZ_URL with RATE_LIMIT_ENABLED=false (every check, positive and negative input,
# same configuration; tests/fuzz/live_hooks.py signs the accounts up). Stateful sequences run
# per surface, as in tests/fuzz/test_openapi_fuzz.py; FUZZ_SEED=<seed> replays a run.
FUZZ_URL ?= http://$(HOST):$(PORT)
FUZZ_CLI = FUZZ_URL=$(FUZZ_URL) SCHEMATHESIS_HOOKS=tests.fuzz.live_hooks $(BIN)/schemathesis \
	--config-file tests/fuzz/schemathesis.toml run specs/2-backend-api/contracts/openapi.json \
	--url $(FUZZ_URL) --checks all --max-examples $(FUZZ_MAX_EXAMPLES) --workers 1 \
	$(if $(FUZZ_SEED),--seed $(FUZZ_SEED))
FUZZ_SESSION_ENDING = --exclude-operation-id logoutAll --exclude-operation-id changePassword \
	--exclude-operation-id deleteMe
fuzz-live: install
	$(FUZZ_CLI) --phases examples,coverage,fuzzing
	$(FUZZ_CLI) --phases stateful --exclude-tag hackathon-compat --exclude-operation-id register \
		$(FUZZ_SESSION_ENDING)
	$(FUZZ_CLI) --phases stateful --include-tag hackathon-compat --include-operation-id getMe

openapi: install
	$(BIN)/tasks-api openapi

migrate: install
	$(BIN)/tasks-api migrate

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

# Never part of `make test`: needs PostgreSQL on 127.0.0.1:5432 (or BENCH_ADMIN_URL) and wrk.
bench: $(VENV)/.bench-installed
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m benchmarks.run --profile $(BENCH_PROFILE) --workers $(BENCH_WORKERS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
