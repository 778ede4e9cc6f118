# Two commands for a newcomer: `make demo` and `make test`. Both set up the
# virtualenv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := data/sample
export DAGSTER_HOME := $(CURDIR)/.dagster_home
QUARTERLY_HOME := $(DAGSTER_HOME)/quarterly

.PHONY: setup browser postgres demo run check test ui ui-quarterly bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed
	@mkdir -p $(DAGSTER_HOME) && { test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\npython_logs:\n  python_log_level: INFO\nconcurrency:\n  runs:\n    max_concurrent_runs: 1\n' > $(DAGSTER_HOME)/dagster.yaml; }

# One line for the sample, not the generator's table of rows per source (the data-quality page has the counts).
$(SAMPLE)/.generated: | $(BIN)/.installed
	@$(BIN)/python -m data.generate --persons 5000 --seed 7 --bad-rows 0.01 --out $(SAMPLE) --quiet
	@echo "Sample: 5,000 synthetic persons in $(SAMPLE), about 1% bad rows in every source for the quarantine to catch"
	@touch $@

# The demo: the embedded sample, a fixed pseudonym key (announced loudly), every asset.
demo: setup $(SAMPLE)/.generated
	@OUTCOMES_DEMO=1 OUTCOMES_INPUT_DIR=$(CURDIR)/$(SAMPLE) \
	OUTCOMES_WAREHOUSE=$${OUTCOMES_WAREHOUSE:-$(CURDIR)/data/warehouse.duckdb} \
	OUTCOMES_OUTPUT_DIR=$${OUTCOMES_OUTPUT_DIR:-$(CURDIR)/build/site} \
	$(BIN)/python -m pipelines.run

# An evaluator's own extract and settings, from the OUTCOMES_* environment variables.
run: setup
	@$(BIN)/python -m pipelines.run

# The same extract and settings tried without a run: the preflight, then every source read into a throwaway
# warehouse, each quarantined row named (file, line, column, rule). Nothing written.
check: setup
	@$(BIN)/python -m pipelines.check

# Debian's chromium for the browser tests (never a Playwright browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL server for the team-profile test (tests/deployment), when absent.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test: setup browser postgres
	$(BIN)/python -m pytest -q

# The Dagster UI (dg dev: `dagster dev` is superseded in 1.13): the main location, where
# "Materialize all" runs everything; ui-quarterly: the quarterly partitions' location, for backfills.
# Each is a Dagster instance of its own (ui-quarterly's DAGSTER_HOME is $(QUARTERLY_HOME), on port 3001), so both can be
# open at once: before, they shared one, its two daemons logged "Another ... daemon is still sending heartbeats" every
# few seconds and the main one, which does not load the quarterly location, could take a backfill's queued run and
# fail it ("Location quarterly does not exist in workspace").
# Started through pipelines.memory, so the runs it launches get the numpy and malloc settings.
# Without OUTCOMES_INPUT_DIR it shows the demo (the sample, demo mode); with it, your extract, never in demo mode
# unless OUTCOMES_DEMO says so (before, demo mode was on for your extract too: the public key if yours was unset).
UI_ENV = if [ -z "$$OUTCOMES_INPUT_DIR" ]; then export OUTCOMES_DEMO=$${OUTCOMES_DEMO:-1} OUTCOMES_INPUT_DIR=$(CURDIR)/$(SAMPLE); fi;
ui: setup $(SAMPLE)/.generated
	@$(UI_ENV) exec $(BIN)/python -m pipelines.memory $(BIN)/dg dev -w workspace.yaml

ui-quarterly: setup $(SAMPLE)/.generated
	@mkdir -p $(QUARTERLY_HOME) && { test -f $(QUARTERLY_HOME)/dagster.yaml || cp $(DAGSTER_HOME)/dagster.yaml $(QUARTERLY_HOME)/; }
	@$(UI_ENV) DAGSTER_HOME=$(QUARTERLY_HOME) exec $(BIN)/python -m pipelines.memory $(BIN)/dg dev -w workspace-quarterly.yaml -p 3001

bench: setup
	$(BIN)/python -m bench.ingest_exchanges

clean:
	rm -rf build data/warehouse.duckdb* $(SAMPLE) $(DAGSTER_HOME)
