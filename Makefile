# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
# where the SQLite database, the embedded broker, beat's schedule and the mail folder live
INSTANCE_DIR ?= $(CURDIR)/instance
# links in emails; fixed here because honcho gives each Procfile line its own PORT (web the first)
BASE_URL ?= http://127.0.0.1:$(PORT)
export FLASK_APP := tracker
export PORT INSTANCE_DIR BASE_URL

.PHONY: install translations db run test lint bench chaos clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

translations: install
	$(PY) -c "from tracker.i18n import compile_catalogs; compile_catalogs()"

db: install translations
	mkdir -p "$(INSTANCE_DIR)"
	$(VENV)/bin/flask db upgrade
	$(VENV)/bin/flask demo load --if-empty

# Procfile: each process restarts on its own when it exits (bin/respawn); Ctrl-C stops all.
run: db
	$(VENV)/bin/honcho start -f Procfile -p $(PORT)

# The end-to-end runs with real worker processes (marker `slow`) take minutes; `make test` leaves
# them to `.ci/run`, which sets SLOW=1. Any -m in PYTEST_ARGS replaces this selection.
SLOW ?=
test: install translations
	$(PY) -m pytest -q -p no:cacheprovider $(if $(SLOW),,-m "not slow") $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

bench: install translations
	$(PY) bench/run.py

CHAOS_N ?= 20000
chaos: install translations
	$(PY) bench/chaos.py --n $(CHAOS_N)

clean:
	rm -rf $(VENV) "$(INSTANCE_DIR)/celery-broker.db"
