# One entry point for people and CI. Each target sets up .venv (Python 3.11) from pinned versions
# when it is missing or out of date, so a fresh clone needs only Python 3.11 and Java 17.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= eu-west-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv test lint demo bench bench-gate bench-jobs validate-template build clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/dev.txt requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup

demo: $(STAMP)
	$(BIN)/telco360 demo

bench: $(STAMP)
	$(BIN)/python -m bench

validate-template: $(STAMP)
	$(BIN)/sam validate --lint

build: $(STAMP)
	PATH="$$(pyenv root 2>/dev/null)/versions/3.12.1/bin:$$PATH" $(BIN)/sam build

clean:
	rm -rf .aws-sam build dist *.egg-info .pytest_cache .ruff_cache bench-out
