# everycall: `make demo` and `make test` set everything up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast test-faults lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/everycall demo --summary-json out/demo-summary.json

# Two pytest-xdist workers: most tests wait on brokers, processes and databases; the heavy
# ones (fault injection, the storm bench) stay on one worker, one after another.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: $(STAMP)
	mkdir -p out
	$(BIN)/python -m bench.storm --json-out out/storm-results.json

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# The fault and fuzz suites alone (`make test` runs them too): real processes killed and
# restarted, the broker and the database taken away, bad input; prints what it injected.
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q tests/faults tests/fuzz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy models events dispatch flows

clean:
	rm -rf $(VENV) .prefect everycall.db* out .pytest_cache .hypothesis
