# Two commands do all set-up on a fresh machine:
#   make demo   - installs everything and runs the example DAG against the embedded emulator
#   make test   - installs everything and runs lint, type checks and the whole suite on Airflow 3.3, 3.0 and 3.4
# Every test leg installs exactly a lock in constraints/ (made by `make lock`); `make test-next` tries the newest.
PYTHON ?= python3
SHELL  := /bin/bash
.SHELLFLAGS := -o pipefail -c

# pip's warnings about this machine's configured local indexes lacking a package say nothing about the project.
QUIET_PIP := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }

# Tools outside the locks, pinned here: pip installs the locks, uv resolves them.
PIP_VERSION := 26.3
UV_VERSION  := 0.13.9

# The extras every test leg holds; `make lock` resolves pyproject.toml with these.
EXTRAS := local,test,bench,openlineage,obs,redis
comma  := ,

VENV := .venv
BIN  := $(VENV)/bin
LOCK := constraints/airflow-3.3.txt

# The test matrix's other legs, each in .venv-airflow-X from constraints/airflow-X.txt, run beside the first: the
# oldest supported Airflow (3.0.6) and the next one (3.4, a pre-release while no 3.4.0 is out).
SIDE_LEGS := 3.0 3.4

.PHONY: install fonts services test lint demo lock test-next scale-demo scale-services clean

# CJK fonts render the synthetic licence photos (tests, demo, benchmarks); Debian's packages, installed when
# missing and we are root (CI and the project machines are); elsewhere install fonts-noto-cjk yourself.
FONT_PACKAGES := fonts-noto-cjk fonts-dejavu-core

# $(1): a virtualenv, $(2): its lock. Made anew, it holds exactly the locked set (hash-checked, no dependency
# resolution at install time) plus this checkout, editable, built with the locked setuptools.
define install-locked
	rm -rf $(1)
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet "pip==$(PIP_VERSION)" $(QUIET_PIP)
	$(1)/bin/python -m pip install --quiet --no-deps --require-hashes -r $(2) $(QUIET_PIP)
	$(1)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e . $(QUIET_PIP)
	$(1)/bin/python -m pip check
	$(1)/bin/python scripts/check_lock.py $(2)
	touch $(1)/.installed
endef

$(VENV)/.installed: pyproject.toml $(LOCK)
	$(call install-locked,$(VENV),$(LOCK))

.venv-airflow-%/.installed: pyproject.toml constraints/airflow-%.txt
	$(call install-locked,.venv-airflow-$*,constraints/airflow-$*.txt)

fonts:
	@if ! find /usr/share/fonts /usr/local/share/fonts -name 'NotoSansCJK-Regular.ttc' 2>/dev/null | grep -q .; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing CJK fonts: $(FONT_PACKAGES)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONT_PACKAGES) >/dev/null; \
		else \
			echo "warning: no CJK font; install $(FONT_PACKAGES) (generator tests will be skipped)"; \
		fi; \
	fi

install: $(VENV)/.installed fonts

# Servers the suite starts itself, from Debian's packages: headless Chromium opens the review report
# (tests/test_review_report.py), redis-server backs the shared pacer (tests/test_shared_pacer.py). Installed when
# missing and we are root, else those tests are skipped.
TEST_PACKAGES := chromium:chromium redis-server:redis-server
services:
	@missing=""; \
	for entry in $(TEST_PACKAGES); do \
		command -v $${entry%%:*} >/dev/null || missing="$$missing $${entry#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$missing (Debian) for the tests that start them"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "warning: missing$$missing (Debian packages); the tests that need them are skipped"; \
		fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The whole suite on Airflow 3.3.x in .venv and, side by side (much of it waits on sockets and subprocesses), on the
# side legs; their output goes to logs, each shown whole when its leg fails. pytest-timeout bounds each test
# (pyproject.toml); `timeout` bounds each leg as a whole, should something hang outside a test.
LEG_TIMEOUT := 40m
AIRFLOW_OF = $$($(1)/bin/python -c "import importlib.metadata as m; print(m.version('apache-airflow'))")
PYTEST_LEG = timeout --kill-after=30s $(LEG_TIMEOUT) $(1)/bin/python -m pytest -q

