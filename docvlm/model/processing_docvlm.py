"""How inputs are prepared: page images → SAM/CLIP views, and the GOT/Vary chat prompt."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import AutoTokenizer, BatchFeature, PreTrainedTokenizerBase
from transformers.image_processing_backends import PilBackend
from transformers.image_utils import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    PILImageResampling,
    SizeDict,
)
from transformers.processing_utils import ImagesKwargs, ProcessorMixin

from docvlm.errors import CheckpointError, DocVLMError

TASKS: tuple[str, ...] = ("ocr", "format")

# Which mean/std each preset's high-res (SAM) view is normalized with; the CLIP view always
# uses CLIP's. Vary-base kept SAM's ImageNet statistics, GOT and Vary-toy switched to CLIP's.
Normalization = tuple[Sequence[float], Sequence[float]]
CLIP_NORMALIZATION: Normalization = (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)
IMAGENET_NORMALIZATION: Normalization = (IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
SAM_NORMALIZATION: dict[str, Normalization] = {
    "tiny": CLIP_NORMALIZATION,
    "got-ocr2": CLIP_NORMALIZATION,
    "vary-toy": CLIP_NORMALIZATION,
    "vary-base": IMAGENET_NORMALIZATION,
}

SYSTEM_PROMPT = "You should follow the instructions carefully and explain your answers in detail."
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
IMG_START, IMG_END, IMG_PAD = "<img>", "</img>", "<imgpad>"
END_OF_TEXT = "<|endoftext|>"
PROCESSOR_CONFIG = "processor_config.json"
TOKENIZER_DIR = Path(__file__).parent / "tokenizer"


class DocVLMImageProcessorKwargs(ImagesKwargs, total=False):
    crop_to_patches: bool
    min_patches: int
    max_patches: int
    clip_size: int | None
    clip_image_mean: list[float] | tuple[float, ...]
    clip_image_std: list[float] | tuple[float, ...]


class DocVLMImageProcessor(PilBackend):
    """SAM view (bicubic square resize), optional CLIP view, optional multi-crop tiling.

    Returns `pixel_values` (views, 3, S, S), `clip_pixel_values` (views, 3, s, s) when
    `clip_size` is set, and `num_views` per image; views of all images are flattened in order.
    """

    valid_kwargs = DocVLMImageProcessorKwargs
    model_input_names = ["pixel_values", "clip_pixel_values"]
    resample = PILImageResampling.BICUBIC
    image_mean = OPENAI_CLIP_MEAN
    image_std = OPENAI_CLIP_STD
    size = {"height": 1024, "width": 1024}
    do_resize = True
    do_rescale = True
    do_normalize = True
    do_convert_rgb = True
    crop_to_patches = False
    min_patches = 1
    max_patches = 6
    clip_size = None
    clip_image_mean = OPENAI_CLIP_MEAN
    clip_image_std = OPENAI_CLIP_STD

    def _preprocess(
        self,
        images: list[np.ndarray],
        size: SizeDict,
        resample: PILImageResampling,
        do_rescale: bool,
        rescale_factor: float,
        do_normalize: bool,
        image_mean: Sequence[float],
        image_std: Sequence[float],
        return_tensors: str | None,
        crop_to_patches: bool = False,
        min_patches: int = 1,
        max_patches: int = 6,
        clip_size: int | None = None,
        clip_image_mean: Sequence[float] = OPENAI_CLIP_MEAN,
        clip_image_std: Sequence[float] = OPENAI_CLIP_STD,
        **kwargs: Any,
    ) -> BatchFeature:
        sam_views: list[np.ndarray] = []
        clip_views: list[np.ndarray] = []
        num_views: list[int] = []
        for image in images:
            tiles = []
            if crop_to_patches and max_patches > 1:
                tiles = self._tiles(image, size, resample, min_patches, max_patches)
            # A 1×1 grid is just the whole page. Otherwise the whole page comes last, as GOT's
            # thumbnail; CLIP sees each tile's pixels, and the page itself for that view.
            views = [(tile, tile) for tile in tiles] if len(tiles) > 1 else []
            views.append((self.resize(image, size, resample), image))
            for sam_view, clip_source in views:
                sam_views.append(
                    self._scale(
                        sam_view, do_rescale, rescale_factor, do_normalize, image_mean, image_std
                    )
                )
                if clip_size:
                    clip_view = self._clip_view(clip_source, clip_size)
                    clip_views.append(
                        self._scale(
                            clip_view, True, rescale_factor, True, clip_image_mean, clip_image_std
                        )
                    )
            num_views.append(len(views))
        data: dict[str, Any] = {"pixel_values": sam_views, "num_views": num_views}
        if clip_size:
            data["clip_pixel_values"] = clip_views
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _tiles(
        self,
        image: np.ndarray,
        size: SizeDict,
        resample: PILImageResampling,
        min_patches: int,
        max_patches: int,
    ) -> list[np.ndarray]:
        """Row-major S×S tiles of the image resized onto the grid closest to its aspect ratio."""
        height, width = image.shape[-2:]
        columns, rows = tile_grid(height, width, size.height, min_patches, max_patches)
        canvas = self.resize(
            image, SizeDict(height=size.height * rows, width=size.width * columns), resample
        )
        tile_h, tile_w = size.height, size.width
        return [
            canvas[:, r * tile_h : (r + 1) * tile_h, c * tile_w : (c + 1) * tile_w]
            for r in range(rows)
            for c in range(columns)
        ]

    def _clip_view(self, image: np.ndarray, clip_size: int) -> np.ndarray:
        """CLIP's own preprocessing: shortest side to `clip_size`, then a centre square crop."""
        resized = self.resize(image, SizeDict(shortest_edge=clip_size), PILImageResampling.BICUBIC)
        return self.center_crop(resized, SizeDict(height=clip_size, width=clip_size))

    def _scale(
        self,
        image: np.ndarray,
        do_rescale: bool,
        rescale_factor: float,
        do_normalize: bool,
        mean: Sequence[float],
        std: Sequence[float],
    ) -> np.ndarray:
        if do_rescale:
            image = self.rescale(image, rescale_factor)
        if do_normalize:
            image = self.normalize(image, mean, std)
        return image


