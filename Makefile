# The two commands: `make run` and `make test`. Everything else is what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test install lint bench mutate clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The translations, compiled from the .po catalogues kept in the repository.
CATALOGUES := $(wildcard intake/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
%.mo: %.po $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(BIN)/.installed $(COMPILED)

run: install
	$(FLASK) db upgrade
	$(FLASK) demo || echo "(The demo practice was not loaded into this database; see above.)"
	@echo "Emails: http://127.0.0.1:5000/dev/mail (development inbox) and instance/mail/*.eml"
	DEV_INBOX=1 $(FLASK) worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEV_INBOX=1 $(FLASK) run --host 127.0.0.1 --port 5000

test: install node_modules/.installed
	$(BIN)/ruff check intake tests migrations bench wsgi.py gunicorn.conf.py
	$(BIN)/python -m pytest
	@echo "Again on PostgreSQL (all but the browser journeys and the tests that bring their own databases):"
	INTAKE_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q --ignore=tests/browser \
		--ignore=tests/test_scale_out.py --ignore=tests/test_database_unavailable.py

bench: install
	$(BIN)/python -m bench.run

# Mutation testing of the pure core and the appointment lifecycle (see [tool.mutmut] in
# pyproject.toml and MUTATION.md). Slow, so not in CI; it picks up where it left off
# (delete mutants/ to start afresh).
mutate: install
	$(BIN)/mutmut run --max-children $$(nproc)
	$(BIN)/mutmut results --all true | $(BIN)/python -m tests.mutation_report

lint: install
	$(BIN)/ruff check intake tests migrations bench wsgi.py gunicorn.conf.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache mutants
