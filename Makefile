# allm: one command to see it work, one to test everything.
#   make demo    build in a fresh virtual environment and run a short streamed session
#   make test    build, then run cargo tests and pytest (each behavioural test on both backends)
#   make bench   run the benchmark suites and print the ratio table
#   make fuzz    differential fuzzing, native against pure (FUZZ_SECONDS, FUZZ_SEED)
#   make soak    SOAK_STREAMS streams over a local fault-injecting server; resources must stay flat

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-stamp
FUZZ_SECONDS ?= 300
SOAK_STREAMS ?= 2080

.PHONY: demo test build bench fuzz soak lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.5,<2"
	$(PY) -m pip install --quiet httpx "pytest>=8" "pytest-asyncio>=0.23" "hypothesis>=6.100" \
		"jsonschema>=4.20" "pytest-benchmark>=4" "orjson>=3.9" "httpx-sse>=0.4" \
		"openai>=1.50" "anthropic>=0.40" "ruff>=0.5" "mypy>=1.11" "pyright[nodejs]>=1.1.380"
	touch $(STAMP)

build: $(STAMP)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/maturin develop --release --quiet
	ALLM_BACKEND=rust $(PY) -c "import allm; print('allm', allm.__version__, allm.backend_info())"

demo: build
	$(PY) -m allm.demo

test: build
	cargo test -p allm-core
	ALLM_EXPECT_NATIVE=1 $(PY) -m pytest -q -p no:cacheprovider
	FUZZ_SEED=$${FUZZ_SEED:-1} $(PY) -m fuzz --seconds 60
	$(PY) benches/soak.py --streams 416

fuzz: build
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m fuzz

soak: build
	$(PY) benches/soak.py --streams $(SOAK_STREAMS)

bench: build
	mkdir -p .benchmarks
	$(PY) -m pytest benches -q -p no:cacheprovider --benchmark-columns=median,ops --benchmark-sort=name \
		--benchmark-json=.benchmarks/latest.json
	$(PY) benches/streams.py --dump .benchmarks/streams 20000
	ALLM_FLOOR_STREAMS=$(CURDIR)/.benchmarks/streams cargo bench -q -p allm-core --bench floor \
		| tee .benchmarks/floor.txt
	$(PY) benches/report.py .benchmarks/latest.json .benchmarks/floor.txt

lint: typecheck
	$(VENV)/bin/ruff check python tests benches fuzz
	$(VENV)/bin/ruff format --check python tests benches fuzz
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/pyright --pythonpath $(PY)

clean:
	rm -rf $(VENV) target python/allm/*.so