def tile_grid(
    height: int, width: int, tile_size: int, min_tiles: int, max_tiles: int
) -> tuple[int, int]:
    """(columns, rows) of the tile grid whose aspect ratio is closest to the image's.

    Ties go to the grid with more tiles while the image still has more than half that grid's
    area, as GOT's `dynamic_preprocess` does, so small images are not blown up.
    """
    grids = sorted(
        (
            (columns, rows)
            for columns in range(1, max_tiles + 1)
            for rows in range(1, max_tiles + 1)
            if min_tiles <= columns * rows <= max_tiles
        ),
        key=lambda grid: grid[0] * grid[1],
    )
    aspect_ratio = width / height
    best, best_diff = (1, 1), float("inf")
    for columns, rows in grids:
        diff = abs(aspect_ratio - columns / rows)
        if diff < best_diff:
            best, best_diff = (columns, rows), diff
        elif diff == best_diff and width * height > 0.5 * tile_size * tile_size * columns * rows:
            best = (columns, rows)
    return best


def build_query(
    task: str = "ocr",
    box: Sequence[float] | None = None,
    color: str | None = None,
    multi_view: bool = False,
) -> str:
    """GOT's query: `[color] [x1, y1, x2, y2] OCR[ with format][ upon the patch reference]: `.

    `box` is already in GOT's 0–1000 page coordinates.
    """
    if task not in TASKS:
        raise DocVLMError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    query = "OCR" + (" with format" if task == "format" else "")
    query += (" upon the patch reference" if multi_view else "") + ": "
    if box is not None:
        query = f"[{', '.join(str(int(v)) for v in box)}] " + query
    if color is not None:
        query = f"[{color}] " + query
    return query


