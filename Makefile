# Rollcall: `make run` serves the demo district, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
BIND ?= 127.0.0.1:8000
export ROLLCALL_ENV ?= demo

.PHONY: run test test-deps lint lint-js typecheck mypy-baseline bench install clean translations messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

# Message catalogues (app/translations/*/LC_MESSAGES/messages.po) compiled for Flask-Babel; English needs none.
translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d app/translations

# After changing marked strings: rewrite the template from the code and merge it into each catalogue.
# pybabel skips directories starting with _ unless told which to skip: templates/_macros holds strings too.
messages: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --project=Rollcall --no-location --sort-output \
	  --ignore-dirs=".* __pycache__ node_modules" -o app/translations/messages.pot .
	$(BIN)/pybabel -q update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

run: $(VENV)/.installed translations
	$(BIN)/rollcall db upgrade
	$(BIN)/rollcall seed-demo
	@echo "Rollcall is on http://$(BIND)/ with its job worker  (Ctrl-C stops both)"
	$(BIN)/rollcall serve --bind $(BIND) --with-worker

# Headless Chromium for the browser tests and nginx for the proxy test come from Debian; installed when missing
# and we can.
test-deps: $(VENV)/.installed-dev
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium" >&2; exit 1; fi; }
	@# nginx for tests/test_proxy_nginx.py (two app servers behind it), from Debian like chromium.
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; } || \
	    echo "nginx could not be installed: tests/test_proxy_nginx.py will skip" >&2; \
	  else echo "nginx is missing: sudo apt-get install nginx (tests/test_proxy_nginx.py skips without it)" >&2; fi; }
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory tests/oidc_provider/node_modules/.installed; \
	else echo "single sign-on tests will be skipped: npm is not installed (they need oidc-provider)" >&2; fi

# The OpenID provider the single sign-on tests sign in against (oidc-provider under Node.js; tests only).
tests/oidc_provider/node_modules/.installed: tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	npm ci --prefix tests/oidc_provider --no-audit --no-fund --loglevel=error
	touch $@

# The suite runs across the machine's cores (pytest-xdist; each process has its own database and live server);
# a test file stays on one process. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto
test: test-deps translations
	ROLLCALL_ENV=test $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	@$(MAKE) --no-print-directory typecheck
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory lint-js; \
	else echo "lint-js skipped: npm is not installed" >&2; fi

# checkJs: TypeScript, pinned in tests/js (tooling only, the app needs no Node.js), checks the JSDoc types of
# static/js and static/sw.js against tests/js/tsc-baseline.txt, which only shrinks (tests/js/check.mjs).
tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $@

lint-js: tests/js/node_modules/.installed
	node tests/js/check.mjs

# mypy over app/ (settings in pyproject.toml) against mypy-baseline.txt, the errors it had when it came in: a new
# error fails, and so does a recorded one that has gone, until `make mypy-baseline` records the smaller list.
# mypy exits 1 when it finds errors and 2 when it cannot check at all; only the first is the baseline's business.
typecheck: SHELL := /bin/bash
typecheck: $(VENV)/.installed-dev
	@set -o pipefail; { $(BIN)/mypy; [ $$? -le 1 ]; } | $(BIN)/mypy-baseline filter --no-colors

# Re-record the baseline; it refuses to hold more errors than the committed one (GROW=1 when a newer mypy finds
# errors that were always there).
mypy-baseline: SHELL := /bin/bash
mypy-baseline: $(VENV)/.installed-dev
	@set -o pipefail; { $(BIN)/mypy; [ $$? -le 1 ]; } | $(BIN)/mypy-baseline sync >/dev/null
	@now=$$(grep -c . mypy-baseline.txt); \
	if ! git cat-file -e HEAD:mypy-baseline.txt 2>/dev/null; then echo "mypy-baseline.txt: $$now errors"; exit 0; fi; \
	was=$$(git show HEAD:mypy-baseline.txt | grep -c .); \
	echo "mypy-baseline.txt: $$was errors committed, $$now now"; \
	if [ "$$now" -gt "$$was" ] && [ -z "$(GROW)" ]; then \
	  echo "The baseline only shrinks: fix the new errors rather than record them." >&2; exit 1; fi

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
