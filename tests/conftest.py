"""Shared fixtures: the committed sample documents and their expected outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# Tests run tiny models whose ops are too small to gain from threads; on a busy 2-core machine
# one thread was ~30x faster than the default pool.
torch.set_num_threads(1)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The samples/ folder (documents written by samples/generate.py)."""
    return SAMPLES


@pytest.fixture(scope="session")
def expected_report_markdown() -> str:
    """The markdown the born-digital report should parse to (furniture excluded)."""
    return (SAMPLES / "expected" / "report.md").read_text()


@pytest.fixture(scope="session")
def expected_report_text() -> str:
    """Plain reading-order text of the report's two pages, headers and footers included."""
    return (SAMPLES / "expected" / "report.txt").read_text()
