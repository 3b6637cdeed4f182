# Two commands do all set-up on a fresh clone (Python 3.11 + make):
#   make run    bootstrap .venv, run the default simulated HAI infusion
#   make test   bootstrap .venv, run the whole suite (incl. the MicroPython gate)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= configs/scenarios/demo.yaml
OUT ?= out/demo

.PHONY: run test venv gate diagram clean sweep sweep-soak

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pumpsim run $(SCENARIO) --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider

# virtual trials (docs/occlusion.md): minutes to hours on 2 cores; reruns skip finished tasks
sweep: $(STAMP)
	$(BIN)/pumpsim sweep envelope --out out/sweep-envelope

sweep-soak: $(STAMP)
	$(BIN)/pumpsim sweep soak-year --out out/sweep-soak

gate: $(STAMP)
	$(BIN)/python tools/mpy_gate.py

diagram: $(STAMP)
	$(BIN)/pumpsim diagram --out docs/state-machine.md

clean:
	rm -rf $(VENV) build out .pytest_cache .hypothesis
