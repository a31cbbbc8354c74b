# allm: one command to see it work, one to test everything.
#   make demo    build in a fresh virtual environment and run a short streamed session
#   make test    build, then run cargo tests and pytest (each behavioural test on both backends),
#                and the JSON-heavy tests again with orjson hidden (the default install has none)
#   make bench   run the benchmark suites and print the ratio table
#   make bench-http  client CPU per streamed event over real HTTP (local SSE server in a child process)
#   make wheels  build the native abi3 wheel, the pure-Python wheel and the sdist into dist/
#   make fuzz    differential fuzzing, native against pure (FUZZ_SECONDS, FUZZ_SEED)
#   make soak    SOAK_STREAMS streams over a local fault-injecting server; resources must stay flat

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-stamp
FUZZ_SECONDS ?= 300
SOAK_STREAMS ?= 2080

.PHONY: demo test test-installed wheels build bench bench-http fuzz soak lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --group dev
	touch $(STAMP)

build: $(STAMP)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/maturin develop --release --quiet
	ALLM_BACKEND=rust $(PY) -c "import allm; print('allm', allm.__version__, allm.backend_info())"

demo: build
	$(PY) -m allm.demo

test: build
	cargo test -p allm-core -p allm-http
	ALLM_EXPECT_NATIVE=1 $(PY) -m pytest -q -p no:cacheprovider
	ALLM_EXPECT_NATIVE=1 ALLM_TEST_WITHOUT_ORJSON=1 $(PY) -m pytest -q -p no:cacheprovider \
		tests/test_decoders_*.py tests/test_parity.py tests/test_serialization.py tests/test_backend.py
	FUZZ_SEED=$${FUZZ_SEED:-1} $(PY) -m fuzz --seconds 60
	$(PY) benches/soak.py --streams 416
	$(MAKE) test-installed

# The release workflow's local mirror (.github/workflows/release.yml): one abi3
# wheel for CPython >= 3.10 on manylinux2014 x86_64 (linked through zig against
# glibc 2.17), the sdist, and the pure-Python wheel built from that sdist.
wheels: $(STAMP)
	rm -rf dist
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/maturin build --release --zig \
		--compatibility manylinux2014 --out dist
	$(VENV)/bin/auditwheel show dist/*-abi3-*.whl
	$(VENV)/bin/maturin sdist --out dist
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --config-settings pure=1 \
		--wheel-dir dist dist/*.tar.gz
	ls -l dist

# Each wheel in its own fresh virtual environment outside the source tree: the
# whole suite on both backends for the native wheel, the python backend for the
# pure one (installed without extras, so orjson is tested missing there), which
# also checks that the sdist builds the pure wheel where cargo is missing.
test-installed: wheels
	$(PY) tests/installed/run.py dist/*-abi3-*.whl --extras fast
	$(PY) tests/installed/run.py dist/*-py3-none-any.whl --sdist dist/*.tar.gz

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

bench-http: build
	$(PY) benches/e2e_http.py

lint: typecheck
	$(VENV)/bin/ruff check python tests benches build_backend fuzz
	$(VENV)/bin/ruff format --check python tests benches build_backend fuzz
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/pyright --pythonpath $(PY)

clean:
	rm -rf $(VENV) target dist python/allm/*.so
