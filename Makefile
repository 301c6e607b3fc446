# DDAS developer commands. Everything a fresh clone needs is installed from here:
# the virtualenv, the Python package (with its prebuilt JupyterLab extension), test
# extras, and Debian's chromium for the browser tests.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
DEMO_DIR ?= $(CURDIR)/.ddas-demo
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test lint docs bench clean chromium chp

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install only when the packaging metadata changes.
$(VENV)/.installed-lab: $(BIN)/python pyproject.toml package.json
	$(BIN)/pip install --quiet -e ".[lab]"
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml package.json
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-lab $(VENV)/.installed-docs

# Debian tools the suite and benchmarks compare against or drive: chromium (browser tests),
# jdupes and rmlint (duplicate-finder peers), b3sum (hashing peer), nginx-light (a real static
# file server for the download tests), openssl (a test CA). An entry is package:binary where
# the names differ; nginx lives in /usr/sbin, which a non-login shell may not have on its PATH.
APT_TOOLS := chromium jdupes rmlint b3sum nginx-light:nginx openssl
chromium:
	@missing=""; for t in $(APT_TOOLS); do pkg=$${t%%:*}; bin=$${t##*:}; \
	  PATH="$$PATH:/usr/sbin:/sbin" command -v $$bin >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# configurable-http-proxy from npm, project-local, for the tests that start a real JupyterHub
# (tests/fixtures/hub.py runs .chp/node_modules/.bin/configurable-http-proxy).
CHP := .chp/node_modules/.bin/configurable-http-proxy
$(CHP):
	npm install --silent --no-audit --no-fund --prefix .chp configurable-http-proxy@5
chp: $(CHP)

## make lab: JupyterLab opened on notebooks/01_quickstart.ipynb, with the demo: a local data
## server (python -m ddas.demo --serve) and an embedded SQLite registry seeded with two fake users,
## all under $(DEMO_DIR). Ctrl-C stops Lab and the demo server; the registry is kept.
LAB_ARGS ?= --no-browser
NOTEBOOK_DIR ?= $(CURDIR)/notebooks
DEMO_ENV = DDAS_DEMO_DIR=$(DEMO_DIR) DDAS_REGISTRY=$(DEMO_DIR)/registry.db DDAS_STORE=$(DEMO_DIR)/store
lab: $(VENV)/.installed-lab
	$(DEMO_ENV) $(BIN)/python -m ddas.demo --serve --detach
	$(DEMO_ENV) $(BIN)/jupyter lab --allow-root --port=$(PORT) $(LAB_ARGS) \
	  --ServerApp.root_dir=$(NOTEBOOK_DIR) --LabApp.default_url=/lab/tree/01_quickstart.ipynb; \
	  status=$$?; $(DEMO_ENV) $(BIN)/python -m ddas.demo --stop; exit $$status

## make test: the whole suite (SQLite and PostgreSQL, HTTP, S3, JupyterLab in Chromium).
## It runs on every core (pytest-xdist): most tests wait on real servers, a browser or other
## processes, so two workers on two cores take ~16 minutes where one took ~24. A module's tests stay
## on one worker (they share its module-scoped servers). PYTEST_WORKERS=0 runs it in this process.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed-test chromium $(CHP)
	$(BIN)/ruff check ddas jupyter_server_ext tests benchmarks notebooks
	$(BIN)/ruff format --check ddas jupyter_server_ext tests benchmarks notebooks
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

lint: $(VENV)/.installed-test
	$(BIN)/ruff check ddas jupyter_server_ext tests benchmarks notebooks
	$(BIN)/ruff format --check ddas jupyter_server_ext tests benchmarks notebooks

## make docs: the documentation site in site/ (mkdocs-material, strict: any warning fails).
$(VENV)/.installed-docs: $(BIN)/python pyproject.toml package.json
	$(BIN)/pip install --quiet -e ".[docs]"
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/registry_lookup.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist .pytest_cache .chp
