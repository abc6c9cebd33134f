# marketsim: two commands set up everything on a fresh machine.
#   make demo   build .venv (Python >= 3.12), install marketsim, run the main job:
#               every shipped tactic scenario against baseline on paired seeds, with a report
#   make test   build .venv if needed, run lint and the test suite (CI; the design §9
#               validation tests on the quick set of 5 seeds)
#   make validate   the design §9 validation tests on the full set of 20 seeds
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
REPLICATES ?= 10
TACTIC_SCENARIOS := $(filter-out scenarios/baseline.yaml,$(sort $(wildcard scenarios/*.yaml)))

.PHONY: demo test validate lint format bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml scripts/find-python.sh
	@PYBIN=$$(scripts/find-python.sh) || exit 1; \
	  echo "Using $$PYBIN ($$($$PYBIN --version))"; \
	  [ -x $(PY) ] || $$PYBIN -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,dask,viz,browser]"
	$(PY) -m marketsim.kernels  # compile the numba kernels once, into their disk cache
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/marketsim compare scenarios/baseline.yaml $(TACTIC_SCENARIOS) \
	  --replicates $(REPLICATES) --out out/main

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(PY) -m pytest -q

# VALIDATION_SEEDS=n to change the full set; figures for docs/validation.md come from
# scripts/validate_patterns.py on the same seeds.
VALIDATION_SEEDS ?= 20
validate: $(STAMP)
	MARKETSIM_VALIDATION_SEEDS=$(VALIDATION_SEEDS) $(PY) -m pytest -q -rxXs tests/validation

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks scripts
	$(VENV)/bin/ruff check --fix src tests benchmarks scripts

bench: $(STAMP)
	$(PY) benchmarks/bench_throughput.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
