# Two commands on a fresh machine: `make run` and `make test`. Both go through `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The console: `npm ci` again when the lock changes, a build when any of its sources does.
WEB_CI := web/node_modules/.ci-stamp
WEB_BUILT := web/dist/index.html
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts \
	web/tsconfig.json web/package.json
export QISU_DATA_DIR ?= var

.PHONY: setup run test lint types unit clean help

help:  ## List the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(STAMP) $(WEB_BUILT)  ## Create .venv, install qisu's pinned dependencies, build the console (idempotent)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "qisu needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first, so nothing pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(WEB_CI): web/package-lock.json
	@command -v npm >/dev/null || { echo "the console needs Node.js 20 and npm (apt-get install nodejs npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_CI)

$(WEB_BUILT): $(WEB_CI) $(WEB_SOURCES)
	cd web && npm run build
	touch $(WEB_BUILT)

run: setup  ## Migrate, train the default model once, replay the demo district once, serve on http://127.0.0.1:8000
	$(BIN)/qisu db upgrade
	$(BIN)/qisu model build-default --if-missing
	$(BIN)/qisu demo load
	$(BIN)/qisu demo logins
	$(BIN)/qisu serve

lint: setup  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup  ## mypy
	$(BIN)/mypy .

test: lint types  ## Lint, types and the whole test suite (SQLite and PostgreSQL)
	$(BIN)/pytest

clean:  ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
