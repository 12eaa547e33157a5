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

.PHONY: install demo demo-portal test lint docs bench server portal clean translations

# Errors only: setuptools' note that an editable install of several top-level packages uses an
# import hook is for packagers, not for `make demo`. `pip install -e .` by hand shows every warning.
PIP_QUIET := --quiet --quiet --disable-pip-version-check

# The translations (.po) are compiled here into .mo files, which are not committed; a .po changed
# since is compiled in memory when first used (notifications/i18n.py), so it is never stale.
$(STAMP): pyproject.toml
	@echo "Installing Follow-up and its tools into $(VENV) (a few minutes the first time)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip
	@$(BIN)/python -m pip install $(PIP_QUIET) -e '.[dev]'
	@$(BIN)/pybabel -q compile -d notifications/locales -D followup
	@touch $(STAMP)

install: $(STAMP)

# The demo runs in a home of its own, emptied at each run, so it never touches your data in var/.
# `make demo VERBOSE=1` prints every command's whole output and Prefect's log.
DEMO_HOME := $(CURDIR)/var/demo

demo: $(STAMP)
	FOLLOWUP_HOME=$(DEMO_HOME) $(BIN)/python -m workflows.demo $(if $(VERBOSE),--verbose)

demo-portal: $(STAMP)
	FOLLOWUP_HOME=$(DEMO_HOME) $(BIN)/followup portal

# Four processes on two cores: the tests mostly wait (Prefect servers, PostgreSQL, SMTP, Chromium), so
# they overlap well; one file stays on one process, whose fixtures it shares.
test: $(STAMP)
	$(BIN)/python -m pytest -n 4 --dist loadfile

# Not part of `make test`: 10-15 minutes on 2 cores; figures in var/bench.json (docs/performance.md).
bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy domain db notifications workflows portal reporting benchmarks tests
	$(BIN)/lint-imports
	$(BIN)/mkdocs build --strict --quiet

# After changing a sentence in the code or templates: the catalogue template (.pot) extracted again and
# the French and Spanish catalogues (.po) updated from it; translate what is new (docs/translating.md).
# pybabel skips folders whose name starts with _ : the e-mails' shared templates are named one by one.
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --no-location --sort-output --omit-header --width=110 \
		-o notifications/locales/followup.pot . $(wildcard templates/email/_base/*)
	$(BIN)/pybabel -q update -i notifications/locales/followup.pot -d notifications/locales -D followup \
		--no-fuzzy-matching --ignore-obsolete --width=110

# The documentation site, into site/ (`.venv/bin/mkdocs serve` to read it while editing).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# The UI asks the API at PREFECT_UI_API_URL, which Prefect assumes on port 4200: set for the port chosen
# (`make server PREFECT_PORT=4300`). Behind a proxy or from another machine, set it to the address
# browsers reach (`make server PREFECT_UI_API_URL=https://prefect.example.org/api`). PREFECT_UI_URL
# (the same without /api) is what the automations' notifications link to.
PREFECT_PORT ?= 4200
PREFECT_UI_API_URL ?= http://127.0.0.1:$(PREFECT_PORT)/api
PREFECT_UI_URL ?= $(PREFECT_UI_API_URL:/api=)

server: $(STAMP)
	PREFECT_UI_API_URL=$(PREFECT_UI_API_URL) PREFECT_UI_URL=$(PREFECT_UI_URL) \
		$(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

portal: $(STAMP)
	$(BIN)/followup portal

# Stop the local Prefect server flow commands started (its database is in var/prefect) before deleting it.
clean:
	-test ! -x $(BIN)/followup || $(BIN)/followup server stop
	rm -rf var site .pytest_cache .mypy_cache .ruff_cache
