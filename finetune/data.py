"""Manifest examples → model inputs: the inference processor's views and prompt, loss on targets.

The prompt (system, image slots, query) and every image token are labelled -100, so the loss
counts only the target tokens and the closing `<|im_end|>` the model must learn to emit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from docvlm.model.processing_docvlm import DocVLMProcessor, build_prompt, build_query
from docvlm.sources import DEFAULT_SIZE

from .manifest import OCR_QUERY, Example, ManifestError

IGNORE_INDEX = -100


def encode_example(
    processor: DocVLMProcessor,
    image: Image.Image,
    query: str,
    target_text: str | None,
    max_length: int | None = None,
) -> dict[str, Any]:
    """input_ids, labels, pixel values and views of one example, as inference would build them.

    With `target_text=None` only the prompt is encoded (for generation).
    """
    crop = processor.image_processor.crop_to_patches
    if query == OCR_QUERY:
        query = build_query("ocr", multi_view=crop)  # what inference sends for plain OCR
    vision = processor.image_processor([image], return_tensors="pt", crop_to_patches=crop)
    num_views = int(vision.pop("num_views")[0])
    prompt = build_prompt(query, num_views, processor.num_image_tokens)
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
    return {
        "input_ids": torch.tensor(prompt_ids + target_ids),
        "labels": torch.tensor([IGNORE_INDEX] * len(prompt_ids) + target_ids),
        "num_views": num_views,
        **{name: tensor for name, tensor in vision.items()},
    }


class ManifestDataset(Dataset):
    """Examples rasterized and encoded on the fly, so pages never sit in memory as tensors."""

    def __init__(
        self,
        examples: Sequence[Example],
        processor: DocVLMProcessor,
        max_length: int | None = None,
        render_size: int = DEFAULT_SIZE,
    ) -> None:
        self.examples = list(examples)
        self.processor = processor
        self.max_length = max_length
        self.render_size = render_size

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        example = self.examples[index]
        image = example.load_image(self.render_size)
        return encode_example(
            self.processor, image, example.query, example.target_text, self.max_length
        )


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
        return batch
