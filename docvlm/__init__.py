"""docvlm: PDFs and page images to markdown, tables and JSON."""

__version__ = "0.1.0"

from docvlm.document import Block, BlockType, Document, Page, Table, TableCell  # noqa: E402
from docvlm.errors import (  # noqa: E402
    CheckpointError,
    CorruptFileError,
    DegenerateOutputError,
    DocVLMError,
    EmptyFileError,
    EncryptedPDFError,
    EngineUnavailableError,
    ModelNotFoundError,
    PageRangeError,
    PageTimeoutError,
    PageTooLargeError,
    SchemaError,
    TooManyPagesError,
    UnreadableFileError,
    UnsupportedFileError,
)
from docvlm.extraction import ExtractionResult, extract  # noqa: E402
from docvlm.pipeline import Parser, parse  # noqa: E402

__all__ = [
    "Block",
    "BlockType",
    "CheckpointError",
    "Client",
    "CorruptFileError",
    "DegenerateOutputError",
    "DocVLMError",
    "Document",
    "EmptyFileError",
    "EncryptedPDFError",
    "EngineUnavailableError",
    "ExtractionResult",
    "ModelNotFoundError",
    "Page",
    "PageRangeError",
    "PageTimeoutError",
    "PageTooLargeError",
    "Parser",
    "SchemaError",
    "Table",
    "TableCell",
    "TooManyPagesError",
    "UnreadableFileError",
    "UnsupportedFileError",
    "__version__",
    "extract",
    "parse",
]


def __getattr__(name: str) -> object:
    if name == "Client":  # imported on first use: the client needs httpx (the serve extra)
        from docvlm.client import Client

        return Client
    raise AttributeError(f"module 'docvlm' has no attribute {name!r}")
