# VaultStudio — `make run` to run it on the embedded defaults, `make test` to run the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help run test e2e bench lint venv clean

help:
	@echo "make run    install, migrate, seed the demo, start web + Celery worker/beat on http://$(HOST):$(PORT)/"
	@echo "make test   install dev requirements and run the test suite"
	@echo "make e2e    only the studio's browser tests (headless Chromium: apt-get install chromium)"
	@echo "make bench  run the benchmarks (each against an in-run baseline)"
	@echo "make lint   ruff, mypy, check --deploy, makemigrations --check"

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(RUN_STAMP)

venv: $(RUN_STAMP)

# The public URL follows HOST/PORT unless set: it is the audience of every assertion.
run: export VAULTSTUDIO_BASE_URL ?= http://$(HOST):$(PORT)
run: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py demo
	HOST=$(HOST) PORT=$(PORT) bash scripts/run.sh

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	DEBUG=False SECRET_KEY=lint-only-$(shell date +%s)-0123456789abcdefghijklmnopqrstuvwxyz ALLOWED_HOSTS=vault.example.com \
	  DATABASE_URL=sqlite:///var/lint.sqlite3 CACHE_URL=locmemcache:// CELERY_BROKER_URL=memory:// \
	  VAULTSTUDIO_BASE_URL=https://vault.example.com VAULTSTUDIO_MASTER_KEY=$$(head -c32 /dev/urandom | base64) \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var
