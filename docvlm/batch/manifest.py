"""`manifest.jsonl`: one row per page of a batch run, appended as pages finish."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docvlm.output import atomic_write_text

MANIFEST_NAME = "manifest.jsonl"


class Manifest:
    """The rows of `manifest.jsonl`; a line cut short by a kill mid-write is dropped on load."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        if path.exists():
            text = path.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                try:
                    self.rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
            if text and not text.endswith("\n"):
                self.compact()
        self._keys = {_row_key(row) for row in self.rows}

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self._keys.add(_row_key(row))
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    def has(self, row: dict[str, Any]) -> bool:
        return _row_key(row) in self._keys

    def compact(self) -> None:
        """Rewrite the manifest keeping the newest row per (input, page)."""
        latest: dict[tuple[Any, Any], dict[str, Any]] = {}
        for row in self.rows:
            latest.pop((row.get("input"), row.get("page")), None)
            latest[(row.get("input"), row.get("page"))] = row
        self.rows = list(latest.values())
        self._keys = {_row_key(row) for row in self.rows}
        atomic_write_text(self.path, "".join(json.dumps(row) + "\n" for row in self.rows))


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row.get("input"), row.get("page"), row.get("hash"), row.get("status"))
