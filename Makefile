# The README's two commands are `make run` and `make test`; .ci/run calls `make test`.
.PHONY: install install-test run lint typecheck test unit bench bench-smoke bench-ab

VENV := .venv
BIN := $(VENV)/bin
DAGS ?= examples/dags

install:
	bash scripts/setup.sh

# The tests also need Debian's chromium for the browser tests of the web UI, and the Airflow
# provider packages they run (http, common-sql, sqlite, postgres, smtp, slack).
install-test:
	AIRLANE_SETUP_BROWSER=1 AIRLANE_SETUP_PROVIDERS=1 AIRLANE_SETUP_AIRFLOWCTL=1 bash scripts/setup.sh

run: install
	$(BIN)/airlane standalone --dags-folder $(DAGS) --data-dir airlane-data

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

# The benchmark smoke test runs alone first: its Redis floor loop measures timing and failed
# when it shared the two cores with the suite's other worker.
test: lint typecheck
	$(BIN)/pytest -q tests/e2e/test_bench_smoke.py
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=15 --ignore=tests/e2e/test_bench_smoke.py

# The asset benchmark writes bench/results/assets.json first; bench.run's report includes it.
# So does the fast path's (bench/results/fast_path.json).
bench: install
	$(BIN)/python -m bench.asset_bench
	$(BIN)/python -m bench.fast_path_bench
	$(BIN)/python -m bench.run

bench-smoke: install
	$(BIN)/python -m bench.run --smoke --output /tmp/airlane-bench-smoke.json --no-report

# Alternating runs of two commits on this machine (bench/ab.py): make bench-ab BEFORE=<rev> AFTER=<rev>
ROUNDS ?= 3
bench-ab: install
	$(BIN)/python -m bench.ab --before $(BEFORE) --after $(AFTER) --rounds $(ROUNDS)
