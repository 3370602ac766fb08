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

# The official SARIF 2.1.0 JSON Schema, which tests validate `plan --format sarif` against. No
# Python package ships it; Microsoft's SARIF Multitool package on the npm registry does. Without
# npm the test that needs it skips and says why.
SARIF_PACKAGE := @microsoft/sarif-multitool-linux@5.7.0
SARIF_SCHEMA := $(VENV)/share/sarif/sarif-2.1.0.json

$(SARIF_SCHEMA): $(STAMP)
	mkdir -p $(dir $@)
	-cd $(dir $@) && { npm pack --silent $(SARIF_PACKAGE) >/dev/null \
		&& tar xzmf microsoft-sarif-multitool-linux-*.tgz --strip-components=1 package/sarif-2.1.0.json; \
		rm -f microsoft-sarif-multitool-linux-*.tgz; }

# The TypeScript compiler and the SDKs' type declarations, which tests compile generated
# TypeScript against (`tsc --strict`) and run it with posthog-node. Without npm those tests skip
# and say why; the Python half still runs.
CODEGEN_NODE := $(VENV)/share/codegen-node
CODEGEN_PACKAGES := typescript@7.0.2 posthog-js@1.449.2 posthog-node@5.74.0
CODEGEN_STAMP := $(CODEGEN_NODE)/.installed

$(CODEGEN_STAMP): $(STAMP)
	mkdir -p $(CODEGEN_NODE)
	-cd $(CODEGEN_NODE) && npm install --silent --no-save --no-package-lock --no-audit --no-fund \
		$(CODEGEN_PACKAGES) && touch .installed

install: $(STAMP)

test: $(STAMP) $(SARIF_SCHEMA) $(CODEGEN_STAMP)
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
