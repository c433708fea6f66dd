# Entry points for a fresh machine; each installs what it needs first (Debian packages with
# apt-get, then a virtual environment in .venv holding torch and docvlm).
#   make demo       parse the sample report with the embedded default and print markdown
#   make test-all   the whole test suite (what CI runs)
#   make test       the fast suite (no tests marked slow)
PYTHON ?= python3
VENV = .venv
VENV_PYTHON = $(VENV)/bin/python
STAMP = $(VENV)/.setup-done
# Every Debian package docvlm needs, in one list: poppler (pdftoppm), Tesseract with English,
# Simplified Chinese and orientation data, the DejaVu fonts synthetic training data draws with,
# the GL and GLib libraries opencv-python loads, and python3-venv, which Debian ships apart.
APT_PACKAGES = python3-venv poppler-utils tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim \
	tesseract-ocr-osd tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-rus \
	tesseract-ocr-jpn tesseract-ocr-jpn-vert fonts-dejavu-core fonts-dejavu-extra libgl1 libglib2.0-0 \
	chromium chromium-driver

.PHONY: demo test test-all setup system-packages lint

demo: $(STAMP)
	$(VENV_PYTHON) -m docvlm.cli parse samples/report.pdf

test: $(STAMP)
	$(VENV_PYTHON) -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(VENV_PYTHON) -m pytest -q

setup: $(STAMP)

# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(MAKE) system-packages
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet "torch==2.13.0"
	$(VENV_PYTHON) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Installs only what is missing; without dpkg (not Debian/Ubuntu) it says what to install.
system-packages:
	@if ! command -v dpkg-query >/dev/null; then \
		echo "not Debian/Ubuntu: install the README's system packages yourself" >&2; \
		exit 0; \
	fi; \
	missing=$$(for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Status}\n' $$package 2>/dev/null | grep -qx installed \
			|| echo $$package; \
	done); \
	if [ -z "$$missing" ]; then echo "system packages present"; exit 0; fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	echo "installing $$missing"; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
