"""What one `docvlm serve` process is configured with: limits, workers and parse options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docvlm.pipeline import DEFAULT_MAX_PAGES

DEFAULT_MAX_UPLOAD_MB = 50.0
DEFAULT_TIMEOUT = 300.0
DEFAULT_QUEUE_SIZE = 64
DEFAULT_TASK_TTL = 3600.0


@dataclass
class ServeSettings:
    """`parser_options` are the `docvlm parse` options every request starts from."""

    api_key: str | None = None
    workers: int = 1
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    max_pages: int = DEFAULT_MAX_PAGES
    timeout: float = DEFAULT_TIMEOUT
    queue_size: int = DEFAULT_QUEUE_SIZE
    task_ttl: float = DEFAULT_TASK_TTL
    ocr_lang: str = "eng"
    model: Path | None = None
    parser_options: dict[str, Any] = field(default_factory=dict)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
