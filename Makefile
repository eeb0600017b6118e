# The course's commands. `make demo` and `make test` need only Python 3.11 on the machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader shells out to `alembic` when it creates a gradebook: the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: demo test release lab lint venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(BIN)/autograder demo

test: venv
	$(BIN)/python -m pytest

release: venv
	$(BIN)/autograder release

lab: venv
	$(BIN)/jupyter lab

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf submitted autograded feedback gradebook.db
