# SkyGallery — `make demo` serves a filled gallery on http://127.0.0.1:8000, `make test` runs the suite.
VENV    ?= .venv
PY      := $(VENV)/bin/python
SG      := $(VENV)/bin/skygallery
STAMP   := $(VENV)/.installed
PYTEST  ?= $(PY) -m pytest -q -p no:cacheprovider
PG_URL  ?= postgres://skygallery:skygallery@127.0.0.1:5432/skygallery
# One BLAS thread per process: the science code runs its own process pools, and multi-threaded BLAS on small
# least-squares fits made them several times slower on 2 cores.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: install browser demo serve test test-sqlite test-postgres bench clean

install: $(STAMP) node_modules/.installed

# `npm ci` rejects js9's bundled dependencies (npm 11: "Missing: cookie@0.4.2 from lock file" for the copy
# bundled inside js9), so the locked versions are installed with `npm install`, which leaves the lock unchanged.
node_modules/.installed: package.json package-lock.json
	npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

demo: install
	$(SG) demo --host 127.0.0.1 --port 8000

serve: install
	$(SG) serve

test: install browser test-sqlite test-postgres

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; nothing is downloaded by Playwright).
browser:
	@bash scripts/ensure-chromium.sh

test-sqlite: install
	@echo "== test suite on SQLite"
	env -u DATABASE_URL $(PYTEST)

# PostgreSQL: started and prepared by scripts/ensure-postgres.sh (needs pg_ctlcluster, as on Debian).
# In CI (CI=true) a missing PostgreSQL is an error; elsewhere the run is skipped with a message.
test-postgres: install
	@if bash scripts/ensure-postgres.sh; then \
	  echo "== test suite on PostgreSQL"; \
	  DATABASE_URL=$(PG_URL) $(PYTEST); \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL is required in CI" >&2; exit 1; \
	else echo "== PostgreSQL not available here: skipped the PostgreSQL run (CI runs it)"; fi

bench: install
	@bash scripts/ensure-postgres.sh || true
	$(PY) benchmarks/gallery_query.py --reuse
	$(PY) benchmarks/pages.py
	$(PY) benchmarks/imaging_speed.py
	$(PY) benchmarks/validate_imaging.py
	$(PY) benchmarks/spectra_lc_speed.py --reuse
	$(PY) benchmarks/validate_spectra_lc.py
	$(PY) benchmarks/pipeline_revolution.py

clean:
	rm -rf build dist *.egg-info .pytest_cache benchmarks/out
