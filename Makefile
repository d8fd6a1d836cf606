# ctnet-lab: every target creates and reuses the local virtual environment .venv on its own.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRESET ?= cpu
NAMES ?=

.PHONY: reports test lint lab clean-venv

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name ctnet-lab --display-name "ctnet-lab (Python 3)"
	touch $(STAMP)

reports: $(STAMP)  ## every notebook as a papermill report (PRESET=smoke|cpu|gpu)
	$(BIN)/ctnet report --preset $(PRESET) $(NAMES)

test: $(STAMP)  ## lint, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

lab: $(STAMP)  ## JupyterLab inside the environment, kernel and widgets ready
	$(BIN)/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
