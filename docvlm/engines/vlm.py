"""The `vlm` engine: page images → a docvlm / GOT checkpoint (via the model runtime) → Blocks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from docvlm.document import Block, BlockType
from docvlm.engines.base import Engine
from docvlm.errors import EngineUnavailableError
from docvlm.markup import parse_markup
from docvlm.model.processing_docvlm import TASKS, tile_grid
from docvlm.model.runtime import Generation, Quantize, load_runtime
from docvlm.sources import SourcePage

DEGENERATE = "degenerate"  # the pipeline's flag for a looping generation
TRUNCATED = "truncated"  # generation hit max_new_tokens before <|im_end|>


class VLMEngine(Engine):
    """Greedy OCR with a docvlm (or GOT-OCR-2.0-hf) checkpoint: a folder or a hub id.

    The pages of one `parse_batch` call (the Parser hands over --batch-size pages) decode as
    one left-padded batch, split further only when `batch_size` is set.
    """

    name = "vlm"

    def __init__(
        self,
        model: str | Path,
        *,
        adapter: str | Path | None = None,
        device: str = "auto",
        dtype: str | torch.dtype = "auto",
        quantize: Quantize | None = None,
        attn: str | None = None,
        max_new_tokens: int = 4096,
        batch_size: int | None = None,
        crop: bool = False,
        max_tiles: int = 6,
        task: str = "ocr",
    ) -> None:
        if task not in TASKS:
            raise EngineUnavailableError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
        self.runtime = load_runtime(
            model,
            adapter=adapter,
            device=device,
            dtype=dtype,
            quantize=quantize,
            attn=attn,
            max_tiles=max_tiles,
        )
        self.model, self.processor = self.runtime.model, self.runtime.processor
        self.device, self.dtype = self.runtime.device, self.runtime.dtype
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.crop = crop
        self.max_tiles = max_tiles
        self.task = task

    def parse(self, page: SourcePage) -> list[Block]:
        return self.parse_batch([page])[0]

    def parse_batch(self, pages: Sequence[SourcePage]) -> list[list[Block]]:
        """Blocks per page; a looping page's blocks all carry the flag "degenerate"."""
        generations = self.generate([self.page_image(page) for page in pages])
        return [
            generation_blocks(generation, page.number)
            for generation, page in zip(generations, pages, strict=True)
        ]

    def page_image(self, page: SourcePage) -> Image.Image:
        """The page raster: the source's size, or in crop mode enough pixels for every tile."""
        if not self.crop:
            return page.render()
        if not page.is_pdf:
            return page.render_dpi(72)  # image pages come back at their own resolution
        tile = self.processor.image_processor.size["height"]
        columns, rows = tile_grid(round(page.height), round(page.width), tile, 1, self.max_tiles)
        return page.render(max(page.source.size, tile * max(columns, rows)))

    def generate(self, images: Sequence[Image.Image]) -> list[Generation]:
        """The model's raw text per image, in batches of `batch_size` (default: all at once)."""
        step = max(1, self.batch_size or len(images))
        generations: list[Generation] = []
        for start in range(0, len(images), step):
            generations += self._generate_batch(images[start : start + step])
        return generations

    def _generate_batch(self, images: Sequence[Image.Image]) -> list[Generation]:
        inputs = self.processor(images, task=self.task, crop=self.crop, max_tiles=self.max_tiles)
        return self.runtime.generate(inputs, max_new_tokens=self.max_new_tokens, crop=self.crop)


def generation_blocks(generation: Generation, page: int) -> list[Block]:
    """Blocks of one page's text, flagged when the generation looped or was cut short."""
    blocks = parse_markup(generation.text, page=page, engine=VLMEngine.name)
    flags = [DEGENERATE] if generation.degenerate else [TRUNCATED] if generation.truncated else []
    if flags and not blocks:
        blocks = [Block(type=BlockType.PARAGRAPH, text=generation.text, page=page, engine="vlm")]
    for block in blocks:
        block.flags = [*block.flags, *(f for f in flags if f not in block.flags)]
        block.confidence = generation.confidence
    return blocks
