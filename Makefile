# The two commands: `make demo` runs Superfast, `make test` checks it. See README.md.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint format bench venv browser wrk clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# Debian's Chromium for the browser tests; a test tool's own browser download cannot work here.
browser:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# axe-core from npm, injected into pages by the accessibility checks of the browser tests.
node_modules/axe-core/axe.min.js: package.json
	npm install --no-audit --no-fund
	touch $@

# wrk from Debian loads the site in `make bench`.
wrk:
	@command -v wrk >/dev/null || { \
		echo "Installing Debian's wrk for the benchmarks..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

demo: venv
	$(PY) -m superfast.demo

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# pytest exits 5 when it collected nothing: that must fail, never pass by accident.
test: venv browser node_modules/axe-core/axe.min.js lint
	VAR_DIR=$(CURDIR)/var/test $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no tests" >&2; exit 1; fi; exit $$rc

bench: venv wrk
	$(PY) -m bench

clean:
	rm -rf $(VENV) var staticfiles
