# Two commands for a new user: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test install install-dev migrate demo bench lint typecheck clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

var:
	mkdir -p var/broker var/broker-processed var/broker-control var/media

migrate: install var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

demo: migrate
	$(PY) manage.py seed_demo

## Serve the demo at http://127.0.0.1:8000 with a Celery worker and beat. Ctrl-C stops all of it.
run: demo
	@$(PY) manage.py seed_demo --logins
	$(VENV)/bin/honcho -f Procfile.dev start

## The whole test suite (SQLite by default; PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set).
test: install-dev var
	$(PY) -m pytest

## National-scale benchmark of the key pages; writes bench/results.json.
bench: install-dev var
	$(PY) manage.py bench

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy

clean:
	rm -rf var $(VENV)
