# Set-up happens on demand: every target below creates .venv and installs clipbot into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: demo test bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/clipbot demo $(ARGS)

# Runs the suite on SQLite, then again on PostgreSQL when it is reachable.
# REQUIRE_POSTGRES=1 (set by .ci/run) turns an unreachable PostgreSQL into a failure.
test: $(INSTALLED)
	$(BIN)/python -m pytest
	@if $(BIN)/python tests/postgres_ready.py "$(TEST_POSTGRES_URL)"; then \
		echo "Running the suite again on PostgreSQL"; \
		CLIPBOT_TEST_DATABASE_URL="$(TEST_POSTGRES_URL)" $(BIN)/python -m pytest; \
	elif [ -n "$(REQUIRE_POSTGRES)" ]; then \
		echo "PostgreSQL is required but not reachable at $(TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "PostgreSQL is not reachable at $(TEST_POSTGRES_URL): skipped the PostgreSQL run."; \
		echo "Start it, or set TEST_POSTGRES_URL, to test against it too."; \
	fi

# ARGS go to the trust-scale benchmark and SLACK_ARGS to the Slack acknowledgement benchmark.
bench: $(INSTALLED)
	$(BIN)/python benchmarks/trust_scale.py $(ARGS)
	$(BIN)/python benchmarks/slack_ack.py $(SLACK_ARGS)
	$(BIN)/python benchmarks/dispatcher.py --postgres-url "$(TEST_POSTGRES_URL)"
	$(BIN)/python benchmarks/plan_week.py
	$(BIN)/python benchmarks/plan_job.py --postgres-url "$(TEST_POSTGRES_URL)"

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
