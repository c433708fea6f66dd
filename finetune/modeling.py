"""Models for training: a preset from scratch, freezing, LoRA adapters, resizing, merging.

Saved checkpoints load through the model runtime (`docvlm.model.runtime.load_runtime`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from transformers import AutoTokenizer

from docvlm.errors import CheckpointError
from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
from docvlm.model.attention import resample_rel_pos
from docvlm.model.processing_docvlm import (
    IMG_END,
    IMG_PAD,
    IMG_START,
    SAM_NORMALIZATION,
    SYSTEM_PROMPT,
    TOKENIZER_DIR,
    DocVLMProcessor,
)
from docvlm.model.runtime import load_runtime

# The LLM's linear layers; CLIP has q/k/v_proj too, so targets are matched under the LLM only.
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
FREEZABLE = {
    "vision": ("model.vision_tower.", "model.clip_tower."),
    "projector": ("model.multi_modal_projector.", "model.clip_projector."),
    "llm": ("model.language_model.", "lm_head."),
}


def new_model(
    preset: str,
    *,
    system_prompt: str = SYSTEM_PROMPT,
    anchor_format: dict[str, Any] | None = None,
    **overrides: Any,
) -> tuple[DocVLMForConditionalGeneration, DocVLMProcessor]:
    """A randomly initialized preset with the bundled byte-level tokenizer (training from zero).

    `system_prompt=""` drops GOT's system turn from every prompt the model will see;
    `anchor_format` (`docvlm.anchors.AnchorFormat` fields) is how its prompts write anchors.
    """
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR, local_files_only=True)
    ids = {
        "image_token_id": tokenizer.convert_tokens_to_ids(IMG_PAD),
        "image_start_token_id": tokenizer.convert_tokens_to_ids(IMG_START),
        "image_end_token_id": tokenizer.convert_tokens_to_ids(IMG_END),
    }
    config = DocVLMConfig.from_preset(preset, **{**ids, **overrides})
    if config.text_config.vocab_size < len(tokenizer):
        raise CheckpointError(f"preset {preset!r} has fewer token ids than the tokenizer")
    model = DocVLMForConditionalGeneration(config)
    normalization = SAM_NORMALIZATION.get(preset, SAM_NORMALIZATION["tiny"])
    processor = DocVLMProcessor.from_config(
        config,
        tokenizer,
        normalization=normalization,
        system_prompt=system_prompt,
        anchor_format=anchor_format,
    )
    return model, processor


def freeze(model: torch.nn.Module, parts: Sequence[str]) -> None:
    """Turn off gradients for the named parts: vision, projector, llm (Vary/GOT stages)."""
    unknown = set(parts) - set(FREEZABLE)
    if unknown:
        raise CheckpointError(
            f"cannot freeze {', '.join(sorted(unknown))}: choose from {', '.join(FREEZABLE)}"
        )
    prefixes = tuple(prefix for part in parts for prefix in FREEZABLE[part])
    for name, parameter in model.named_parameters():
        if name.startswith(prefixes):
            parameter.requires_grad_(False)


def add_lora(
    model: DocVLMForConditionalGeneration,
    r: int = 16,
    alpha: int = 32,
    targets: Sequence[str] = DEFAULT_LORA_TARGETS,
    dropout: float = 0.0,
) -> Any:
    """Wrap the LLM's linear layers named in `targets` with LoRA; the rest is frozen."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if getattr(model, "is_loaded_in_4bit", False):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    names = "|".join(targets)
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=rf".*language_model\..*\.({names})",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


# How `resize_vision` moves the learned position table to a new grid.
Positions = Literal["interpolate", "tile"]
POSITIONS: tuple[Positions, ...] = ("interpolate", "tile")


def resize_vision(
    model: DocVLMForConditionalGeneration,
    processor: DocVLMProcessor,
    image_size: int,
    positions: Positions = "interpolate",
) -> DocVLMProcessor:
    """Run a single-branch model's SAM view at `image_size`; return the processor to use with it.

    The learned position table is resampled bicubically (as ViTs are moved to a new resolution),
    or with `positions="tile"` repeated across a grid a whole multiple of the old one: an
    all-windowed encoder whose window is the old grid then encodes each block of the new view
    exactly as it encoded a whole old view. Global layers' rel-pos tables are resampled linearly
    (once here, not on every forward); windowed layers keep theirs, so a reader trained on small
    crops carries to whole pages at the same pixel scale.
    """
    config = model.config
    vision = config.vision_config
    if config.clip_config is not None:
        raise CheckpointError("a dual-branch model's token counts are fixed by its CLIP branch")
    if image_size % vision.patch_size:
        raise CheckpointError(f"image size {image_size} is not a multiple of the patch size")
    if positions not in POSITIONS:
        raise CheckpointError(f"unknown positions {positions!r}: use interpolate or tile")
    grid = image_size // vision.patch_size
    encoder = model.model.vision_tower
    with torch.no_grad():
        if encoder.pos_embed is not None:
            old_grid = encoder.pos_embed.shape[1]
            if positions == "tile":
                if grid % old_grid:
                    raise CheckpointError(
                        f"tiling needs a grid that is a multiple of {old_grid} patches, not {grid}"
                    )
                table = encoder.pos_embed.repeat(1, grid // old_grid, grid // old_grid, 1)
            else:
                table = encoder.pos_embed.permute(0, 3, 1, 2)
                table = F.interpolate(table, size=(grid, grid), mode="bicubic", align_corners=False)
                table = table.permute(0, 2, 3, 1)
            encoder.pos_embed = torch.nn.Parameter(table.contiguous())
        for layer in encoder.layers:
            attention = layer.attn
            if layer.window_size == 0 and attention.use_rel_pos:
                for name in ("rel_pos_h", "rel_pos_w"):
                    table = resample_rel_pos(getattr(attention, name), 2 * grid - 1)
                    setattr(attention, name, torch.nn.Parameter(table.contiguous()))
    vision.image_size = image_size
    image_processor = processor.image_processor
    normalization = (image_processor.image_mean, image_processor.image_std)
    return DocVLMProcessor.from_config(
        config,
        processor.tokenizer,
        normalization,
        max_tiles=image_processor.max_patches,
        system_prompt=processor.system_prompt,
        anchor_format=processor.anchor_format,
    )


def merge_adapter(model_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """Fold a LoRA adapter into its base model and save a plain checkpoint with the processor."""
    runtime = load_runtime(model_dir, adapter=adapter_dir, device="cpu", dtype=torch.float32)
    out_dir = Path(out_dir)
    runtime.model.merge_and_unload().save_pretrained(out_dir)
    runtime.processor.save_pretrained(out_dir)
    return out_dir
