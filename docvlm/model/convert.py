"""Official GOT-OCR2.0 / Vary / Vary-toy checkpoints → a docvlm folder (model + processor)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from safetensors import safe_open
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from docvlm.errors import CheckpointError

from .configuration_docvlm import DocVLMConfig
from .modeling_docvlm import DocVLMForConditionalGeneration
from .processing_docvlm import SAM_NORMALIZATION, DocVLMProcessor
from .runtime import fill_image_token_ids, resolve_checkpoint

SOURCES = {"got": "got-ocr2", "vary": "vary-base", "vary-toy": "vary-toy"}

# Original SAM module names (Vary's sam.py) → docvlm / transformers GotOcr2 names.
_SAM_RULES = [
    (r"patch_embed\.proj\.", "patch_embed.projection."),
    (r"blocks\.(\d+)\.norm(\d)\.", r"layers.\1.layer_norm\2."),
    (r"blocks\.(\d+)\.", r"layers.\1."),
    (r"neck\.0\.", "neck.conv1."),
    (r"neck\.1\.", "neck.layer_norm1."),
    (r"neck\.2\.", "neck.conv2."),
    (r"neck\.3\.", "neck.layer_norm2."),
]
_QWEN_V1_RULES = [
    (r"ln_1\.", "input_layernorm."),
    (r"ln_2\.", "post_attention_layernorm."),
    (r"attn\.c_proj\.", "self_attn.o_proj."),
    # Qwen-v1's MLP is c_proj(w1(x) * silu(w2(x))): w2 is the gate, w1 the up projection.
    (r"mlp\.w1\.", "mlp.up_proj."),
    (r"mlp\.w2\.", "mlp.gate_proj."),
    (r"mlp\.c_proj\.", "mlp.down_proj."),
]


def _sam_key(rest: str) -> str:
    """Key inside `vision_tower_high.` → docvlm key."""
    if match := re.match(r"net_([23])\.(.*)", rest):
        return f"model.multi_modal_projector.conv_upsampler{int(match[1]) - 1}.{match[2]}"
    for pattern, replacement in _SAM_RULES:
        rest = re.sub(f"^{pattern}", replacement, rest)
    return f"model.vision_tower.{rest}"


def _got_key(key: str) -> str | None:
    """Original GOT-OCR2.0 key → docvlm key (None: drop)."""
    if key.startswith("model.vision_tower_high."):
        return _sam_key(key.removeprefix("model.vision_tower_high."))
    if key.startswith("model.mm_projector_vary."):
        return key.replace(
            "model.mm_projector_vary.", "model.multi_modal_projector.multimodal_projector."
        )
    if key.startswith("model."):
        return "model.language_model." + key.removeprefix("model.")
    return key


def _vary_key(key: str) -> str | None:
    """Vary / Vary-toy key → docvlm key; fused `c_attn` is split later (None: drop)."""
    if key.startswith("transformer.vision_tower_high."):
        return _sam_key(key.removeprefix("transformer.vision_tower_high."))
    if key.startswith("transformer.vision_tower."):
        return "model.clip_tower." + key.removeprefix("transformer.vision_tower.")
    if key.startswith("transformer.mm_projector_vary."):
        return key.replace(
            "transformer.mm_projector_vary.", "model.multi_modal_projector.multimodal_projector."
        )
    if key.startswith("transformer.mm_projector."):
        return key.replace("transformer.mm_projector.", "model.clip_projector.")
    if key.startswith("transformer.wte."):
        return key.replace("transformer.wte.", "model.language_model.embed_tokens.")
    if key.startswith("transformer.ln_f."):
        return key.replace("transformer.ln_f.", "model.language_model.norm.")
    if match := re.match(r"transformer\.h\.(\d+)\.(.*)", key):
        rest = match[2]
        for pattern, replacement in _QWEN_V1_RULES:
            rest = re.sub(f"^{pattern}", replacement, rest)
        return f"model.language_model.layers.{match[1]}.{rest}"
    return key


def _read_shards(src: Path) -> Iterator[tuple[str, torch.Tensor]]:
    """(key, tensor) from every safetensors shard, else every pytorch .bin shard."""
    shards = sorted(src.glob("*.safetensors"))
    if shards:
        for shard in shards:
            with safe_open(str(shard), framework="pt") as handle:
                for key in handle.keys():  # noqa: SIM118 (safe_open is not a dict)
                    yield key, handle.get_tensor(key)
        return
    shards = sorted(src.glob("pytorch_model*.bin")) or sorted(src.glob("*.bin"))
    if not shards:
        raise CheckpointError(f"no *.safetensors or pytorch_model*.bin files in {src}")
    for shard in shards:
        yield from torch.load(shard, map_location="cpu", weights_only=True).items()


def _convert_state_dict(src: Path, rename: Callable[[str], str | None]) -> dict[str, torch.Tensor]:
    state_dict = {}
    for key, tensor in _read_shards(src):
        # Buffers recomputed at load time (rotary tables, CLIP position ids) are not weights.
        if key.endswith(("rotary_emb.inv_freq", "position_ids")):
            continue
        new_key = rename(key)
        if new_key is None:
            continue
        if ".attn.c_attn." in new_key:
            prefix, kind = new_key.split(".attn.c_attn.")
            parts = tensor.chunk(3, dim=0)  # Qwen-v1 stacks [q; k; v] along the output axis
            for name, part in zip(("q_proj", "k_proj", "v_proj"), parts, strict=True):
                state_dict[f"{prefix}.self_attn.{name}.{kind}"] = part.contiguous()
        else:
            state_dict[new_key] = tensor
    return state_dict


def _text_overrides(src: Path, source: str) -> dict:
    """Decoder shapes from the source config.json (Qwen2 fields for GOT, Qwen-v1 for Vary)."""
    config_path = src / "config.json"
    if not config_path.exists():
        return {}
    raw = json.loads(config_path.read_text())
    names = {
        "vocab_size": "vocab_size",
        "hidden_size": "hidden_size",
        "num_hidden_layers": "num_hidden_layers",
        "num_attention_heads": "num_attention_heads",
        "max_position_embeddings": "max_position_embeddings",
        "tie_word_embeddings": "tie_word_embeddings",
    }
    if source == "got":
        names.update(
            intermediate_size="intermediate_size",
            num_key_value_heads="num_key_value_heads",
            rms_norm_eps="rms_norm_eps",
            rope_theta="rope_theta",
        )
    else:
        names.update(layer_norm_epsilon="rms_norm_eps", rotary_emb_base="rope_theta")
    text = {target: raw[name] for name, target in names.items() if name in raw}
    if source != "got":
        # Qwen-v1 stores twice the MLP width (w1 and w2 each get half).
        if "intermediate_size" in raw:
            text["intermediate_size"] = raw["intermediate_size"] // 2
        if "num_attention_heads" in text:
            text["num_key_value_heads"] = text["num_attention_heads"]
    return text


def _check(state_dict: dict[str, torch.Tensor], model: DocVLMForConditionalGeneration) -> None:
    expected = {key: tensor.shape for key, tensor in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        expected.pop("lm_head.weight", None)
        state_dict.pop("lm_head.weight", None)
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing:
        raise CheckpointError(
            f"checkpoint lacks {len(missing)} weight(s), e.g. {missing[0]!r}: "
            "check --from matches the checkpoint"
        )
    if unexpected:
        raise CheckpointError(
            f"checkpoint has {len(unexpected)} unknown weight(s), e.g. {unexpected[0]!r}: "
            "check --from matches the checkpoint"
        )
    for key, shape in expected.items():
        if state_dict[key].shape != shape:
            raise CheckpointError(
                f"shape mismatch for {key!r}: checkpoint {tuple(state_dict[key].shape)}, "
                f"model expects {tuple(shape)}"
            )


def convert_checkpoint(
    src_dir: str | Path,
    dst_dir: str | Path,
    source: str = "got",
    config: DocVLMConfig | None = None,
    tokenizer: str | Path | None = None,
) -> Path:
    """Convert an original GOT / Vary / Vary-toy directory into a docvlm one; returns dst_dir.

    The folder gets the model, the tokenizer files and a DocVLMProcessor (the source's SAM
    normalization), so `parse`, `finetune` and `eval` load it as it is. `tokenizer` (a folder or
    hub id with a transformers tokenizer) stands in for a source whose tokenizer needs remote code.
    """
    if source not in SOURCES:
        raise CheckpointError(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
    src, dst = Path(src_dir), Path(dst_dir)
    if not src.is_dir():
        raise CheckpointError(f"checkpoint directory {src} does not exist")
    if config is None:
        preset = DocVLMConfig.from_preset(SOURCES[source]).to_dict()
        preset["text_config"].update(_text_overrides(src, source))
        config = DocVLMConfig(**preset)
    tokenizer_files = resolve_checkpoint(tokenizer, "tokenizer") if tokenizer is not None else src
    text_tokenizer = _load_tokenizer(tokenizer_files)
    fill_image_token_ids(config, text_tokenizer)
    processor = DocVLMProcessor.from_config(
        config, text_tokenizer, normalization=SAM_NORMALIZATION[SOURCES[source]]
    )
    rename = _got_key if source == "got" else _vary_key
    state_dict = _convert_state_dict(src, rename)
    with torch.device("meta"):
        model = DocVLMForConditionalGeneration(config)
    _check(state_dict, model)
    model.load_state_dict(state_dict, strict=False, assign=True)
    if config.tie_word_embeddings:
        model.tie_weights()
    model.config.dtype = next(iter(state_dict.values())).dtype
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dst)
    processor.save_pretrained(dst)
    return dst


def _load_tokenizer(directory: Path) -> PreTrainedTokenizerBase:
    try:
        return AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except (OSError, ValueError, TypeError) as error:
        raise CheckpointError(
            f"{directory} has no tokenizer transformers can load without remote code "
            f"({str(error).splitlines()[0] if str(error) else type(error).__name__}): pass "
            "--tokenizer with one for this model (GOT: stepfun-ai/GOT-OCR-2.0-hf)"
        ) from None
