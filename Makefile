# The two commands of the README: `make run` (the whole system) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: venv run test test-sqlite lint format migrate clean

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

run: venv
	$(BIN)/python -m tools.run_demo

test: venv
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-sqlite: venv
	$(BIN)/pytest -n 2 --dist loadgroup -m "not postgres" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: venv
	$(BIN)/alembic upgrade head

clean:
	rm -rf $(VENV) .dagster_home .zoho_sdk .run pipeline_pulse.db*
