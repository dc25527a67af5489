# Two commands do all set-up: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# pytest-xdist workers: 3 on 2 cores keep them 1.7 busy (2 workers: 1.35, while tests wait on the clock);
# 4 were no faster and used 9 % more CPU (bench/RESULTS.md, suite_stability, tenth round)
TEST_WORKERS ?= 3
STAMP  := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/.practiceweek/prefect
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test test-fast docs lint bench schema screenshots clean system-deps

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	bash .ci/system-deps

demo: $(STAMP)
	$(VENV)/bin/practiceweek validate campaigns/*.yaml
	$(VENV)/bin/practiceweek demo campaigns/*.yaml

test: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/mkdocs build --strict --quiet
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=20 --timeline=.pytest-timeline.jsonl

# Fast feedback while developing: lint, import contracts, types and the unit tests (no servers).
test-fast: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -m unit -n 2

bench: $(STAMP)
	$(PY) bench/write_results.py

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

screenshots: $(STAMP)
	$(PY) docs/screenshots.py

schema: $(STAMP)
	$(VENV)/bin/practiceweek schema > schema/campaign.schema.json

clean:
	rm -rf $(VENV) .practiceweek outbox preview build .pytest_cache .mypy_cache
