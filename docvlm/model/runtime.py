"""The one model runtime: a hub id or folder → model + processor on a device, and one generate().

Every user of a checkpoint (the vlm engine, extraction, `eval`, `finetune`) loads it here and
decodes through `Runtime.generate`, so what `eval` scores is what `parse` runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import (
    AutoTokenizer,
    BitsAndBytesConfig,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedTokenizerBase,
    StoppingCriteriaList,
)

from docvlm.errors import CheckpointError, EngineUnavailableError, ModelNotFoundError

from .configuration_docvlm import DocVLMConfig
from .generation import GreedyConfidence, NoRepeatNGram, RepetitionGuard, newline_token_ids
from .modeling_docvlm import DocVLMForConditionalGeneration
from .processing_docvlm import (
    CLIP_NORMALIZATION,
    IMG_END,
    IMG_START,
    PROCESSOR_CONFIG,
    DocVLMProcessor,
    Normalization,
)

Quantize = Literal["4bit", "8bit"]
LOADABLE_MODEL_TYPES = ("docvlm", "got_ocr2")
WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin")
# What a hub download fetches: configs, safetensors weights, tokenizer files, adapters.
HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.tiktoken", "*.model", "*.jinja"]
# GOT-OCR2.0 blocks any 20-gram from recurring on single views: it is what keeps the published
# weights from looping on dense pages. Its multi-crop mode decodes without it.
GOT_NO_REPEAT_NGRAM = 20
DOWNLOAD_HINT = (
    "--model takes a checkpoint folder or a Hugging Face id such as "
    "stepfun-ai/GOT-OCR-2.0-hf (downloaded into the Hugging Face cache on first use)"
)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


@dataclass(frozen=True)
class Generation:
    """What the model wrote for one input, and how the generation ended."""

    text: str
    num_views: int
    degenerate: bool  # stopped by the repetition guard
    truncated: bool  # ran out of max_new_tokens
    confidence: float | None  # geometric-mean probability of the generated tokens
    # The tokens the model chose before `<|im_end|>` (or the cut) and each one's log-probability
    # under the processed distribution (after any grammar or no-repeat ban).
    token_ids: tuple[int, ...] = field(default=(), compare=False, repr=False)
    token_log_probs: tuple[float, ...] = field(default=(), compare=False, repr=False)

    @property
    def ended(self) -> bool:
        """Whether the model wrote `<|im_end|>` itself."""
        return not self.degenerate and not self.truncated


@dataclass
class Runtime:
    """A loaded checkpoint: model (adapter applied) and processor on `device` in `dtype`."""

    model: Any
    processor: DocVLMProcessor
    device: torch.device
    dtype: torch.dtype
    source: Path  # the resolved checkpoint folder

    @property
    def normalization(self) -> Normalization:
        """The SAM view's (mean, std) this checkpoint reads pages with."""
        image_processor = self.processor.image_processor
        return list(image_processor.image_mean), list(image_processor.image_std)

    @property
    def vocab_size(self) -> int:
        """Rows of the LM head (may exceed the tokenizer's length)."""
        return self.model.get_output_embeddings().weight.shape[0]

    def generate(
        self,
        inputs: Mapping[str, torch.Tensor],
        *,
        max_new_tokens: int,
        crop: bool = False,
        no_repeat_ngram: int | None = None,
        logits_processors: Sequence[LogitsProcessor] = (),
    ) -> list[Generation]:
        """Greedy decoding of a left-padded batch, stopped per row at `<|im_end|>` or a loop.

        `inputs` are the processor's (a `num_views` entry is used, not passed on). GOT's
        no-repeat-20-gram rule applies to single-view (`crop=False`) inputs unless
        `no_repeat_ngram` says otherwise (0: off); `logits_processors` run before it.
        """
        inputs = dict(inputs)
        rows, prompt_length = inputs["input_ids"].shape
        num_views = inputs.pop("num_views", None)
        views = [1] * rows if num_views is None else [int(n) for n in num_views]
        inputs = {name: tensor.to(self.device) for name, tensor in inputs.items()}
        tokenizer = self.processor.tokenizer
        end_id, pad_id = self.processor.end_token_id, tokenizer.pad_token_id
        ngram = (0 if crop else GOT_NO_REPEAT_NGRAM) if no_repeat_ngram is None else no_repeat_ngram
        guard = RepetitionGuard(prompt_length, newline_token_ids(tokenizer))
        scorer = GreedyConfidence()
        processors = [*logits_processors, *([NoRepeatNGram(ngram)] if ngram else []), scorer]
        with torch.inference_mode():
            sequences = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                eos_token_id=end_id,
                pad_token_id=pad_id,
                stopping_criteria=StoppingCriteriaList([guard]),
                no_repeat_ngram_size=0,  # NoRepeatNGram instead: same bans, no rescan per step
                logits_processor=LogitsProcessorList(processors),
            )
        texts = self.processor.batch_decode(sequences, prompt_length=prompt_length)
        new_tokens = sequences[:, prompt_length:].cpu().tolist()
        lengths = [_generated_length(tokens, end_id, pad_id) for tokens in new_tokens]
        confidences = scorer.confidence(lengths)
        log_probs = torch.stack(scorer.steps, dim=1).cpu().tolist() if scorer.steps else None
        looped = guard.looped.tolist() if guard.looped is not None else [False] * rows
        generations = []
        for row, tokens in enumerate(new_tokens):
            ended = end_id in tokens[: lengths[row]]
            kept = lengths[row] - int(ended)
            generations.append(
                Generation(
                    text=texts[row],
                    num_views=views[row],
                    degenerate=looped[row],
                    truncated=not ended and not looped[row],
                    confidence=confidences[row],
                    token_ids=tuple(tokens[:kept]),
                    token_log_probs=tuple(log_probs[row][:kept]) if log_probs else (),
                )
            )
        return generations


