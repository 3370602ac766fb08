# The README's two commands: `make demo` and `make test`. Each bootstraps .venv when it is missing
# (or when pyproject.toml / constraints.txt changed) and is quick when it is already in place.
# `make package-check` builds the sdist and wheel and tries them in fresh virtualenvs (CI runs it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test package-check demo lint typecheck bench soak clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv -c constraints.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[all]" -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

package-check: $(STAMP)
	$(BIN)/python .ci/check_package.py

demo: $(STAMP)
	$(BIN)/eventschema demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench mcp_server.py airflow_plugin examples .ci
	$(BIN)/ruff format --check src tests bench mcp_server.py airflow_plugin .ci

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	$(BIN)/python -m pytest tests/soak -m slow -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
