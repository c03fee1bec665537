# Two commands on a fresh machine: `make run` and `make test`. Both create the virtualenv and
# install the project (including the embedded Kafka-protocol broker and MongoDB-protocol server).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test unit integration lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) -m infra.stack

# pytest exits 5 when it collects no tests (e.g. a filtered run); that is reported and not a failure.
test: setup
	$(PY) -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

unit: setup
	$(PY) -m pytest -q tests/unit

integration: setup
	$(PY) -m pytest -q tests/integration

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/throughput.py

clean:
	rm -rf $(VENV) .data