def build_prompt(
    query: str,
    num_views: int,
    num_image_tokens: int,
    system: str = SYSTEM_PROMPT,
    anchors: str | None = None,
) -> str:
    """The chat prompt GOT and Vary were trained on, with one image slot for all views.

    An empty `system` drops the system turn (models trained from scratch need not spend
    ~115 byte-level tokens per example on it). `anchors` (`docvlm.anchors.anchor_text`) go
    between the image and the query.
    """
    image = IMG_START + IMG_PAD * (num_image_tokens * num_views) + IMG_END
    system_turn = f"{IM_START}system\n{system}{IM_END}" if system else ""
    page_text = f"{anchors}\n" if anchors else ""
    return f"{system_turn}{IM_START}user\n{image}\n{page_text}{query}{IM_END}{IM_START}assistant\n"


def box_to_1000(box: Sequence[float], width: int, height: int) -> list[int]:
    """Pixel box (x1, y1, x2, y2) → GOT's 0–1000 coordinates (truncated, as GOT does)."""
    if len(box) != 4:
        raise DocVLMError(f"box must be [x1, y1, x2, y2], got {list(box)}")
    x1, y1, x2, y2 = box
    return [
        int(x1 / width * 1000),
        int(y1 / height * 1000),
        int(x2 / width * 1000),
        int(y2 / height * 1000),
    ]


