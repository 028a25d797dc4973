# Two commands matter: `make run` (colorize examples/ into outputs/) and `make test`.
# `run` installs the runtime only (numpy, Pillow, ONNX Runtime: no torch); `test` installs everything.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed

.PHONY: run test install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $(RUNTIME)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/chromagen assets
	touch $(STAMP) $(RUNTIME)

install: $(STAMP)

run: $(RUNTIME)
	$(BIN)/chromagen colorize examples -o outputs --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf outputs lightning_logs runs
