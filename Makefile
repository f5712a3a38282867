# Flightdeck: `make run` serves the portal, `make test` runs every test. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint format bench soak chromium pango clean-data

run: $(INSTALLED) pango
	$(BIN)/python manage.py serve

# Two pytest-xdist workers, whole files each (module-scoped worlds stay in one process); each
# worker starts its own PostgreSQL and Redis. TEST_WORKERS=0 runs everything in one process.
# The API fuzz runs on its own afterwards: under xdist schemathesis collects its 182
# per-operation tests as one item, which hides what it covered.
TEST_WORKERS ?= 2
FUZZ := tests/api/test_schema_fuzz.py

test: $(INSTALLED) chromium pango
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(or $(ARGS),--ignore=$(FUZZ))
	$(if $(ARGS),,$(BIN)/pytest $(FUZZ))

lint: $(INSTALLED)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED)
	$(BIN)/python -m benchmarks

# The long reliability runs (docs/reliability.md): repeated worker kills and the 10-minute load test.
soak: $(INSTALLED)
	$(BIN)/pytest tests/soak -m soak -s $(ARGS)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# Browser journeys drive Debian's Chromium (Playwright's own download needs the internet).
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }

# Status report PDFs: WeasyPrint lays text out with Debian's Pango (and needs a font).
pango:
	@dpkg -s libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || { \
	  echo "Installing Pango for the status report PDFs"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; }

# Removes the local run data (embedded databases, secret key, static files). Stop `make run` first.
clean-data:
	rm -rf .flightdeck