def _generated_length(tokens: list[int], end_id: int, pad_id: int) -> int:
    """Tokens the model chose: up to and including `<|im_end|>`, before any padding."""
    for index, token in enumerate(tokens):
        if token == end_id:
            return index + 1
        if token == pad_id:
            return index
    return len(tokens)


def load_runtime(
    model: str | Path,
    *,
    adapter: str | Path | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    quantize: Quantize | None = None,
    attn: str | None = None,
    max_tiles: int = 6,
) -> Runtime:
    """Resolve `model` (folder or hub id), load it with `adapter` applied, ready to generate."""
    directory = check_model_dir(resolve_checkpoint(model, "model"))
    adapter_dir = None
    if adapter is not None:
        adapter_dir = check_adapter_dir(resolve_checkpoint(adapter, "adapter"))
    resolved_device = resolve_device(device)
    resolved_dtype = resolve_dtype(dtype, resolved_device)
    config = DocVLMConfig.from_pretrained(directory, local_files_only=True)
    # The processor saved with an adapter wins: training may have changed tiling settings.
    has_own_processor = adapter_dir is not None and (adapter_dir / PROCESSOR_CONFIG).is_file()
    processor = load_processor(adapter_dir if has_own_processor else directory, config, max_tiles)
    loaded = load_model(directory, config, resolved_device, resolved_dtype, quantize, attn)
    if adapter_dir is not None:
        from peft import PeftModel

        loaded = PeftModel.from_pretrained(loaded, adapter_dir, local_files_only=True)
    return Runtime(loaded.eval(), processor, resolved_device, resolved_dtype, directory)


def is_hub_id(name: str | Path) -> bool:
    """Whether `name` reads as `org/name` on the Hugging Face Hub rather than a local path."""
    text = str(name)
    return _HUB_ID.fullmatch(text) is not None and not Path(text).expanduser().exists()


