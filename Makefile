# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast lint bench chaos clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (Python 3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/rebalance up

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not cluster"

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration and not e2e"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# Not part of `make test`: the 3-node cluster test (a node lost mid-run), then live runs while every
# service and nats-server, then the nodes of a 3-node cluster, are SIGKILLed in turn (minutes).
chaos: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m cluster tests/integration/test_cluster_failover.py
	$(BIN)/python -m bench.chaos

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
