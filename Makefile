# 微心愿 — `make run` serves the site with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
THREADS ?= 8
# Board streams wait for minutes: on PostgreSQL a gevent worker holds each as a cheap greenlet;
# SQLite blocks a whole gevent worker while it waits for its write lock, so it keeps threads.
WORKER_CLASS ?= $(if $(filter postgres%,$(DATABASE_URL)),gevent,gthread)
WORKER_CONNECTIONS ?= 1000
export FLASK_APP := app
# The web server and the scheduler both read them: links in mail and QR codes lead to this server.
export HOST PORT

.PHONY: install translations run serve test test-sqlite test-postgres lint audit bench extract-messages clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

translations: install
	$(BIN)/pybabel compile -d translations

# Fresh machine -> migrated database with demo data, web server and scheduler.
run: install translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@PAYMENT_SIMULATOR=1 DEMO_SITE=1 $(MAKE) --no-print-directory serve

# The web server and the scheduler side by side. Ctrl-C or SIGTERM stops both and waits for them:
# background jobs of a script ignore SIGINT, so the shell's trap passes a SIGTERM on to each.
serve:
	@echo "微心愿 is starting on http://$(HOST):$(PORT)"
	@$(BIN)/flask scheduler & scheduler=$$!; \
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) \
	  --worker-class $(WORKER_CLASS) --worker-connections $(WORKER_CONNECTIONS) 'app:create_app()' & web=$$!; \
	trap 'kill -TERM $$web $$scheduler 2>/dev/null' INT TERM; \
	wait $$web; kill -TERM $$web $$scheduler 2>/dev/null; wait $$web; wait $$scheduler; \
	echo "微心愿 has stopped"

test: install translations
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_DATABASE_URL is not set: the PostgreSQL run is skipped"; fi

test-sqlite:
	env -u TEST_DATABASE_URL $(BIN)/pytest -q -p no:cacheprovider

test-postgres:
	$(BIN)/pytest -q -p no:cacheprovider -m "not sqlite_only"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r app.py core funds payments reconcile wishes donors events reminders demo --severity-level medium

# Known vulnerabilities in the pinned requirements, from PyPI's advisory data (needs to reach pypi.org).
audit: install
	$(BIN)/pip-audit -r requirements.txt -r requirements-dev.txt

bench: install translations
	$(BIN)/python bench/run.py

extract-messages: install
	PYTHONPATH=. $(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs=".venv .git instance bench" -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) instance/weixinyuan.db*
