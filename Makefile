# One entry point for people and CI. Each target sets up .venv (Python 3.11) with what it runs, from
# the versions pinned in requirements/constraints.txt, when it is missing or out of date: a fresh clone
# needs only Python 3.11 and Java 17.
#   make demo           the package with its `spark` extra, nothing else
#   make lint / test    + the `aws` extra and the dev toolchain (requirements/dev.txt)
#   make bench          + duckdb (requirements/bench.txt)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS)
# One stamp per set of packages, newer than the files that list them once they are installed.
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
BENCH := $(VENV)/.installed-bench
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= eu-west-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv test lint ruff typecheck demo bench validate-template build clean

venv: $(DEV)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e '.[spark]'
	@touch $@

$(DEV): $(RUNTIME) requirements/dev.txt
	$(PIP) -r requirements/dev.txt -e '.[spark,aws]'
	@touch $@

$(BENCH): $(RUNTIME) requirements/bench.txt
	$(PIP) -r requirements/bench.txt
	@touch $@

lint: ruff typecheck

ruff: $(DEV)
	$(BIN)/ruff check .

typecheck: $(DEV)  # mypy, strict on src/ (configured in pyproject.toml)
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup

demo: $(RUNTIME)
	$(BIN)/telco360 demo

bench: $(BENCH)
	$(BIN)/python -m bench

validate-template: $(DEV)
	$(BIN)/sam validate --lint

build: $(DEV)
	PATH="$$(pyenv root 2>/dev/null)/versions/3.12.1/bin:$$PATH" $(BIN)/sam build

clean:
	rm -rf .aws-sam build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache bench-out
