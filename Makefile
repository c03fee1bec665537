# Two commands on a fresh machine: `make run` and `make test`. Both create the virtualenv and
# install the project (including the embedded Kafka-protocol broker and MongoDB-protocol server).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup ffmpeg run test unit integration lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP) ffmpeg

# encode.video@1 and /v1/videos need FFmpeg: installed with apt-get when missing and possible
# (root on Debian/Ubuntu); otherwise a note, and only those jobs fail.
ffmpeg:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q --no-install-recommends ffmpeg >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends ffmpeg >/dev/null 2>&1; } || \
	    echo "note: could not install ffmpeg; encode.video@1 jobs will fail"; \
	  else echo "note: ffmpeg not found (install it for encode.video@1 and /v1/videos)"; fi; }

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
