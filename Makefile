# Two commands do all set-up on a fresh machine:
#   make demo   - installs everything and runs the example DAG against the embedded emulator
#   make test   - installs everything and runs lint, type checks and the whole test suite on Airflow 3.3 and 3.0
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= local,test,bench,openlineage,obs
STAMP  := $(VENV)/.installed-$(EXTRAS)

.PHONY: install fonts test lint demo scale-demo scale-services clean

# CJK fonts render the synthetic licence photos (tests, demo, benchmarks); Debian's packages, installed when
# missing and we are root (CI and the project machines are); elsewhere install fonts-noto-cjk yourself.
FONT_PACKAGES := fonts-noto-cjk fonts-dejavu-core

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints/airflow-3.3.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]" -c constraints/airflow-3.3.txt
	touch $(STAMP)

# The test matrix's second leg: the oldest supported Airflow (3.0.6) in its own virtualenv.
OLDEST_VENV  := .venv-airflow-3.0
OLDEST_STAMP := $(OLDEST_VENV)/.installed-$(EXTRAS)

$(OLDEST_VENV)/bin/python:
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet --upgrade pip

$(OLDEST_STAMP): pyproject.toml constraints/airflow-3.0.txt | $(OLDEST_VENV)/bin/python
	$(OLDEST_VENV)/bin/python -m pip install --quiet -e ".[$(EXTRAS)]" -c constraints/airflow-3.0.txt
	touch $(OLDEST_STAMP)

fonts:
	@if ! find /usr/share/fonts /usr/local/share/fonts -name 'NotoSansCJK-Regular.ttc' 2>/dev/null | grep -q .; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing CJK fonts: $(FONT_PACKAGES)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONT_PACKAGES) >/dev/null; \
		else \
			echo "warning: no CJK font; install $(FONT_PACKAGES) (generator tests will be skipped)"; \
		fi; \
	fi

install: $(STAMP) fonts

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The whole suite on the newest Airflow 3.3.x and, side by side (much of it waits on sockets and subprocesses), on
# the oldest supported release; that leg's output goes to a log, shown whole when it fails.
OLDEST_LOG := .pytest-airflow-3.0.log
AIRFLOW_OF = $$($(1)/bin/python -c "import importlib.metadata as m; print(m.version('apache-airflow'))")

test: lint $(OLDEST_STAMP)
	@$(OLDEST_VENV)/bin/python -m pytest -q -p no:cacheprovider > $(OLDEST_LOG) 2>&1 & oldest=$$!; \
	echo "== pytest on Airflow $(call AIRFLOW_OF,$(VENV)) ($(VENV)), the oldest-release leg alongside"; \
	$(BIN)/python -m pytest -q; newest=$$?; \
	wait $$oldest; old=$$?; \
	echo "== pytest on Airflow $(call AIRFLOW_OF,$(OLDEST_VENV)) ($(OLDEST_VENV)), log in $(OLDEST_LOG):"; \
	if [ $$old = 0 ]; then tail -n 3 $(OLDEST_LOG); else cat $(OLDEST_LOG); fi; \
	[ $$newest = 0 ] && [ $$old = 0 ]

demo: install
	$(BIN)/python scripts/demo.py

# The Celery scale-out demo (README, "Scaling out"): Debian's Redis and PostgreSQL, the celery extra, then the run.
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

$(VENV)/.installed-scale-demo: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS),scale-demo]" -c constraints/airflow-3.3.txt
	touch $@

scale-demo: install scale-services $(VENV)/.installed-scale-demo
	$(BIN)/python scripts/scale_demo.py

clean:
	rm -rf $(VENV) $(OLDEST_VENV) .demo .scale-demo
