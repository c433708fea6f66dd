"""Schema-guided extraction: `extract(path, schema)` → `ExtractionResult` (see `extractor`)."""

from docvlm.extraction.extractor import extract
from docvlm.extraction.result import ExtractionResult

__all__ = ["ExtractionResult", "extract"]
