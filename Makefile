# The two commands of the README: `make run` (dashboard + worker + beat on embedded defaults)
# and `make test` (installs what is missing, then format, lint, types, migrations, tests).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DATABASE_URL_TEST ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test lint typecheck bench install prereqs clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput -v0
	DEBUG=$${DEBUG:-1} $(PY) manage.py demo_data
	DEBUG=$${DEBUG:-1} $(PY) manage.py serve --addr 127.0.0.1:8000

prereqs:
	@bash .ci/prereqs.sh

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

test: $(STAMP) prereqs lint typecheck
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} $(PY) manage.py makemigrations --check --dry-run --settings=mailadmin.settings_test
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	  DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest --create-db $(PYTEST_ARGS)

bench: $(STAMP) prereqs
	@for script in bench/*.py; do \
	  echo "== $$script"; \
	  DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} $(PY) $$script || exit 1; \
	done

clean:
	rm -rf var $(VENV)
