# The two commands of the README: `make run` and `make test`. Both set up
# everything they need (a virtual environment with pinned dependencies) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# make test also needs the population extra (Ray, OpenDP, TenSEAL, fairlearn) and the
# Flower runtime, a second venv: flwr 1.42 and sdmetrics cannot live next to our pins.
POP_STAMP := $(VENV)/.installed-population
FLOWER_VENV := .venv-flower
FLOWER_STAMP := $(FLOWER_VENV)/.installed
DEMO_HOME ?= var/demo
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup population flower lint types unit bench clean

$(STAMP): pyproject.toml requirements.lock examples/hydration/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	# The example pack (docs/architecture.md): installed like any third-party pack.
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e examples/hydration
	touch $(STAMP)

$(POP_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,population]"
	touch $(POP_STAMP)

$(FLOWER_STAMP): pyproject.toml requirements-flower.lock
	$(PYTHON) -m venv $(FLOWER_VENV)
	$(FLOWER_VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(FLOWER_VENV)/bin/python -m pip install --quiet -r requirements-flower.lock
	$(FLOWER_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $(FLOWER_STAMP)

setup: $(STAMP)

population: $(POP_STAMP)

flower: $(FLOWER_STAMP)

## The service and dashboard on the embedded store, with the demo person.
run: $(STAMP)
	$(BIN)/lifetwin --home $(DEMO_HOME) init --if-missing
	$(BIN)/lifetwin --home $(DEMO_HOME) demo --if-missing
	$(BIN)/lifetwin --home $(DEMO_HOME) serve --host $(HOST) --port $(PORT)

## Lint, types and tests.
test: lint types unit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

types: $(POP_STAMP)
	$(BIN)/mypy

unit: $(POP_STAMP) $(FLOWER_STAMP)
	$(BIN)/pytest

bench: $(POP_STAMP) $(FLOWER_STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,bench,population]"
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
	nice -n 15 $(BIN)/python benchmarks/population.py --twins 1000 --seed 11

clean:
	rm -rf $(VENV) $(FLOWER_VENV) var .pytest_cache .mypy_cache .ruff_cache
