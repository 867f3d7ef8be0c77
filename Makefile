# The two commands: `make demo` runs Superfast, `make test` checks it (`make check`, the fast
# part, while editing). See README.md.
PYTHON ?= python3.11
# Python caches each module's bytecode next to it; without the cache, every process compiles
# again each module it imports (about a fifth of a second for the project's own). The suite
# and the demo start hundreds of processes, so a PYTHONDONTWRITEBYTECODE set in the shell is
# not passed on to them.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo manage test check lint format bench soak venv browser wrk clean

venv: $(STAMP)

# uv installs what pip would from the same pyproject.toml, in seconds instead of about a
# minute of pip's own CPU: a fresh clone's `make test` pays that once per run.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'uv==0.13.9'
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# Debian's Chromium for the browser tests (a test tool's own browser download cannot work
# here), with an emoji font so screenshots show the emoji readers see.
browser:
	@{ test -x /usr/bin/chromium && dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; } || { \
		echo "Installing Debian's chromium and an emoji font for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-noto-color-emoji >/dev/null; }

# axe-core from npm, injected into pages by the accessibility checks of the browser tests,
# the Nu HTML Checker (vnu-jar, run with the machine's Java) for the HTML validity test, and
# Lighthouse for `make bench` (it drives the installed chromium; nothing downloads a browser).
node_modules/axe-core/axe.min.js: package.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund
	touch $@

# wrk from Debian loads the site in `make bench`.
wrk:
	@command -v wrk >/dev/null || { \
		echo "Installing Debian's wrk for the benchmarks..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

# The demo is development: embedded defaults and a key of this checkout. DEBUG is off unless
# asked for, so a forgotten variable in production never falls back to these.
demo: venv
	DEBUG=1 $(PY) -m superfast.demo

# Any management command against the demo's database, with the demo's settings (DEBUG on, the
# defaults under VAR_DIR): make manage CMD="export_issue 3". Only the command's output shows.
manage: venv
	@test -n "$(CMD)" || { echo 'Name the command: make manage CMD="export_issue 3"' >&2; exit 2; }
	@DEBUG=1 $(PY) manage.py $(CMD)

# After ruff: the import contracts and strict types of pyproject.toml. mypy's Django plugin
# loads the settings, which need DEBUG on to fall back to the embedded development defaults.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=1 $(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# pytest exits 5 when it collected nothing: that must fail, never pass by accident.
PYTEST = VAR_DIR=$(CURDIR)/var/test $(PY) -m pytest
NOT_EMPTY = rc=$$?; if [ $$rc -eq 5 ]; then echo "make $@: pytest ran no tests" >&2; exit 1; fi; exit $$rc

# Three test processes on two cores: a third of the suite's time is spent waiting on workers,
# browsers and mail servers, which a third process fills (docs/performance.md, the suite's
# time). tests/support/parallel.py gives each its own Redis dbs
# and VAR_DIR; pytest-django its own test database. TEST_PROCESSES=0 runs the suite in one.
TEST_PROCESSES ?= 3
PARALLEL = $(if $(filter 0,$(TEST_PROCESSES)),-p no:xdist,-n $(TEST_PROCESSES) --dist worksteal)

# Tests marked `timed` measure wall-clock speed (a send rate, a live ETA): they run after the
# parallel pass, so its load is not billed to them, two at a time: each is a send held to a
# rate, or a recovery with a loose bound, and leaves most of a core idle. Either pass may
# select nothing (PYTEST_ARGS="-k ..."); both selecting nothing fails. The parallel pass
# makes its test databases anew and leaves them (--create-db --reuse-db) for the timed pass
# to use (--reuse-db, which still applies any migration they lack) instead of migrating again.
TIMED = $(if $(filter 0,$(TEST_PROCESSES)),-p no:xdist,-n 2 --dist worksteal) --reuse-db
# The linters run beside the parallel pass (they need a core for about 20 s, which the pass's
# waits leave free); their output comes after it, and their failure fails the target.
test: venv browser node_modules/axe-core/axe.min.js
	@mkdir -p var; $(MAKE) --no-print-directory lint > var/lint.log 2>&1 & lint=$$!; \
	$(PYTEST) $(PARALLEL) --create-db --reuse-db -m "not timed" $(PYTEST_ARGS); parallel=$$?; \
	wait $$lint; linted=$$?; cat var/lint.log; \
	if [ $$linted -ne 0 ]; then echo "make $@: make lint failed" >&2; exit $$linted; fi; \
	if [ $$parallel -ne 0 ] && [ $$parallel -ne 5 ]; then exit $$parallel; fi; \
	$(PYTEST) $(TIMED) -m timed $(PYTEST_ARGS); timed=$$?; \
	if [ $$parallel -eq 5 ] && [ $$timed -eq 5 ]; then echo "make $@: pytest ran no tests" >&2; exit 1; fi; \
	if [ $$timed -eq 5 ]; then exit 0; fi; exit $$timed

# The edit loop: lint and every test that starts no worker, drives no browser and is not
# marked slow (tests/conftest.py marks the first two from the fixtures they use).
check: venv lint
	$(PYTEST) $(PARALLEL) -m "not browser and not worker and not slow and not timed" $(PYTEST_ARGS); $(NOT_EMPTY)

# Postfix's smtp-sink for the send benchmark: unpacked from Debian's postfix package into
# var/bench (its shared libraries come with it); Postfix is never installed or run as a service.
SMTP_SINK := var/bench/postfix/usr/sbin/smtp-sink
$(SMTP_SINK):
	mkdir -p var/bench
	cd var/bench && { apt-get download postfix 2>/dev/null || \
		{ apt-get update -qq && apt-get download postfix; }; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		libdb5.3 libicu72 libnsl2 libsasl2-2 libssl3 >/dev/null
	dpkg-deb -x var/bench/postfix_*.deb var/bench/postfix
	rm -f var/bench/postfix_*.deb

# Lighthouse (pinned in package.json) runs in Debian's chromium: never a downloaded one.
bench: venv wrk $(SMTP_SINK) browser node_modules/axe-core/axe.min.js
	CHROME_PATH=/usr/bin/chromium SMTP_SINK=$(CURDIR)/$(SMTP_SINK) $(PY) -m bench

# Three SOAK runs: the sending lifecycle's state machine at length (SUPERFAST_SOAK: hundreds
# of runs where `make test` makes a dozen); three production workers, each killed with
# kill -9 once, during one send of 20,000 into a loopback SMTP sink (bench/soak.py); then
# `make demo` for SOAK_SECONDS (an hour) of sends, imports and beat, its worker and beat
# killed, the demo restarted with an admin logged in (bench/soak_demo.py). Each module says
# what it checks and its settings.
soak: venv
	SUPERFAST_SOAK=1 $(PYTEST) tests/delivery/test_lifecycle_state_machine.py; $(NOT_EMPTY)
	$(PY) -m bench.soak
	$(PY) -m bench.soak_demo

clean:
	rm -rf $(VENV) var staticfiles