def resolve_checkpoint(name: str | Path, what: str = "model") -> Path:
    """A local folder as given, or a hub id's snapshot folder in the Hugging Face cache.

    The cache is huggingface_hub's own (HF_HOME / HF_HUB_CACHE), and HF_HUB_OFFLINE=1 is
    honoured: an id already there resolves without the network.
    """
    if not is_hub_id(name):
        return Path(name).expanduser()
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(str(name), allow_patterns=HUB_FILES))
    except LocalEntryNotFoundError as error:
        if constants.HF_HUB_OFFLINE:
            raise ModelNotFoundError(
                f"{what} {str(name)!r} is neither a folder nor in the Hugging Face cache "
                f"({constants.HF_HUB_CACHE}), and HF_HUB_OFFLINE=1 forbids downloading it: run "
                "once with the network on, or pass a local folder"
            ) from error
        raise ModelNotFoundError(
            f"{what} {str(name)!r} is neither a folder nor in the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}), and downloading it failed: check the network, or pass "
            "a local folder"
        ) from error
    except HfHubHTTPError as error:
        raise ModelNotFoundError(
            f"{what} {str(name)!r}: the Hugging Face Hub refused it "
            f"({str(error).splitlines()[0]}); "
            "check the id, or log in with `hf auth login` for a gated or private model"
        ) from error


def check_model_dir(directory: Path) -> Path:
    """The checkpoint folder, or ModelNotFoundError / CheckpointError saying what to do."""
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


def check_adapter_dir(adapter_dir: Path) -> Path:
    """The PEFT adapter folder `docvlm finetune` wrote, or ModelNotFoundError."""
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ModelNotFoundError(
            f"adapter folder {str(adapter_dir)!r} has no adapter_config.json: pass the folder "
            "`docvlm finetune` wrote (the one holding adapter_model.safetensors)"
        )
    return adapter_dir


def resolve_device(device: str | torch.device) -> torch.device:
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
    quantize: Quantize | None = None,
    attn: str | None = None,
) -> DocVLMForConditionalGeneration:
    """Weights from `directory` only; bitsandbytes quantizes the LLM, towers stay in `dtype`."""
    options: dict[str, Any] = {"config": config, "dtype": dtype, "local_files_only": True}
    if attn is not None:
        options["attn_implementation"] = attn
    if quantize is None:
        return DocVLMForConditionalGeneration.from_pretrained(directory, **options).to(device)
    if quantize == "4bit":
        options["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
    elif quantize == "8bit":
        options["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    else:
        raise EngineUnavailableError(f"--quantize {quantize}: use 4bit or 8bit")
    return DocVLMForConditionalGeneration.from_pretrained(
        directory, device_map={"": device}, **options
    )


def load_processor(directory: Path, config: DocVLMConfig, max_tiles: int = 6) -> DocVLMProcessor:
    """The checkpoint's DocVLMProcessor, or one built from its config and tokenizer files.

    GOT-OCR-2.0-hf folders carry transformers' GotOcr2 processor files; their image mean/std
    are reused so a foreign checkpoint keeps its own normalization.
    """
    saved = directory / PROCESSOR_CONFIG
    if saved.is_file() and _json(saved).get("processor_class") == DocVLMProcessor.__name__:
        processor = DocVLMProcessor.from_pretrained(directory)
        fill_image_token_ids(config, processor.tokenizer)
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
    fill_image_token_ids(config, tokenizer)
    return DocVLMProcessor.from_config(config, tokenizer, (mean, std), max_tiles=max_tiles)


def fill_image_token_ids(config: DocVLMConfig, tokenizer: PreTrainedTokenizerBase) -> None:
    """Take `<img>` / `</img>` ids from the tokenizer where the config has none (GOT-hf configs
    name only the `<imgpad>` id; transformers' GotOcr2 reads the others from the tokenizer)."""
    for attribute, token in (("image_start_token_id", IMG_START), ("image_end_token_id", IMG_END)):
        if getattr(config, attribute) is not None:
            continue
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id:
            raise CheckpointError(f"the tokenizer has no {token} token: use the checkpoint's own")
        setattr(config, attribute, token_id)


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}
