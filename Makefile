# everycall: `make demo` and `make test` set everything up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install bytecode debian-packages web demo test test-fast test-faults lint bench bench-board clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The web app (web/): npm ci from the lockfile, Vitest, then the Vite build that everycall
# serves at /. Rebuilt only when its sources change.
WEB_STAMP := web/node_modules/.ci-stamp
WEB_SOURCES := $(wildcard web/src/* web/public/* web/public/icons/* web/scripts/* web/index.html web/vite.config.ts web/tsconfig.json web/package.json)

$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm test && npm run build

web: web/dist/index.html

# Debian packages the tests drive (CI runs as root; elsewhere sudo asks): docker-compose
# validates the production compose file; chromium and a CJK font for the browser tests.
DEBIAN_PACKAGES := docker-compose chromium fonts-noto-cjk
debian-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$missing; \
	fi

# Bytecode for the project's modules: where PYTHONDONTWRITEBYTECODE is set (as on CI), every
# `everycall` process would compile them again, a quarter of a second each time.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q models events dispatch flows

demo: $(STAMP) web bytecode
	mkdir -p out
	$(BIN)/everycall demo --summary-json out/demo-summary.json

# Three pytest-xdist workers on two cores: most tests wait on brokers, processes and
# databases (the suite took 20 min with two, 17 with three); the heavy ones (fault injection,
# the storm bench) stay on one worker, one after another.
test: $(STAMP) debian-packages web bytecode
	$(BIN)/python -m pytest -q -n 3 --dist loadgroup

bench: $(STAMP)
	mkdir -p out
	$(BIN)/python -m bench.storm --json-out out/storm-results.json

# The board in chromium: first load with 10,000 open incidents, report to screen at 500/s,
# 50 boards on one API process (bench/RESULTS.md, "The board in the browser").
bench-board: $(STAMP) debian-packages web
	mkdir -p out
	$(BIN)/python -m bench.board_browser --json-out out/board-browser.json

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

# The fault and fuzz suites alone (`make test` runs them too): real processes killed and
# restarted, the broker and the database taken away, bad input; prints what it injected.
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q tests/faults tests/fuzz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy models events dispatch flows
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .prefect everycall.db* out .pytest_cache .hypothesis web/node_modules web/dist
