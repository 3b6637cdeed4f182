# Two commands do all set-up on a fresh clone (Python 3.11 + make):
#   make run    bootstrap .venv, run the default simulated HAI infusion
#   make test   bootstrap .venv, run the whole suite (incl. the MicroPython gate)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= configs/scenarios/demo.yaml
OUT ?= out/demo

.PHONY: run test venv gate diagram codes schemas wheel-check clean hil hil-smoke mutation sweep sweep-soak image bench-image
TARGET ?= inproc
HIL_OUT ?= out/hil/$(TARGET)

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
	$(BIN)/python -m pytest acceptance -p no:cacheprovider --target inproc --hil-out out/hil/inproc
	$(BIN)/python -m pytest acceptance -p no:cacheprovider --target micropython -m smoke --hil-out out/hil/micropython-smoke

# the hardware-in-the-loop acceptance suite: TARGET=inproc|micropython|qemu|bench
# (bench: BENCH=bench.yaml, see acceptance/bench.py); report in $(HIL_OUT)/report.html
hil: $(STAMP)
	$(BIN)/python -m pytest acceptance -p no:cacheprovider --target $(TARGET) \
	  $(if $(BENCH),--bench $(BENCH)) --hil-out $(HIL_OUT) --junitxml $(HIL_OUT)/junit.xml

# virtual trials (docs/occlusion.md): minutes to hours on 2 cores; reruns skip finished tasks
sweep: $(STAMP)
	$(BIN)/pumpsim sweep envelope --out out/sweep-envelope

sweep-soak: $(STAMP)
	$(BIN)/pumpsim sweep soak-year --out out/sweep-soak

# a flashed bench board (docs/bench-bringup.md): compile with mpy-cross, copy with
# mpremote; DRY_RUN=1 lists what would be copied
.PHONY: flash
flash: $(STAMP)
	@test -n "$(DRY_RUN)" || test -x $(BIN)/mpremote || $(BIN)/python -m pip install --quiet -e '.[flash]'
	$(BIN)/python tools/flash.py --board '$(BOARD)' --port '$(PORT)' $(if $(DRY_RUN),--dry-run)

gate: $(STAMP)
	$(BIN)/python tools/mpy_gate.py

# the firmware image of the emulated board (boards/qemu_netduino2: MicroPython's
# qemu port, every device module frozen): needs MICROPY_SRC or MICROPY_TARBALL
# and the ARM toolchain + qemu (README "Emulated board"; one line and exit 2
# naming what is missing)
image: $(STAMP)
	$(BIN)/python tools/build_image.py

# heap and tick CPU time inside the image (qemu -icount shift=3): out/bench-image/bench.json
bench-image: $(STAMP)
	$(BIN)/python tools/bench_image.py

codes: $(STAMP)
	$(BIN)/python tools/gen_codes.py

# mutmut over the device's safety modules ([tool.mutmut] in pyproject.toml;
# docs/testing.md has the score and every survivor). Results stay in
# mutants/ (a rerun continues); `$(BIN)/mutmut results` lists them.
# One module: make mutation MUTANTS='firmware.recovery*' [MUTATION_FLAGS=--rerun]
MUTMUT_CHILDREN ?= 2
MUTANTS ?=
# --rerun: run again mutants with a result; --survivors: only the survivors;
# --all: the equivalent ones too
MUTATION_FLAGS ?=
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	$(BIN)/python tools/mutation_run.py --max-children $(MUTMUT_CHILDREN) $(MUTATION_FLAGS) $(MUTANTS)
	$(BIN)/python tools/mutation_report.py

diagram: $(STAMP)
	$(BIN)/pumpsim diagram --out docs/state-machine.md

schemas: $(STAMP)
	$(BIN)/python tools/gen_schemas.py

# the wheel installed in a fresh venv outside the repo, used from a temp dir
# (tests/test_wheel.py runs the same check in make test)
wheel-check: $(STAMP)
	$(BIN)/python tools/wheel_check.py

clean:
	rm -rf $(VENV) build out .pytest_cache .hypothesis mutants
