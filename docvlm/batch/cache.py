"""The page cache of a batch run: parsed pages stored by content hash, for resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from docvlm.document import Page
from docvlm.output import atomic_write_text

CACHE_DIR = ".docvlm-cache"


def content_hash(data: bytes) -> str:
    """The short SHA-256 that names file contents and cached pages."""
    return hashlib.sha256(data).hexdigest()[:32]


class PageCache:
    """Parsed pages stored by content hash (file bytes + page + options).

    With `folder=None` nothing is stored or read (single-file runs are not resumed).
    """

    def __init__(self, folder: Path | None, options: dict[str, Any], force: bool = False) -> None:
        self.folder = folder
        self.options_key = content_hash(json.dumps(options, sort_keys=True, default=str).encode())
        self.force = force

    def page_hash(self, file_hash: str, number: int) -> str:
        return content_hash(f"{file_hash}:{number}:{self.options_key}".encode())

    def load(self, page_hash: str) -> Page | None:
        if self.folder is None or self.force:
            return None
        path = self.folder / f"{page_hash}.json"
        if not path.exists():
            return None
        try:
            return Page.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            return None

    def store(self, page_hash: str, page: Page) -> None:
        if self.folder is not None and page.status != "error":
            atomic_write_text(self.folder / f"{page_hash}.json", page.model_dump_json())
