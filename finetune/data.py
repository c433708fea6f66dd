"""Manifest examples → model inputs: the inference processor's views and prompt, loss on targets.

The prompt (system, image slots, query) and every image token are labelled -100, so the loss
counts only the target tokens and the closing `<|im_end|>` the model must learn to emit. With
`prompt_loss` the prompt's text tokens are predicted too (image tokens never are): a model
trained from scratch then learns the page text it must copy from, not only the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from docvlm.anchors import DEFAULT_MAX_TOKENS, AnchorFormat, anchor_text
from docvlm.model.processing_docvlm import IMG_END, IMG_START, DocVLMProcessor, build_query
from docvlm.sources import DEFAULT_SIZE

from .manifest import OCR_QUERY, Example, Glyph, ManifestError

IGNORE_INDEX = -100


def encode_example(
    processor: DocVLMProcessor,
    image: Image.Image,
    query: str,
    target_text: str | None,
    max_length: int | None = None,
    anchors: str | None = None,
    prompt_loss: bool = False,
) -> dict[str, Any]:
    """input_ids, labels, pixel values and views of one example, as inference would build them.

    With `target_text=None` only the prompt is encoded (for generation); `anchors` is the page's
    anchor text (`example_anchor_text`); `prompt_loss` labels the prompt's text tokens too.
    """
    crop = processor.image_processor.crop_to_patches
    if query == OCR_QUERY:
        query = build_query("ocr", multi_view=crop)  # what inference sends for plain OCR
    vision = processor.image_processor([image], return_tensors="pt", crop_to_patches=crop)
    num_views = int(vision.pop("num_views")[0])
    prompt = processor.prompt(query, num_views, anchors)
    prompt_ids = processor.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target_ids: list[int] = []
    if target_text is not None:
        target_ids = processor.tokenizer(target_text, add_special_tokens=False)["input_ids"]
        target_ids = [*target_ids, processor.end_token_id]
    if max_length is not None:
        if len(prompt_ids) >= max_length:
            raise ManifestError(
                f"the prompt alone is {len(prompt_ids)} tokens (image views included); "
                f"raise --max-length above {max_length} or lower the number of tiles"
            )
        target_ids = target_ids[: max_length - len(prompt_ids)]
    prompt_labels = [IGNORE_INDEX] * len(prompt_ids)
    if prompt_loss:
        image_ids = {processor.image_token_id, *processor.tokenizer.convert_tokens_to_ids(
            [IMG_START, IMG_END])}  # fmt: skip
        prompt_labels = [IGNORE_INDEX if i in image_ids else i for i in prompt_ids]
    return {
        "input_ids": torch.tensor(prompt_ids + target_ids),
        "labels": torch.tensor(prompt_labels + target_ids),
        "num_views": num_views,
        **{name: tensor for name, tensor in vision.items()},
    }


def example_anchor_text(
    example: Example, processor: DocVLMProcessor, max_tokens: int = DEFAULT_MAX_TOKENS
) -> str | None:
    """The anchor text the prompt of `example` carries (None where its row has no anchors),
    within `max_tokens` of the processor's tokenizer, in the processor's anchor format."""
    if example.anchors in (None, "none"):
        return None

    def count(text: str) -> int:
        return len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])

    form = AnchorFormat(**processor.anchor_format)
    return anchor_text(example.page_anchors(), max_tokens, count, form)


# Two stride-2 3×3 convs centre token t on patch 4t: its receptive field starts 3/8 of a cell
# before the token's nominal cell, so cells are shifted by that much.
CELL_OFFSET = 0.375


def glyph_slot_labels(
    glyphs: Sequence[Glyph],
    grid: int,
    slots: int,
    token_id: Callable[[str], int | None],
    empty_id: int,
    cell_offset: float = CELL_OFFSET,
) -> torch.Tensor:
    """(grid², slots) labels: the token ids of each cell's characters in reading order.

    The slot after the last character is `empty_id` (an empty cell labels only its first
    slot), later slots are IGNORE_INDEX, so blank paper does not drown the characters. A
    character the tokenizer cannot give one id for ignores its cell, as does a cell holding
    more than `slots` characters.
    """
    cells: dict[int, list[tuple[float, float, str]]] = {}
    for char, x0, y0, x1, y1 in glyphs:
        if char.isspace():
            continue
        x, y = (x0 + x1) / 2, (y0 + y1) / 2
        column = min(grid - 1, max(0, math.floor(x * grid + cell_offset)))
        row = min(grid - 1, max(0, math.floor(y * grid + cell_offset)))
        cells.setdefault(row * grid + column, []).append((y, x, char))
    labels = torch.full((grid * grid, slots), IGNORE_INDEX, dtype=torch.long)
    labels[:, 0] = empty_id
    for cell, chars in cells.items():
        ids = [token_id(char) for _, _, char in sorted(_by_line(chars))]
        if len(ids) > slots or None in ids:
            labels[cell] = IGNORE_INDEX
            continue
        ids = ids + [empty_id] if len(ids) < slots else ids
        labels[cell, : len(ids)] = torch.tensor(ids)
    return labels


def _by_line(chars: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Snap y to its line's first character so sorting goes line by line, then left to right."""
    lines: list[float] = []
    snapped = []
    for y, x, char in sorted(chars):
        if not lines or y - lines[-1] > 1e-3:
            lines.append(y)
        snapped.append((lines[-1], x, char))
    return snapped


