# Two commands do all set-up on a fresh clone (Python 3.11 + make):
#   make run    bootstrap .venv, run the default simulated HAI infusion
#   make test   bootstrap .venv, run the whole suite (incl. the MicroPython gate)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= configs/scenarios/demo.yaml
OUT ?= out/demo

.PHONY: run test venv gate diagram clean mutation

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

gate: $(STAMP)
	$(BIN)/python tools/mpy_gate.py

# mutmut over the device's safety modules ([tool.mutmut] in pyproject.toml;
# docs/testing.md has the score and every survivor). Results stay in
# mutants/ (a rerun continues); `$(BIN)/mutmut results` lists them.
MUTMUT_CHILDREN ?= 2
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	$(BIN)/mutmut run --max-children $(MUTMUT_CHILDREN)
	$(BIN)/python tools/mutation_report.py

diagram: $(STAMP)
	$(BIN)/pumpsim diagram --out docs/state-machine.md

clean:
	rm -rf $(VENV) build out .pytest_cache .hypothesis mutants
