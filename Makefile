# Two commands on a fresh machine: `make run` and `make test`. Both go through `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export QISU_DATA_DIR ?= var

.PHONY: setup run test lint types unit clean help

help:  ## List the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(STAMP)  ## Create .venv and install qisu with its pinned dependencies (idempotent)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "qisu needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first, so nothing pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup  ## Migrate, train the default model once, replay the demo district once, serve on http://127.0.0.1:8000
	$(BIN)/qisu db upgrade
	$(BIN)/qisu model build-default --if-missing
	$(BIN)/qisu demo load
	$(BIN)/qisu serve

lint: setup  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup  ## mypy
	$(BIN)/mypy .

test: lint types  ## Lint, types and the whole test suite (SQLite and PostgreSQL)
	$(BIN)/pytest

clean:  ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