test: lint services $(foreach leg,$(SIDE_LEGS),.venv-airflow-$(leg)/.installed)
	@pids=""; \
	for leg in $(SIDE_LEGS); do \
		$(call PYTEST_LEG,.venv-airflow-$$leg) -p no:cacheprovider > .pytest-airflow-$$leg.log 2>&1 & pids="$$pids $$!"; \
	done; \
	echo "== pytest on Airflow $(call AIRFLOW_OF,$(VENV)) ($(VENV)); Airflow $(SIDE_LEGS) alongside"; \
	$(call PYTEST_LEG,$(VENV)); status=$$?; \
	set -- $$pids; \
	for leg in $(SIDE_LEGS); do \
		wait $$1; code=$$?; shift; \
		echo "== pytest on Airflow $(call AIRFLOW_OF,.venv-airflow-$$leg) (.venv-airflow-$$leg), log in .pytest-airflow-$$leg.log:"; \
		if [ $$code = 0 ]; then grep -E '^SKIPPED|[0-9]+ passed' .pytest-airflow-$$leg.log | tail -n 8; \
		else cat .pytest-airflow-$$leg.log; status=1; fi; \
	done; \
	exit $$status

# Regenerate every lock from its input (constraints/*.in) and pyproject.toml's ranges, with the newest releases that
# satisfy them (uv's resolver, hashes of every file). Review the diff, run `make test`, commit.
LOCK_VENV := .venv-lock
$(LOCK_VENV)/bin/uv:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)" $(QUIET_PIP)

# $(1): the input, $(2): extra extras, $(3): the lock written.
define compile-lock
	$(LOCK_VENV)/bin/uv pip compile --quiet --upgrade --generate-hashes --python-version 3.11 \
		--custom-compile-command "make lock" pyproject.toml constraints/build.in \
		$(foreach extra,$(subst $(comma), ,$(EXTRAS) $(2)),--extra $(extra)) -c $(1) -o $(3)
endef

lock: $(LOCK_VENV)/bin/uv
	$(call compile-lock,constraints/airflow-3.3.in,,$(LOCK))
	$(call compile-lock,constraints/airflow-3.0.in,,constraints/airflow-3.0.txt)
	$(call compile-lock,constraints/airflow-3.4.in,,constraints/airflow-3.4.txt)
	$(call compile-lock,constraints/airflow-3.3.in,scale-demo,$(SCALE_LOCK))

# The canary, never gating: the suite on the newest releases of everything (no lock) and the newest Airflow 3.4 the
# registry serves, pre-releases included, in a throwaway virtualenv. README, "Tested versions", says what it found.
# The release is looked up and pinned: with a range, pip's resolver settled on 3.4.0b1 while 3.4.0b2 was served.
NEXT_VENV   := .venv-next
NEXT_SERIES := 3.4
test-next: fonts services
	rm -rf $(NEXT_VENV)
	$(PYTHON) -m venv $(NEXT_VENV)
	$(NEXT_VENV)/bin/python -m pip install --quiet --upgrade pip $(QUIET_PIP)
	next=$$($(NEXT_VENV)/bin/python -m pip index versions --pre apache-airflow 2>/dev/null \
		| sed -n 's/^Available versions: //p' | tr ', ' '\n\n' | grep -m1 '^$(subst .,\.,$(NEXT_SERIES))\.'); \
	test -n "$$next" || { echo "no Airflow $(NEXT_SERIES) on the registry"; exit 1; }; \
	$(NEXT_VENV)/bin/python -m pip install --quiet --upgrade -e ".[$(EXTRAS)]" "apache-airflow==$$next" $(QUIET_PIP)
	@echo "== pytest on Airflow $(call AIRFLOW_OF,$(NEXT_VENV)) ($(NEXT_VENV)), newest releases, no lock"
	$(call PYTEST_LEG,$(NEXT_VENV)) -p no:cacheprovider

demo: install
	$(BIN)/python scripts/demo.py

# The Celery scale-out demo (README, "Scaling out"): Debian's Redis and PostgreSQL, then the run in its own
# virtualenv, locked like the test legs with the scale-demo extra (Celery provider, psycopg2, asyncpg) on top.
SCALE_VENV := .venv-scale-demo
SCALE_LOCK := constraints/scale-demo-3.3.txt

scale-services:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "error: install$$missing (Debian packages) first"; exit 1; \
		fi; \
	fi

$(SCALE_VENV)/.installed: pyproject.toml $(SCALE_LOCK)
	$(call install-locked,$(SCALE_VENV),$(SCALE_LOCK))

scale-demo: fonts scale-services $(SCALE_VENV)/.installed
	$(SCALE_VENV)/bin/python scripts/scale_demo.py

clean:
	rm -rf $(VENV) .venv-airflow-* $(NEXT_VENV) $(SCALE_VENV) $(LOCK_VENV) .demo .scale-demo
