# Everything runs from .venv, created by `make setup` with the torch pins of constraints.txt.
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1

.PHONY: setup browser run test serve

$(VENV)/.installed: pyproject.toml constraints.txt
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

setup: $(VENV)/.installed

# Debian's Chromium and its driver, for the page's browser test (tests/service/test_page_browser.py);
# installed as root (through sudo when make is not root), and only when one of them is missing.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi

# The main job: the whole pipeline of a profile, embedded by default; `make run PROFILE=full`
# runs params.full.yaml (the paper's models, one GPU). The preflight stops a run that could
# not finish before any stage starts; profile.yaml then points dvc.yaml at the profile's
# params and output folders, so each profile keeps its own outputs and dvc.lock. Every stage
# talks to one Prefect server (yours if PREFECT_API_URL is set), started once for the run.
PROFILE ?= embedded
PARAMS := $(if $(filter embedded,$(PROFILE)),params.yaml,params.$(PROFILE).yaml)
run: setup
	aligngemini check --params $(PARAMS)
	aligngemini profile $(PARAMS)
	scripts/with-prefect-server dvc repro

# The whole test suite, slow end-to-end tests included (the page's test in headless Chromium).
test: setup browser
	pytest -v --timeout=2400

# Scheduled retraining: a real Prefect server (SQLite under PREFECT_HOME; for Postgres set
# PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...) and the retrain flow served
# as a deployment on the cron schedule of params.yaml. Ctrl-C stops both.
PREFECT_PORT ?= 4200
serve: setup
	PREFECT_PORT=$(PREFECT_PORT) scripts/with-prefect-server python -m flows.serve
