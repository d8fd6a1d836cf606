# ctnet-lab: every target creates and reuses the local virtual environment .venv on its own.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PRESET ?= cpu
NAMES ?=
DEMO_PORT ?= 8866
# Jupyter servers refuse to run as root unless told
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: reports test lint lab demo clean-venv

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name ctnet-lab --display-name "ctnet-lab (Python 3)"
	$(BIN)/python -m ctnet_lib.reports.offline_assets
	# notebooks run in JupyterLab stay clean for git: it sees them without outputs (.gitattributes)
	-git config filter.ctnet-notebook.clean "$(abspath $(BIN))/python -m ctnet_lib.reports.clean_notebook"
	touch $(STAMP)

reports: $(STAMP)  ## every notebook as a papermill report (PRESET=smoke|cpu|gpu)
	$(BIN)/ctnet report --preset $(PRESET) $(NAMES)

test: $(STAMP)  ## lint, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

lab: $(STAMP)  ## JupyterLab inside the environment, kernel and widgets ready
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/

demo: $(STAMP)  ## the explorers as a Voila app on localhost, code hidden, no network needed (config: voila.json)
	$(BIN)/voila notebooks/demo/explorers.ipynb --Voila.ip=127.0.0.1 --port=$(DEMO_PORT)

clean-venv:
	rm -rf $(VENV)
