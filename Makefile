# The two commands of the README: `make run` and `make test`. Both set up
# everything they need (a virtual environment with pinned dependencies) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_HOME ?= var/demo
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup lint types unit bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

## The service and dashboard on the embedded store, with the demo person.
run: $(STAMP)
	$(BIN)/lifetwin --home $(DEMO_HOME) init --if-missing
	$(BIN)/lifetwin --home $(DEMO_HOME) demo --if-missing
	$(BIN)/lifetwin --home $(DEMO_HOME) serve --host $(HOST) --port $(PORT)

## Lint, types and tests.
test: lint types unit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,bench]"
	$(BIN)/python benchmarks/vault_io.py
	$(BIN)/python benchmarks/privacy_overhead.py
	$(BIN)/python benchmarks/apple_health_import.py
	$(BIN)/python benchmarks/import_throughput.py
	$(BIN)/python benchmarks/illness_warning.py
	$(BIN)/python benchmarks/insights.py
	$(BIN)/python benchmarks/glucose_forecast.py
	$(BIN)/python benchmarks/twin_speed.py
	$(BIN)/python benchmarks/daily_forecast.py
	$(BIN)/python benchmarks/service_load.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
