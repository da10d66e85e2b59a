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

.PHONY: install run demo test test-sqlite test-postgres lint format settings-doc bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --all-groups

run: install
	.venv/bin/tdi up

demo: install
	.venv/bin/tdi up --demo

test: install
	scripts/test

test-sqlite: install
	scripts/test sqlite

test-postgres: install
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

bench: install
	.venv/bin/python -m bench

clean:
	rm -rf .venv $(TOOLS) var .pytest_cache .ruff_cache .mypy_cache
