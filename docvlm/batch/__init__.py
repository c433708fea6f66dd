"""Batch runs: many inputs → one output each, a per-page manifest, a page cache for resume.

inputs (what to read) → outcome (one document, never raises) → pool (worker processes) /
`docvlm.distributed` (Ray) → run (outputs, manifest, cache on disk).
"""

from .cache import CACHE_DIR, PageCache
from .inputs import DOCUMENT_SUFFIXES, InputFile, collect_inputs, display_path
from .manifest import MANIFEST_NAME, Manifest
from .outcome import (
    FORMAT_SUFFIX,
    DocumentOutcome,
    OutputFormat,
    parse_input,
    parse_inputs,
    render,
)
from .run import run_batch

__all__ = [
    "CACHE_DIR",
    "DOCUMENT_SUFFIXES",
    "FORMAT_SUFFIX",
    "MANIFEST_NAME",
    "DocumentOutcome",
    "InputFile",
    "Manifest",
    "OutputFormat",
    "PageCache",
    "collect_inputs",
    "display_path",
    "parse_input",
    "parse_inputs",
    "render",
    "run_batch",
]
