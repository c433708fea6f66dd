"""docvlm: PDFs and page images to markdown, tables and JSON."""

__version__ = "0.1.0"

from docvlm.document import Block, BlockType, Document, Page, Table, TableCell  # noqa: E402
from docvlm.extraction import ExtractionResult, extract  # noqa: E402
from docvlm.pipeline import Parser, parse  # noqa: E402

__all__ = [
    "Block",
    "BlockType",
    "Document",
    "ExtractionResult",
    "Page",
    "Parser",
    "Table",
    "TableCell",
    "__version__",
    "extract",
    "parse",
]
