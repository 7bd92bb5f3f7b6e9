# MIA: open Mobile Identity & Access. Needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000

.PHONY: run test serve lab load bench lint typecheck clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

## run: start the server on SQLite, walk a simulated phone through every flow, run the conformance suite
run: $(VENV)/.installed
	$(PY) -m simulator.walkthrough

## test: lint, type-check and run the whole test suite
test: $(VENV)/.installed-dev lint typecheck
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy

## serve: keep the reference server up on http://127.0.0.1:$(PORT)
serve: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m reference serve --port $(PORT)

## lab: JupyterLab on the notebooks
lab: $(VENV)/.installed-dev
	$(VENV)/bin/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

## load: a headless Locust run with its report and plot in reports/load/
load: $(VENV)/.installed-dev
	$(PY) -m loadtests.smoke

## bench: logins per second per core in-process, against the crypto floor of the same flow
bench: $(VENV)/.installed-dev
	$(PY) -m loadtests.bench

clean:
	rm -rf $(VENV) var reports .pytest_cache .mypy_cache .ruff_cache .hypothesis
