# Tasks API: `make run` serves on 127.0.0.1:8000; `make test` installs and runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# Two processes (the machine's cores), a test file each at a time: session fixtures (live
# servers, throwaway databases) are made once per process, and a file's tests share them.
PYTEST_ARGS ?= -n auto --dist loadfile
BENCH_PROFILE ?= full
BENCH_WORKERS ?= 1

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck pytest fuzz fuzz-live openapi migrate clean bench docs docs-serve

help:
	@echo "make run      serve the API on $(HOST):$(PORT) (SQLite in ./data, migrated automatically)"
	@echo "make test     install everything, then lint, type-check and run the whole test suite"
	@echo "make fuzz     long schemathesis + hypothesis run for release checks (FUZZ_MAX_EXAMPLES)"
	@echo "make install  create $(VENV) with the app, its development and docs tools, and the npm packages"
	@echo "make docs     build the documentation site strictly into build/site"
	@echo "make docs-serve  serve the documentation site on http://127.0.0.1:8001, rebuilt on save"
	@echo "make fuzz-live  the schemathesis CLI against a server already running at FUZZ_URL"
	@echo "make openapi  rewrite specs/2-backend-api/contracts/openapi.json from the app"
	@echo "make migrate  apply migrations to DATABASE_URL"
	@echo "make bench    load-test the API with wrk (BENCH_PROFILE=quick|sqlite|full, BENCH_WORKERS=1)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $@

# The TypeScript client the docs show (tests/test_typescript_client.py compiles and runs it):
# exactly the versions in its package-lock.json, reinstalled only when that changes.
TS_CLIENT := clients/typescript
$(TS_CLIENT)/node_modules/.installed: $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The JavaScript webhook receiver of docs/guides/webhooks.md, run by tests/core/test_webhook_receivers.py.
WEBHOOK_RECEIVER := clients/webhook-receiver
$(WEBHOOK_RECEIVER)/node_modules/.installed: $(WEBHOOK_RECEIVER)/package-lock.json
	cd $(WEBHOOK_RECEIVER) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed $(TS_CLIENT)/node_modules/.installed $(WEBHOOK_RECEIVER)/node_modules/.installed

# Serving needs only the Python packages (no Node.js).
run: $(VENV)/.installed
	$(BIN)/tasks-api serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: install
	$(BIN)/ruff check backend tests migrations benchmarks scripts
	$(BIN)/ruff format --check backend tests migrations benchmarks scripts

typecheck: install
	$(BIN)/mypy
	$(BIN)/mypy scripts

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The same fuzz and property tests as `make test`, with many more random examples per test.
FUZZ_MAX_EXAMPLES ?= 1000
fuzz: install
	HYPOTHESIS_PROFILE=fuzz FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) $(BIN)/pytest tests/fuzz $(PYTEST_ARGS)

# Material for MkDocs prints a notice about MkDocs 2.0 on every build; the versions are pinned
# below 2 in pyproject.toml, so it says nothing new here.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve
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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache build
	rm -rf $(TS_CLIENT)/node_modules $(TS_CLIENT)/dist $(WEBHOOK_RECEIVER)/node_modules
