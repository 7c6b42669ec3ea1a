# Two commands on a fresh clone:
#   make demo   builds a generated PASS-like sample with Beam, loads it, writes pictures
#   make test   runs the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,gcp]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m pass_tfds.cli.demo --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

benchmark: $(STAMP)
	$(BIN)/python benchmarks/benchmark.py

clean:
	rm -rf out build dist *.egg-info
