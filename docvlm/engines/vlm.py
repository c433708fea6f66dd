"""The `vlm` engine: page images → a docvlm / GOT checkpoint → markdown → Blocks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image
from transformers import (
    AutoTokenizer,
    BitsAndBytesConfig,
    LogitsProcessorList,
    StoppingCriteriaList,
)

from docvlm.document import Block, BlockType
from docvlm.engines.base import Engine
from docvlm.errors import CheckpointError, EngineUnavailableError, ModelNotFoundError
from docvlm.markup import parse_markup
from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
from docvlm.model.generation import (
    GreedyConfidence,
    NoRepeatNGram,
    RepetitionGuard,
    newline_token_ids,
)
from docvlm.model.processing_docvlm import (
    CLIP_NORMALIZATION,
    PROCESSOR_CONFIG,
    TASKS,
    DocVLMProcessor,
    tile_grid,
)
from docvlm.sources import SourcePage

DEGENERATE = "degenerate"  # the pipeline's flag for a looping generation
TRUNCATED = "truncated"  # generation hit max_new_tokens before <|im_end|>
LOADABLE_MODEL_TYPES = ("docvlm", "got_ocr2")
WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin")
# GOT-OCR2.0 blocks any 20-gram from recurring on single views: it is what keeps the published
# weights from looping on dense pages. Its multi-crop mode decodes without it.
GOT_NO_REPEAT_NGRAM = 20
DOWNLOAD_HINT = (
    "download a checkpoint first (e.g. `huggingface-cli download stepfun-ai/GOT-OCR-2.0-hf "
    "--local-dir ./GOT-OCR-2.0-hf`) and pass --model ./GOT-OCR-2.0-hf"
)

Quantize = Literal["4bit", "8bit"]


@dataclass(frozen=True)
class Generation:
    """What the model wrote for one page, and how the generation ended."""

    text: str
    num_views: int
    degenerate: bool  # stopped by the repetition guard
    truncated: bool  # ran out of max_new_tokens
    confidence: float | None  # geometric-mean probability of the generated tokens


class VLMEngine(Engine):
    """Greedy OCR with a local docvlm (or GOT-OCR-2.0-hf) checkpoint.

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
        directory = check_model_dir(model)
        adapter_dir = check_adapter_dir(adapter) if adapter is not None else None
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.crop = crop
        self.max_tiles = max_tiles
        self.task = task
        config = DocVLMConfig.from_pretrained(directory, local_files_only=True)
        self.model = load_model(directory, config, self.device, self.dtype, quantize, attn)
        if adapter_dir is not None:
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, adapter_dir, local_files_only=True)
        self.model.eval()
        self.processor = load_processor(directory, config, max_tiles)
        self.newline_ids = newline_token_ids(self.processor.tokenizer)

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
        num_views = inputs.pop("num_views").tolist()
        inputs = inputs.to(self.device)
        prompt_length = inputs["input_ids"].shape[1]
        guard = RepetitionGuard(prompt_length, self.newline_ids)
        scorer = GreedyConfidence()
        processors = [NoRepeatNGram(GOT_NO_REPEAT_NGRAM)] if not self.crop else []
        options: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": False,
            "num_beams": 1,
            "eos_token_id": self.processor.end_token_id,
            "pad_token_id": self.processor.tokenizer.pad_token_id,
            "stopping_criteria": StoppingCriteriaList([guard]),
            "no_repeat_ngram_size": 0,  # NoRepeatNGram instead: same bans, no rescan per step
            "logits_processor": LogitsProcessorList([*processors, scorer]),
        }
        with torch.inference_mode():
            sequences = self.model.generate(**inputs, **options)
        texts = self.processor.batch_decode(sequences, prompt_length=prompt_length)
        new_tokens = sequences[:, prompt_length:].cpu().tolist()
        end_id, pad_id = self.processor.end_token_id, self.processor.tokenizer.pad_token_id
        ended = [end_id in tokens for tokens in new_tokens]
        lengths = [_generated_length(tokens, end_id, pad_id) for tokens in new_tokens]
        confidences = scorer.confidence(lengths)
        looped = guard.looped if guard.looped is not None else torch.zeros(len(texts), dtype=bool)
        return [
            Generation(
                text=text,
                num_views=views,
                degenerate=bool(looped[row]),
                truncated=not ended[row] and not bool(looped[row]),
                confidence=confidences[row],
            )
            for row, (text, views) in enumerate(zip(texts, num_views, strict=True))
        ]


