# lvsim: every target creates and uses .venv in the project root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-sim test-real test-real-ci lint bench record-golden sysdeps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## demo: run the thin-provisioning scenario on the simulator
demo: $(STAMP)
	$(VENV)/bin/lvsim demo

## test: lint, the simulator suite, then real LVM in a VM (when the machine allows): the golden
## transcripts replayed live (test-real-ci); `make test-real` runs the whole real suite
test: $(STAMP) sysdeps lint test-sim test-real-ci

test-sim: $(STAMP)
	$(PY) -m pytest -n auto -m 'not real' -q

## test-real: boot a VM with Debian's kernel and run the tests marked `real` inside it as root
test-real: $(STAMP)
	bash vm/test-real.sh

## test-real-ci: the part of the real suite that has passed in the VM so far: the core and dm golden
## transcripts replayed live on real LVM (drift check).  See the closing notes of issue 4 for the rest.
test-real-ci: $(STAMP)
	bash vm/test-real.sh tests/test_golden.py -k "(core or dm) and not resize"

## sysdeps: install the Debian packages the real-LVM suite needs (root on Debian only)
sysdeps:
	bash vm/provision.sh --host

lint: $(STAMP)
	$(VENV)/bin/ruff check lvsim backends tests bench
	$(VENV)/bin/ruff format --check lvsim backends tests bench

bench: $(STAMP)
	$(PY) bench/run.py

## record-golden: re-record every golden transcript from real LVM in the VM
record-golden: $(STAMP)
	bash vm/record-golden.sh

clean:
	rm -rf $(VENV) .lvsim vm/out
