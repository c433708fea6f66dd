# Two entry points for a fresh machine; each installs what it needs first.
#   make demo   parse the sample report with the embedded default and print markdown
#   make test   run the test suite
PYTHON ?= python3
PIP = $(PYTHON) -m pip
STAMP = .setup-done
APT_PACKAGES = poppler-utils tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim \
	tesseract-ocr-osd tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-rus \
	tesseract-ocr-jpn tesseract-ocr-jpn-vert fonts-dejavu-core fonts-dejavu-extra
DEJAVU = /usr/share/fonts/truetype/dejavu

.PHONY: demo test setup system-packages lint

demo: $(STAMP)
	$(PYTHON) -m docvlm.cli parse samples/report.pdf

test: $(STAMP)
	$(PYTHON) -m pytest -q

setup: $(STAMP)

# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(MAKE) system-packages
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

system-packages:
	@if command -v pdftoppm >/dev/null && command -v tesseract >/dev/null \
		&& tesseract --list-langs 2>/dev/null | grep -qx eng \
		&& tesseract --list-langs 2>/dev/null | grep -qx chi_sim \
		&& tesseract --list-langs 2>/dev/null | grep -qx osd \
		&& [ -f $(DEJAVU)/DejaVuSans.ttf ] && [ -f $(DEJAVU)/DejaVuSerif-Italic.ttf ]; then \
		echo "system packages present"; \
	elif command -v apt-get >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	else \
		echo "install poppler and tesseract (eng, chi_sim) with your package manager" >&2; \
		exit 1; \
	fi

lint: $(STAMP)
	ruff check . && ruff format --check .
