# tasc-staging-ops: one entry point. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV := .venv
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR := false
export PY_COLORS := 0

# Every molecule scenario, in a fixed order (smoke first: it proves the test bed).
SCENARIOS ?= smoke $(filter-out smoke,$(sort $(notdir $(patsubst %/,%,$(dir $(wildcard molecule/*/molecule.yml))))))
TIMED := scripts/timed
# The tests open the example droplet vault with its documented example password.
TEST_ENV := ANSIBLE_VAULT_PASSWORD_FILE=$(CURDIR)/inventories/droplet/vault-password.example

.PHONY: help setup testbed lint pytest faults app-test molecule bench test deploy doctor mailpit mailpit-stop clean clean-testbed

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(VENV)/.installed ## Create .venv with the pinned toolchain and the Ansible collections
	@ansible-galaxy collection install -r requirements.yml | tail -n 1

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@touch $@

testbed: setup ## Start Docker if needed and build the test-bed images (cached by content)
	@$(TIMED) testbed $(VENV)/bin/python tests/testbed/testbed.py up

# Host scripts are bash (shellcheck) or Python (ruff, see pyproject.toml): sorted by shebang.
SHELL_SCRIPTS := $(shell grep -l '^\#!/usr/bin/env bash' roles/*/files/tasc-*) scripts/timed bench/deploy_by_hand.sh scripts/app_tests .ci/run \
	tests/testbed/images/postgres/docker-entrypoint.sh

lint: setup ## yamllint, ansible-lint (production profile), ruff, shellcheck: zero findings
	@$(TIMED) lint bash -c 'yamllint --strict . && ansible-lint && ruff check . && ruff format --check . \
	  && shellcheck $(SHELL_SCRIPTS)'

pytest: testbed ## Unit and integration tests (pytest) against the local Docker Engine
	@$(TEST_ENV) $(TIMED) pytest pytest --ignore=tests/faults

faults: testbed ## The fault-injection suite on one droplet test host (tests/faults/README.md)
	@$(TEST_ENV) $(TIMED) faults pytest tests/faults

app-test: testbed ## The reference app's tests, on SQLite and on PostgreSQL 15
	@$(TIMED) app-test scripts/app_tests

molecule: testbed ## Every molecule scenario on droplet test hosts over SSH
	@for scenario in $(SCENARIOS); do \
	  $(TEST_ENV) $(TIMED) "molecule $$scenario" molecule test -s $$scenario || exit 1; \
	done

bench: testbed ## Benchmarks on the test bed (about 35 min): writes bench/RESULTS.md and bench/scaling.png
	@$(VENV)/bin/pip install --quiet -r bench/requirements.txt
	@$(TEST_ENV) $(VENV)/bin/python bench/bench.py $(BENCH_ARGS)

test: ## Run every test: lint, app tests, pytest, molecule scenarios, fault suite (prints timings)
	@rm -f .testbed/timings.txt
	@$(MAKE) lint app-test pytest molecule faults
	@echo "Phase timings:"; cat .testbed/timings.txt

# DEPLOY_ARGS passes extra options, e.g. DEPLOY_ARGS="-e mailpit_image=..." where Docker Hub is
# out of reach (the test bed's Mailpit double).
deploy: setup ## Deploy the bundled reference app on this machine, seeded, with Mailpit
	ansible-playbook playbooks/deploy_staging.yml $(DEPLOY_ARGS)

# DOCTOR_ARGS="-i inventories/droplet --ask-vault-pass" checks the staging droplet instead.
doctor: setup ## Read-only check of this machine (or DOCTOR_ARGS="-i inventories/droplet ..."): one line per check, with fixes
	ansible-playbook playbooks/doctor.yml $(DOCTOR_ARGS)

mailpit: setup ## Start Mailpit here: SMTP 127.0.0.1:1025, UI http://127.0.0.1:8025
	ansible-playbook playbooks/mailpit.yml

mailpit-stop: setup ## Stop the local Mailpit, keeping its mail
	ansible-playbook playbooks/mailpit.yml -e mailpit_state=stopped

clean-testbed: ## Remove test hosts left behind by an interrupted run
	@docker ps -aq --filter label=tasc.testbed.host=1 | xargs -r docker rm -f -v

clean: clean-testbed ## Remove the virtualenv and test-bed state (images stay cached)
	rm -rf $(VENV) .testbed .pytest_cache .ruff_cache
