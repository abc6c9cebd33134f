# marketsim: two commands set up everything on a fresh machine.
#   make demo   build .venv (Python >= 3.12), install marketsim, run the main job:
#               every shipped tactic scenario against baseline on paired seeds, with a report
#   make test   build .venv if needed, run lint and the test suite (CI; the design §9
#               validation tests on the quick set of 8 seeds)
#   make validate   the design §9 validation tests on the full set of 40 seeds
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNELS := $(VENV)/.kernels-compiled
REPLICATES ?= 40
TACTIC_SCENARIOS := $(filter-out scenarios/baseline.yaml,$(sort $(wildcard scenarios/*.yaml)))

.PHONY: demo test validate lint format bench clean venv

venv: $(KERNELS)

$(STAMP): pyproject.toml scripts/find-python.sh
	@PYBIN=$$(scripts/find-python.sh) || exit 1; \
	  echo "Using $$PYBIN ($$($$PYBIN --version))"; \
	  [ -x $(PY) ] || $$PYBIN -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,dask,viz,browser]"
	@touch $(STAMP)

# Compile the numba kernels into their disk cache once per install and per change of
# kernels.py (numba's cache is keyed on it too), so no run compiles.
$(KERNELS): $(STAMP) src/marketsim/kernels.py
	$(PY) -m marketsim.kernels
	@touch $(KERNELS)

demo: $(KERNELS)
	$(VENV)/bin/marketsim compare scenarios/baseline.yaml $(TACTIC_SCENARIOS) \
	  --replicates $(REPLICATES) --out out/main

test: $(KERNELS)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(PY) -m pytest -q

# VALIDATION_SEEDS=n to change the full set; figures for docs/validation.md come from
# scripts/validate_patterns.py on the same seeds.
VALIDATION_SEEDS ?= 40
validate: $(KERNELS)
	MARKETSIM_VALIDATION_SEEDS=$(VALIDATION_SEEDS) $(PY) -m pytest -q -rxXs tests/validation

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks scripts
	$(VENV)/bin/ruff check --fix src tests benchmarks scripts

bench: $(KERNELS)
	$(PY) benchmarks/bench_throughput.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
