# Two commands do all set-up on a fresh machine:
#   make demo   - installs everything and runs the example DAG against the embedded emulator
#   make test   - installs everything and runs lint, type checks and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= local,test,bench,openlineage,obs
STAMP  := $(VENV)/.installed-$(EXTRAS)

.PHONY: install fonts test lint demo clean

# CJK fonts render the synthetic licence photos (tests, demo, benchmarks); Debian's packages, installed when
# missing and we are root (CI and the project machines are); elsewhere install fonts-noto-cjk yourself.
FONT_PACKAGES := fonts-noto-cjk fonts-dejavu-core

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

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

test: lint
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/python scripts/demo.py

clean:
	rm -rf $(VENV) .demo
