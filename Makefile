# The course's commands. `make demo` and `make test` need only Python 3.11 on the machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader shells out to `alembic` when it creates a gradebook: the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: demo test release lab lint venv sandbox clean site

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

# The grading sandbox needs bubblewrap (bwrap) and util-linux (setpriv, prlimit). As root with
# apt-get (CI, a fresh container) they are installed; otherwise the missing ones are named, and
# `autograder grade` refuses to run student code until they exist (or --no-sandbox is given).
sandbox:
	@if command -v bwrap >/dev/null && command -v setpriv >/dev/null && command -v prlimit >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing the grading sandbox (bubblewrap, util-linux) with apt-get"; \
		(apt-get install -y -qq bubblewrap util-linux >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap util-linux >/dev/null 2>&1)) || \
		echo "WARNING: apt-get could not install bubblewrap: grading will need --no-sandbox"; \
	else echo "WARNING: bwrap/setpriv/prlimit missing (Debian: sudo apt-get install bubblewrap util-linux)"; fi

demo: venv sandbox
	$(BIN)/autograder demo

test: venv sandbox
	$(BIN)/python -m pytest

release: venv
	$(BIN)/autograder release

lab: venv
	$(BIN)/jupyter lab

# The zero-install JupyterLite site (site/README.md) in site/_output/: a static folder to serve. The first
# build downloads Pyodide's runtime (npm) and pure-Python wheels (PyPI) into site/.cache/.
site: venv
	$(BIN)/python site/build.py

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf submitted autograded feedback gradebook.db grades.csv