def _generated_length(tokens: list[int], end_id: int, pad_id: int) -> int:
    """Tokens the model chose: up to and including `<|im_end|>`, before any padding."""
    for index, token in enumerate(tokens):
        if token == end_id:
            return index + 1
        if token == pad_id:
            return index
    return len(tokens)


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


def check_model_dir(model: str | Path) -> Path:
    """The checkpoint folder, or ModelNotFoundError saying how to get one."""
    directory = Path(model).expanduser()
    if not directory.is_dir():
        raise ModelNotFoundError(f"model folder {str(directory)!r} does not exist: {DOWNLOAD_HINT}")
    if not (directory / "config.json").is_file():
        raise ModelNotFoundError(
            f"{str(directory)!r} has no config.json, so it is not a checkpoint folder: "
            f"{DOWNLOAD_HINT}"
        )
    model_type = _json(directory / "config.json").get("model_type")
    if model_type not in LOADABLE_MODEL_TYPES:
        raise CheckpointError(
            f"{str(directory)!r} holds a {model_type or 'unknown'} checkpoint, not a docvlm or "
            "GOT-OCR-2.0-hf one: convert it first with `docvlm convert --from got|vary|vary-toy "
            f"{directory} OUT` and pass --model OUT"
        )
    if not any(next(directory.glob(pattern), None) for pattern in WEIGHT_PATTERNS):
        raise ModelNotFoundError(
            f"{str(directory)!r} has a config.json but no weights (*.safetensors): "
            f"the download may be incomplete; {DOWNLOAD_HINT}"
        )
    return directory


def resolve_device(device: str) -> torch.device:
    """ "auto" → the first CUDA GPU if there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise EngineUnavailableError(f"--device {device}: no CUDA GPU is visible; use --device cpu")
    return resolved


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """ "auto" → bfloat16 on CUDA (float16 on GPUs without bf16), float32 on CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype not in ("float32", "bfloat16", "float16"):
        raise EngineUnavailableError(f"--dtype {dtype}: use auto, float32, bfloat16 or float16")
    return getattr(torch, dtype)


def load_model(
    directory: Path,
    config: DocVLMConfig,
    device: torch.device,
    dtype: torch.dtype,
    quantize: Quantize | None,
    attn: str | None,
) -> DocVLMForConditionalGeneration:
    """Weights from `directory` only; bitsandbytes quantizes the LLM, towers stay in `dtype`."""
    options: dict[str, Any] = {"config": config, "dtype": dtype, "local_files_only": True}
    if attn is not None:
        options["attn_implementation"] = attn
    if quantize is None:
        return DocVLMForConditionalGeneration.from_pretrained(directory, **options).to(device)
    if quantize == "4bit":
        options["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype
        )
    elif quantize == "8bit":
        options["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    else:
        raise EngineUnavailableError(f"--quantize {quantize}: use 4bit or 8bit")
    return DocVLMForConditionalGeneration.from_pretrained(
        directory, device_map={"": device}, **options
    )


def check_adapter_dir(adapter: str | Path) -> Path:
    """The PEFT adapter folder `docvlm finetune` wrote, or ModelNotFoundError."""
    adapter_dir = Path(adapter).expanduser()
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ModelNotFoundError(
            f"adapter folder {str(adapter_dir)!r} has no adapter_config.json: pass the folder "
            "`docvlm finetune` wrote (the one holding adapter_model.safetensors)"
        )
    return adapter_dir


def load_processor(directory: Path, config: DocVLMConfig, max_tiles: int) -> DocVLMProcessor:
    """The checkpoint's DocVLMProcessor, or one built from its config and tokenizer files.

    GOT-OCR-2.0-hf folders carry transformers' GotOcr2 processor files; their image mean/std
    are reused so a foreign checkpoint keeps its own normalization.
    """
    saved = directory / PROCESSOR_CONFIG
    if saved.is_file() and _json(saved).get("processor_class") == DocVLMProcessor.__name__:
        processor = DocVLMProcessor.from_pretrained(directory)
        processor.check_config(config)
        return processor
    preprocessor = _json(directory / "preprocessor_config.json")
    mean = preprocessor.get("image_mean", CLIP_NORMALIZATION[0])
    std = preprocessor.get("image_std", CLIP_NORMALIZATION[1])
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ModelNotFoundError(
            f"{str(directory)!r} has no usable tokenizer files ({error}): copy the checkpoint's "
            "tokenizer files into it"
        ) from error
    return DocVLMProcessor.from_config(config, tokenizer, (mean, std), max_tiles=max_tiles)


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}
