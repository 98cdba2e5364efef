# The two commands of the README: `make run` (the whole system) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: venv run test test-fast test-sqlite lint format migrate clean

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || { echo "make: creating the virtualenv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "make: installing $$(grep -c '==' requirements.txt) pinned packages into $(VENV) (first time: a few minutes; pip shows each one)"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on --upgrade pip
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@
	@echo "make: $(VENV) is ready"

run: venv
	$(BIN)/python -m tools.run_demo

test: venv
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The fast loop: unit and in-process tests on SQLite, property tests at a fifth of their examples; no Postgres
# server, sandbox server, child process or browser (markers: tests/fixtures/needs.py). `make test` runs all.
test-fast: venv
	PP_FAST_LOOP=1 $(BIN)/pytest -n 2 -m "not sandbox and not subprocess and not browser and not postgres" $(PYTEST_ARGS)

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