class DocVLMProcessor(ProcessorMixin):
    """Image processor + tokenizer + GOT/Vary prompt: pages in, model inputs out.

    Batches are left-padded so every prompt ends at the same position and generation can
    start for all pages at once.
    """

    def __init__(
        self,
        image_processor: DocVLMImageProcessor,
        tokenizer: PreTrainedTokenizerBase,
        num_image_tokens: int = 256,
        chat_template: str | None = None,
        system_prompt: str = SYSTEM_PROMPT,
        anchor_format: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(image_processor, tokenizer, chat_template=chat_template)
        self.num_image_tokens = num_image_tokens
        self.system_prompt = system_prompt
        # `docvlm.anchors.AnchorFormat` fields the model was trained with (empty: the default).
        self.anchor_format = dict(anchor_format or {})
        if tokenizer.pad_token is None:
            tokenizer.pad_token = END_OF_TEXT
        self.image_token_id = tokenizer.convert_tokens_to_ids(IMG_PAD)
        self.end_token_id = tokenizer.convert_tokens_to_ids(IM_END)

    def __call__(
        self,
        images: Image.Image | Sequence[Image.Image],
        task: str = "ocr",
        boxes: Sequence[Sequence[float] | None] | None = None,
        colors: Sequence[str | None] | None = None,
        crop: bool | None = None,
        max_tiles: int | None = None,
        return_tensors: str = "pt",
        anchors: Sequence[str | None] | None = None,
    ) -> BatchFeature:
        """Model inputs for a batch of pages: ids, mask, pixel values and views per page.

        `boxes` are in each image's pixel coordinates; `crop` and `max_tiles` override the
        image processor's multi-crop settings for this call; `anchors` is each page's anchor
        text (or None).
        """
        images = [images] if isinstance(images, Image.Image) else list(images)
        if not images:
            raise DocVLMError("no images to process")
        boxes = list(boxes) if boxes is not None else [None] * len(images)
        colors = list(colors) if colors is not None else [None] * len(images)
        anchors = list(anchors) if anchors is not None else [None] * len(images)
        if not len(boxes) == len(colors) == len(anchors) == len(images):
            raise DocVLMError("give one box, color and anchor text (or None) per image")
        crop = self.image_processor.crop_to_patches if crop is None else crop
        image_kwargs: dict[str, Any] = {"crop_to_patches": crop}
        if max_tiles is not None:
            image_kwargs["max_patches"] = max_tiles
        vision = self.image_processor(images, return_tensors=return_tensors, **image_kwargs)
        num_views = [int(n) for n in vision.pop("num_views")]
        prompts = []
        for image, box, color, page_text, views in zip(
            images, boxes, colors, anchors, num_views, strict=True
        ):
            box_1000 = None if box is None else box_to_1000(box, *image.size)
            query = build_query(task, box_1000, color, multi_view=crop)
            prompts.append(self.prompt(query, views, page_text))
        # The prompt spells out every special token itself: nothing may be added around it.
        text = self.tokenizer(
            prompts,
            add_special_tokens=False,
            padding=True,
            padding_side="left",
            return_tensors=return_tensors,
        )
        return BatchFeature(
            data={**text, **vision, "num_views": torch.tensor(num_views)},
            tensor_type=return_tensors,
        )

    def prompt(self, query: str, num_views: int = 1, anchors: str | None = None) -> str:
        """The full prompt for `query` over `num_views` views, with this model's system turn
        and the page's anchor text if given."""
        return build_prompt(query, num_views, self.num_image_tokens, self.system_prompt, anchors)

    def batch_decode(
        self, sequences: torch.Tensor, prompt_length: int = 0, **kwargs: Any
    ) -> list[str]:
        """Text generated per row: the first `prompt_length` tokens dropped, cut at `<|im_end|>`."""
        stop_ids = {self.end_token_id, self.tokenizer.pad_token_id, self.tokenizer.eos_token_id}
        texts = []
        for row in sequences[:, prompt_length:].tolist():
            end = next((i for i, token in enumerate(row) if token in stop_ids), len(row))
            texts.append(self.tokenizer.decode(row[:end], skip_special_tokens=True, **kwargs))
        return texts

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> list[str]:
        """Write preprocessor_config.json, processor_config.json and the tokenizer files."""
        os.makedirs(save_directory, exist_ok=True)
        self.image_processor.save_pretrained(save_directory)
        self.tokenizer.save_pretrained(save_directory)
        config_path = Path(save_directory) / PROCESSOR_CONFIG
        config = {
            "processor_class": type(self).__name__,
            "num_image_tokens": self.num_image_tokens,
            "system_prompt": self.system_prompt,
            "anchor_format": self.anchor_format,
        }
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        return [str(config_path)]

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any
    ) -> DocVLMProcessor:
        """Load what `save_pretrained` wrote (local directories only; nothing is downloaded)."""
        directory = Path(pretrained_model_name_or_path)
        config = json.loads((directory / PROCESSOR_CONFIG).read_text())
        image_processor = DocVLMImageProcessor.from_pretrained(directory, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        return cls(
            image_processor,
            tokenizer,
            num_image_tokens=config["num_image_tokens"],
            system_prompt=config.get("system_prompt", SYSTEM_PROMPT),
            anchor_format=config.get("anchor_format"),
        )

    @classmethod
    def from_config(
        cls,
        config: Any,
        tokenizer: PreTrainedTokenizerBase | None = None,
        normalization: Normalization = CLIP_NORMALIZATION,
        max_tiles: int = 6,
        system_prompt: str = SYSTEM_PROMPT,
        anchor_format: dict[str, Any] | None = None,
    ) -> DocVLMProcessor:
        """A processor sized for a DocVLMConfig; `tokenizer` defaults to the tiny one.

        `normalization` is the SAM view's (mean, std): `SAM_NORMALIZATION[preset]`.
        """
        mean, std = normalization
        clip_config = getattr(config, "clip_config", None)
        image_size = config.vision_config.image_size
        image_processor = DocVLMImageProcessor(
            size={"height": image_size, "width": image_size},
            image_mean=list(mean),
            image_std=list(std),
            clip_size=clip_config.image_size if clip_config is not None else None,
            max_patches=max_tiles,
        )
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR, local_files_only=True)
        processor = cls(
            image_processor,
            tokenizer,
            num_image_tokens=config.num_image_tokens,
            system_prompt=system_prompt,
            anchor_format=anchor_format,
        )
        processor.check_config(config)
        return processor

    def check_config(self, config: Any) -> None:
        """Raise CheckpointError when the tokenizer's image tokens are not the model's."""
        expected = {
            IMG_PAD: config.image_token_id,
            IMG_START: getattr(config, "image_start_token_id", None),
            IMG_END: getattr(config, "image_end_token_id", None),
        }
        for token, config_id in expected.items():
            token_id = self.tokenizer.convert_tokens_to_ids(token)
            if config_id is not None and token_id != config_id:
                raise CheckpointError(
                    f"tokenizer maps {token} to id {token_id} but the model config expects "
                    f"{config_id}: use the tokenizer saved with this checkpoint"
                )
