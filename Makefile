# `make demo` and `make test` each work on a fresh clone: they create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The demo runs from a venv of its own holding the package and its runtime dependencies
# only: what a user who tries it has, not the dev tools.
DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit docs spec bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEMO_VENV)/bin/python -m pip install --quiet -e .
	rm -f $(DEMO_VENV)/.installed-*
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/komtet-works demo

# The suites that need a server it could not reach, written by tests/conftest.py.
NOT_RUN := $(VENV)/not-run.txt

test: lint typecheck unit docs
	@if [ -s $(NOT_RUN) ]; then echo "make test: NOT everything ran:"; cat $(NOT_RUN); \
	else echo "make test: every suite ran"; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools mkdocs_hooks.py
	$(BIN)/ruff format --check src tests benchmarks tools mkdocs_hooks.py

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/coverage erase
	KOMTET_WORKS_NOT_RUN_REPORT=$(NOT_RUN) $(BIN)/coverage run -m pytest
	$(BIN)/coverage report
	@echo "--- branch coverage of the domain core (floor: 95%) ---"
	$(BIN)/coverage report --include='src/komtet_works/domain/*' --fail-under=95

# The documentation site, strict: a broken link or a stale reference fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

# Regenerate the generated parts of docs/spec.md (lifecycle diagram, Proved-by lists).
spec: $(STAMP)
	$(BIN)/python tools/spec.py

# Every figure of issue 12 against its same-run baseline; results in benchmarks/results/.
bench: $(STAMP)
	$(BIN)/python benchmarks/lifecycle.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/storage.py
	$(BIN)/python benchmarks/histories.py
	$(BIN)/python benchmarks/workers.py

clean:
	rm -rf $(VENV) $(DEMO_VENV) .coverage .mypy_cache .ruff_cache .pytest_cache .hypothesis
