# Two commands on a fresh machine: `make reproduce` and `make test`.
# Both create .venv/ from requirements/lock.txt (exact versions) if it is missing or stale.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := packages/opc-core packages/opc-sandbox packages/opc-data packages/opc-recall packages/opc-train packages/opc-eval packages/opc-synth packages/opc-release
RECIPE ?= recipes/tiny.yaml
export PYTHONUNBUFFERED := 1

.PHONY: install reproduce test lint ui notebooks bench clean

install: $(STAMP)

$(STAMP): requirements/lock.txt pyproject.toml $(wildcard packages/*/pyproject.toml)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation $(foreach p,$(PACKAGES),-e $(p)) -e .
	$(BIN)/python -m pip check
	@touch $(STAMP)

reproduce: install
	$(BIN)/opc reproduce --recipe $(RECIPE)

test: install
	$(BIN)/python -m ruff check packages flows tests benchmarks
	bash scripts/run_tests.sh

lint: install
	$(BIN)/python -m ruff check packages flows tests benchmarks

ui: install
	bash scripts/serve_ui.sh $(RECIPE)

# executed copies + HTML of every notebook, on the latest run in ./work (after `make reproduce`)
notebooks: install
	$(BIN)/python scripts/render_notebooks.py --workdir work --out work/notebooks

clean:
	rm -rf $(VENV) work
