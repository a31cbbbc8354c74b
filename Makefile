# allm: one command to see it work, one to test everything.
#   make demo    build in a fresh virtual environment and run a short streamed session
#   make test    build, then run cargo tests and pytest (each behavioural test on both backends),
#                and the JSON-heavy tests again with orjson hidden (the default install has none)
#   make bench   run the benchmark suites and print the ratio table

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-stamp

.PHONY: demo test build bench lint typecheck clean

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
	ALLM_EXPECT_NATIVE=1 ALLM_TEST_WITHOUT_ORJSON=1 $(PY) -m pytest -q -p no:cacheprovider \
		tests/test_decoders_*.py tests/test_parity.py tests/test_serialization.py tests/test_backend.py

bench: build
	mkdir -p .benchmarks
	$(PY) -m pytest benches -q -p no:cacheprovider --benchmark-columns=median,ops --benchmark-sort=name \
		--benchmark-json=.benchmarks/latest.json
	$(PY) benches/streams.py --dump .benchmarks/streams 20000
	ALLM_FLOOR_STREAMS=$(CURDIR)/.benchmarks/streams cargo bench -q -p allm-core --bench floor \
		| tee .benchmarks/floor.txt
	$(PY) benches/report.py .benchmarks/latest.json .benchmarks/floor.txt

lint: typecheck
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/ruff format --check python tests benches
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/pyright --pythonpath $(PY)

clean:
	rm -rf $(VENV) target python/allm/*.so