class ManifestDataset(Dataset):
    """Examples rasterized and encoded on the fly, so pages never sit in memory as tensors.

    With `glyph_slots`, examples that carry glyph boxes also get `glyph_labels`
    (`glyph_slot_labels`); the others get none and the batch skips the glyph loss. Anchor texts
    are built once per example (OCR is slow) and kept.
    """

    def __init__(
        self,
        examples: Sequence[Example],
        processor: DocVLMProcessor,
        max_length: int | None = None,
        render_size: int = DEFAULT_SIZE,
        glyph_slots: int = 0,
        prompt_loss: bool = False,
    ) -> None:
        self.examples = list(examples)
        self.processor = processor
        self.max_length = max_length
        self.render_size = render_size
        self.glyph_slots = glyph_slots
        self.prompt_loss = prompt_loss
        self._char_ids: dict[str, int | None] = {}
        self._anchors: dict[int, str | None] = {}

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        example = self.examples[index]
        image = example.load_image(self.render_size)
        if index not in self._anchors:
            self._anchors[index] = example_anchor_text(example, self.processor)
        encoded = encode_example(
            self.processor, image, example.query, example.target_text, self.max_length,
            self._anchors[index], self.prompt_loss,
        )  # fmt: skip
        if self.glyph_slots and example.glyphs is not None:
            if encoded["num_views"] != 1:
                raise ManifestError("the glyph loss needs one image view per example (no tiles)")
            grid = math.isqrt(self.processor.num_image_tokens)
            encoded["glyph_labels"] = glyph_slot_labels(
                example.glyphs, grid, self.glyph_slots, self._char_id,
                self.processor.tokenizer.pad_token_id,
            )  # fmt: skip
        return encoded

    def _char_id(self, char: str) -> int | None:
        """The one token id of `char`, or None where the tokenizer splits it."""
        if char not in self._char_ids:
            ids = self.processor.tokenizer(char, add_special_tokens=False)["input_ids"]
            self._char_ids[char] = ids[0] if len(ids) == 1 else None
        return self._char_ids[char]


class Collator:
    """Right-pads a list of encoded examples into one batch; views are stacked in batch order."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(f["input_ids"]) for f in features)
        input_ids = torch.full((len(features), length), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), length), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(features), length), dtype=torch.long)
        for row, feature in enumerate(features):
            size = len(feature["input_ids"])
            input_ids[row, :size] = feature["input_ids"]
            labels[row, :size] = feature["labels"]
            attention_mask[row, :size] = 1
        # The model fills `<imgpad>` slots in row-major order, so views concatenate in order.
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels,
            "pixel_values": torch.cat([f["pixel_values"] for f in features]),
        }
        if "clip_pixel_values" in features[0]:
            batch["clip_pixel_values"] = torch.cat([f["clip_pixel_values"] for f in features])
        if all("glyph_labels" in f for f in features):
            batch["glyph_labels"] = torch.stack([f["glyph_labels"] for f in features])
        return batch
