# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
# The stamp name carries the lock's hash, so a changed lock reinstalls.
STAMP  := $(VENV)/.installed-$(shell sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-12)

# One BLAS thread: on a 2-core machine shared with other work, threaded BLAS made small
# solves up to 20x slower in the test suite; results do not depend on it.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: setup run test test-fast lint lock bench report notebooks screenshot clean-processed docs doctest readme-findings

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

## Set up, then build the panel from the embedded synthetic default and write the report.
run: setup
	$(BIN)/python -m analysis run

## Set up, then run every test (unit, simulation studies, nbval on the notebooks), the
## docstring examples, lint, and build the docs site (warnings as errors, link check).
test: setup doctest docs
	$(BIN)/ruff check analysis tests benchmarks scripts docs
	$(BIN)/python -m pytest --nbval -m "slow or not slow" -p no:cacheprovider

## Every docstring example of the package, run as a doctest (about 25 s).
doctest: setup
	$(BIN)/python -m pytest --doctest-modules analysis -q -p no:cacheprovider

## The docs site into docs/_build/html (index: docs/_build/html/index.html). Sphinx with
## -W --keep-going (warnings are errors) and nitpicky (every cross-reference must
## resolve); notebooks are shown with their stored outputs, never re-executed. Then the
## offline link check: every internal link and #anchor of the built pages must resolve.
## External links are only listed (docs/_build/external_links.txt), NOT fetched: this
## machine and CI reach no host but the package registries.
docs: setup
	rm -rf docs/_build
	$(BIN)/python -m sphinx -b html -W --keep-going -n -q docs docs/_build/html
	$(BIN)/python docs/check_links.py docs/_build/html

## Rewrite the README's "What the real data say" section from the real panel's results.
readme-findings: setup
	$(BIN)/python scripts/readme_findings.py

test-fast: setup
	$(BIN)/python -m pytest -m "not slow" -x -q

lint: setup
	$(BIN)/ruff check analysis tests benchmarks scripts docs

## Re-resolve the pins after editing pyproject.toml; environment.yml follows the lock.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock --no-header --quiet
	$(BIN)/python scripts/write_environment_yml.py

## Re-execute the notebooks in place on the synthetic default, and into notebooks/real/ on the
## real CBS panel (refreshes every stored output nbval compares).
notebooks: setup
	cd notebooks && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace [0-9][0-9]_*.ipynb
	$(BIN)/python scripts/real_notebooks.py

report: setup
	$(BIN)/python -m analysis report

## Render the report's index page in headless Chromium to data/processed/report/index.png.
screenshot: report
	bash scripts/screenshot_report.sh

bench: setup
	$(BIN)/python benchmarks/bench_inference.py

clean-processed:
	rm -rf data/processed/*
	touch data/processed/.gitkeep
