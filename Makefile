# NextBest: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test bench setup clean-db help

help:
	@echo "make run    - create .venv, install, prepare the database and demo data, serve on http://localhost:$(PORT)"
	@echo "make test   - the whole test suite"
	@echo "make bench  - benchmarks, figures written to bench/results.json"

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: install it, or run 'make PYTHON=/path/to/python3.11 run'"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)
	$(PY) -m crm_core setup

run: setup
	$(PY) -m streamlit run app/main.py --server.port $(PORT) --server.address localhost

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench.run

clean-db:
	rm -f data/nextbest.db data/nextbest.db-wal data/nextbest.db-shm
