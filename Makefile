# gridplan — set-up and everyday commands.  `make demo` and `make test` work on a fresh machine:
# they create .venv, install the project and what it needs, and run.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
BENCH_STAMP := $(VENV)/.bench-$(shell cat setup.cfg | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: demo test bench bench-scale system-deps venv vendor clean

# Debian packages the project needs, installed when missing: CJK fonts for printed maps,
# poppler-utils (pdftotext) for their tests, Chromium for the browser tests, PostgreSQL + PostGIS for
# the tests of the PostGIS store (a throw-away server the tests start, tests/pgserver.py), npm (when
# the machine has none) to vendor the web maps' browser assets for offline mode.
DEBS := fonts-wqy-microhei fonts-noto-cjk poppler-utils chromium postgresql postgresql-15-postgis-3 \
        $(if $(shell command -v npm 2>/dev/null),,npm)
system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $@

# Browser assets for offline web maps, from the npm registry (re-vendored when the pins change).
vendor: $(STAMP)
	@$(PY) -m app.vendor --check >/dev/null 2>&1 || $(PY) -m app.vendor --cache $(VENV)/npm-cache

venv: system-deps $(STAMP) vendor

$(BENCH_STAMP): $(STAMP)
	$(PIP) install -q -e '.[test,bench]'
	rm -f $(VENV)/.bench-*; touch $@

test: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy geo partitioning
	$(PY) -m pytest -q

demo: venv
	$(VENV)/bin/gridplan demo --host $(HOST) --port $(PORT)

bench: venv $(BENCH_STAMP)
	$(PY) -m pytest -q tests/benchmarks -p no:cacheprovider -o testpaths=tests/benchmarks -o norecursedirs='.*' -s

# Scaling benchmark: synthetic cities of 10k–1.5M households (~8–12 min on 2 cores), then their drill-down
# pages under serve --production (~6 min more); not part of test/bench.
bench-scale: venv $(BENCH_STAMP)
	$(PY) tests/benchmarks/scale.py
	$(PY) tests/benchmarks/drill_scale.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
