# Two commands matter: `make run` (colorize examples/ into outputs/) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/chromagen assets
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/chromagen colorize examples -o outputs --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf outputs lightning_logs runs
