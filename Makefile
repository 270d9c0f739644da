# PeerLearn — the front door. `make run` serves the app; `make test` runs every check.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := peerlearn:create_app
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT

ASSET_SOURCES := $(shell find peerlearn/static/src peerlearn/templates -type f 2>/dev/null) package.json scripts/build_js.mjs scripts/asset_manifest.mjs scripts/compress_assets.mjs
RUNTIME_STAMP := $(VENV)/.runtime-installed
TEST_STAMP := $(VENV)/.test-installed
NODE_STAMP := node_modules/.installed
ASSETS := peerlearn/static/dist/.built

.PHONY: run test lint format screenshots worker migrate seed clean help

help:
	@echo "make run          set everything up and serve on http://$(HOST):$(PORT)"
	@echo "make test         install test tools, run ruff and the whole test suite"
	@echo "make screenshots  render key pages at 1280 px and 390 px into screenshots/"
	@echo "make worker       run an RQ worker (needs REDIS_URL)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PeerLearn needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(TEST_STAMP): requirements-test.txt requirements.txt $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(ASSETS): $(NODE_STAMP) $(ASSET_SOURCES)
	npm run --silent build
	@touch $@

migrate: $(RUNTIME_STAMP)
	@$(BIN)/flask db upgrade

seed: $(RUNTIME_STAMP)
	$(BIN)/flask seed-demo

run: $(RUNTIME_STAMP) $(ASSETS)
	@exec $(BIN)/flask serve --setup --host $(HOST) --port $(PORT)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

format: $(TEST_STAMP)
	$(BIN)/ruff format .

test: $(TEST_STAMP) $(ASSETS)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

screenshots: $(TEST_STAMP) $(ASSETS)
	$(BIN)/python scripts/screenshots.py

worker: $(RUNTIME_STAMP)
	$(BIN)/python worker.py

clean:
	rm -rf $(VENV) node_modules peerlearn/static/dist .pytest_cache .ruff_cache screenshots
