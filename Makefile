# Follow-up: every target creates .venv and installs the project first, so each is one command.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FOLLOWUP_HOME ?= $(CURDIR)/var
# Prefect on an offline 2-core machine: no telemetry, a patient ephemeral server start.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_HOME ?= $(CURDIR)/var/prefect
# The SQLite-backed server records task runs and events one by one unless these are raised.
export PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE ?= 200
export PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE ?= 200
export PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE ?= 200
export PREFECT_SERVER_SERVICES_EVENT_PERSISTER_READ_BATCH_SIZE ?= 200

.PHONY: install demo demo-portal test lint bench server portal clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo runs in a home of its own, emptied at each run, so it never touches your data in var/.
DEMO_HOME := $(CURDIR)/var/demo

demo: $(STAMP)
	FOLLOWUP_HOME=$(DEMO_HOME) $(BIN)/python -m workflows.demo

demo-portal: $(STAMP)
	FOLLOWUP_HOME=$(DEMO_HOME) $(BIN)/followup portal

test: $(STAMP)
	$(BIN)/python -m pytest

# Not part of `make test`: 10-15 minutes on 2 cores; figures in var/bench.json (README, "Performance").
bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy domain db notifications workflows portal reporting benchmarks
	$(BIN)/lint-imports

server: $(STAMP)
	$(BIN)/prefect server start --host 127.0.0.1 --port 4200

portal: $(STAMP)
	$(BIN)/followup portal

# Stop the local Prefect server flow commands started (its database is in var/prefect) before deleting it.
clean:
	-test ! -x $(BIN)/followup || $(BIN)/followup server stop
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
