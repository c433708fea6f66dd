"""docvlm: PDFs and page images to markdown, tables and JSON."""

__version__ = "0.1.0"

from docvlm.document import Block, BlockType, Document, Page, Table, TableCell  # noqa: E402
from docvlm.extract import extract  # noqa: E402  (shadows the module name on purpose)
from docvlm.pipeline import Parser, parse  # noqa: E402

__all__ = [
    "Block",
    "BlockType",
    "Client",
    "Document",
    "Page",
    "Parser",
    "Table",
    "TableCell",
    "__version__",
    "extract",
    "parse",
]


def __getattr__(name: str) -> object:
    if name == "Client":  # imported on first use: the client needs httpx (the serve extra)
        from docvlm.client import Client

        return Client
    raise AttributeError(f"module 'docvlm' has no attribute {name!r}")
