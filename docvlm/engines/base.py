"""The one interface every page engine implements."""

from __future__ import annotations

from collections.abc import Sequence

from docvlm.document import Block
from docvlm.sources import SourcePage


class Engine:
    """Turns source pages into blocks. Engines that batch (the VLM) override `parse_batch`."""

    name: str = "engine"

    def parse(self, page: SourcePage) -> list[Block]:
        """Blocks of one page, in reading order, with bboxes in page points."""
        raise NotImplementedError

    def parse_batch(self, pages: Sequence[SourcePage]) -> list[list[Block]]:
        return [self.parse(page) for page in pages]
