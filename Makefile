# Territoires d'industrie platform. Needs only Python 3.11, make and git:
#   make run    install, migrate, load the official lists and start the suite (tdi up)
#   make test   install and run every test: SQLite, then PostgreSQL when one answers
PYTHON ?= python3.11
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
# uv must use the machine's Python 3.11, never download one.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install web run demo test test-sqlite test-postgres lint format settings-doc bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --all-groups

# The public page's assets (the DSFR and its charts) from npm into gateway/src/gateway/static/
# vendor/. Without node and npm, or offline, it says so and goes on: the API runs, the page says
# its assets are missing, and its browser test skips.
WEB := gateway/web
WEB_STAMP := gateway/src/gateway/static/vendor/versions.json

web: $(WEB_STAMP)

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json $(WEB)/build.mjs
	@if command -v npm >/dev/null && command -v node >/dev/null; then \
	  (cd $(WEB) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && node build.mjs) \
	  || echo "make web: npm could not install the page's assets (offline?); the API runs without them"; \
	else \
	  echo "make web: node and npm are not installed; the public page at / runs without its assets"; \
	fi

run: install web
	.venv/bin/tdi up

demo: install web
	.venv/bin/tdi up --demo

test: install web
	scripts/test

test-sqlite: install web
	scripts/test sqlite

test-postgres: install web
	scripts/test postgresql

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

# docs/settings.md, the table of every setting, from the settings classes (tests check it).
settings-doc: install
	.venv/bin/python scripts/settings_doc.py
	.venv/bin/python scripts/event_types_doc.py

bench: install
	.venv/bin/python -m bench

clean:
	rm -rf .venv $(TOOLS) var .pytest_cache .ruff_cache .mypy_cache $(WEB)/node_modules gateway/src/gateway/static/vendor
