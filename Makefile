# lvsim: every target creates and uses .venv in the project root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The VM harness runs with only the system directories on PATH (no .venv/bin, no ~/.local/bin, nothing
# pip put elsewhere): every helper it starts must be found without the user's PATH.
SYSTEM_PATH := /usr/sbin:/usr/bin:/sbin:/bin

.PHONY: demo test test-sim test-fuzz test-real lint bench record-golden sysdeps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## demo: run the thin-provisioning scenario on the simulator
demo: $(STAMP)
	$(VENV)/bin/lvsim demo

## test: lint, the simulator suite, the fuzzers, then (when the machine allows) the whole real suite in VMs
test: $(STAMP) sysdeps lint test-sim test-fuzz test-real

## test-sim: the simulator suite alone (no root, no VM); needs rsync, bc, tmux and a C compiler (cc) on the host
# Two workers per CPU: some tests wait (a server's idle exit, a lock's timeout, tmux), and the other
# workers keep the CPUs busy meanwhile.  Python writes its bytecode caches (__pycache__, ignored by
# git) even where PYTHONDONTWRITEBYTECODE is set: the suite starts Python (lvsim, its shims and
# servers, pytest's workers) hundreds of times, and each would compile lvsim anew.
test-sim: $(STAMP)
	@bash vm/provision.sh --sim-tools
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n $$(($$(nproc) * 2)) --dist worksteal -m 'not real and not fuzz' -q

## test-fuzz: the two hypothesis fuzzers (tests/test_fuzz.py), side by side, about a minute
test-fuzz: $(STAMP)
	$(PY) -m pytest -n 2 -m 'fuzz and not real' -q

## test-real: boot VMs with Debian's kernel and run the tests marked `real` inside them as root
test-real: $(STAMP)
	env PATH=$(SYSTEM_PATH) bash vm/test-real.sh

## sysdeps: install the Debian packages the real-LVM suite needs (root on Debian only)
sysdeps:
	bash vm/provision.sh --host

lint: $(STAMP)
	$(VENV)/bin/ruff check lvsim backends tests bench vm examples
	$(VENV)/bin/ruff format --check lvsim backends tests bench vm examples

bench: $(STAMP)
	$(PY) bench/run.py

## record-golden: re-record every golden transcript from real LVM in the VM
record-golden: $(STAMP)
	env PATH=$(SYSTEM_PATH) bash vm/record-golden.sh

clean:
	rm -rf $(VENV) .lvsim vm/out
