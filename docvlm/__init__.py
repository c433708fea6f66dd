"""docvlm: PDFs and page images to markdown, tables and JSON."""

from docvlm.document import Block, BlockType, Document, Page, Table, TableCell

__version__ = "0.1.0"

__all__ = ["Block", "BlockType", "Document", "Page", "Table", "TableCell", "__version__"]
