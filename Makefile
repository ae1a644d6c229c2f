# The one entry point: make serve | make test | make lint | make bench | make install
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install serve test test-deps lint format system-deps bench bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e .
	@touch $@

install: $(VENV)/.installed  ## create .venv with the `hubstead` command in it

serve: install  ## run the hub at http://127.0.0.1:8080 (SQLite + files under ./hubstead-data)
	$(BIN)/hubstead serve --host $${HUBSTEAD_HOST:-127.0.0.1} --port $${HUBSTEAD_PORT:-8080}

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -q -c constraints.txt -e ".[test]"
	@touch $(VENV)/.installed $@

test-deps: $(VENV)/.installed-test system-deps

system-deps:  ## git-lfs for the git tests, chromium for the website tests (Debian packages); required under CI
	@for tool in git-lfs chromium; do \
		command -v $$tool >/dev/null 2>&1 && continue; \
		echo "installing $$tool"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$tool) >/dev/null 2>&1 && continue; \
		if [ "$${CI:-}" = "true" ]; then echo "error: could not install $$tool" >&2; exit 1; fi; \
		echo "warning: could not install $$tool; the tests that need it are skipped"; \
	done

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

test: test-deps lint  ## install what tests need, lint, and run the suite
	$(BIN)/pytest $(PYTEST_ARGS)

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) install -q -c constraints.txt -e ".[bench]"
	@touch $(VENV)/.installed $@

bench-deps: $(VENV)/.installed-bench  ## nginx is the download baseline (Debian package; needs root)
	@PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1 || { \
		echo "installing nginx"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

bench: bench-deps  ## transfer, metadata and commit speed against the physical limit, Xet dedup, search and page latency, inference, dataset viewer, training jobs
	@status=0; export HUBSTEAD_RATE_LIMIT__ENABLED=false; \
	PATH="$$PATH:/usr/sbin" $(BIN)/python bench/limits.py $(BENCH_ARGS) || status=$$?; \
	$(BIN)/python bench/xet.py || status=$$?; \
	$(BIN)/python bench/search.py || status=$$?; \
	$(BIN)/python bench/web.py || status=$$?; \
	$(BIN)/python bench/inference.py || status=$$?; \
	$(BIN)/python bench/datasets.py $(DATASETS_BENCH_ARGS) || status=$$?; \
	$(BIN)/python bench/training.py || status=$$?; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .pytest-hf-home
