"""What a docvlm model is: SAM-style high-res branch, optional CLIP branch, causal-LM decoder."""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import CLIPVisionConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec
from transformers.models.auto import AutoConfig

# Token ids of the Qwen tokenizer used by GOT-OCR2.0 and Vary: `<img>`, `</img>`, `<imgpad>`.
QWEN_IMAGE_START_ID = 151857
QWEN_IMAGE_END_ID = 151858
QWEN_IMAGE_PAD_ID = 151859


class DocVLMVisionConfig(PreTrainedConfig):
    """SAM ViTDet high-res branch; field names match transformers' GotOcr2VisionConfig."""

    model_type: ClassVar[str] = "docvlm_sam"
    base_config_key: ClassVar[str] = "vision_config"

    hidden_size: int = 768
    output_channels: int = 256
    # Output channels of the second stride-2 conv (Vary's `net_3`); 1024 in every published model.
    compressed_channels: int = 1024
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    num_channels: int = 3
    image_size: int = 1024
    patch_size: int = 16
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-6
    attention_dropout: float = 0.0
    initializer_range: float = 1e-10
    qkv_bias: bool = True
    use_abs_pos: bool = True
    use_rel_pos: bool = True
    window_size: int = 14
    global_attn_indexes: list[int] | tuple[int, ...] = (2, 5, 8, 11)
    mlp_dim: int = 3072

    @property
    def grid_size(self) -> int:
        """Patches per side after the patch embedding (64 at 1024 px)."""
        return self.image_size // self.patch_size

    @property
    def num_image_tokens(self) -> int:
        """Tokens per view after the two stride-2 convs (256 at 1024 px)."""
        side = -(-self.grid_size // 4)  # each 3×3 stride-2 conv (padding 1) halves, rounding up
        return side * side


_QWEN2_GOT = {
    "vocab_size": 151860,
    "hidden_size": 1024,
    "intermediate_size": 2816,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "hidden_act": "silu",
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
    "rope_theta": 1000000.0,
}


class DocVLMConfig(PreTrainedConfig):
    """Vary-style model: SAM `vision_config`, optional `clip_config` (None: GOT), `text_config`."""

    model_type: ClassVar[str] = "docvlm"
    sub_configs_defaults: ClassVar[dict] = {
        "vision_config": DocVLMVisionConfig,
        "clip_config": SubConfigSpec(config_class=CLIPVisionConfig, optional=True),
        "text_config": SubConfigSpec(
            config_class=AutoConfig, model_type="qwen2", init_kwargs=dict(_QWEN2_GOT)
        ),
    }

    vision_config: dict | PreTrainedConfig | None = None
    clip_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    image_token_id: int = QWEN_IMAGE_PAD_ID
    # None: read from the tokenizer at load time (GOT-hf configs name only the `<imgpad>` id).
    image_start_token_id: int | None = QWEN_IMAGE_START_ID
    image_end_token_id: int | None = QWEN_IMAGE_END_ID
    # Vary reads CLIP's penultimate layer (hidden_states[-2]) and drops the CLS token.
    clip_feature_layer: int = -2
    tie_word_embeddings: bool = True

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.tie_word_embeddings = bool(getattr(self.text_config, "tie_word_embeddings", False))
        if self.clip_config is not None:
            clip_tokens = (self.clip_config.image_size // self.clip_config.patch_size) ** 2
            if clip_tokens != self.vision_config.num_image_tokens:
                raise ValueError(
                    f"CLIP gives {clip_tokens} tokens per view but SAM gives "
                    f"{self.vision_config.num_image_tokens}; pick image sizes that agree"
                )
            if self.text_config.hidden_size % 2:
                raise ValueError("dual-branch fusion needs an even text hidden size")

    @property
    def num_image_tokens(self) -> int:
        """`<imgpad>` tokens per view (256 for all published presets)."""
        return self.vision_config.num_image_tokens

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs):
        """Read config.json; a transformers GOT-OCR-2.0-hf config is translated on the fly."""
        config_dict, kwargs = super().get_config_dict(pretrained_model_name_or_path, **kwargs)
        if config_dict.get("model_type") == "got_ocr2":
            config_dict = from_got_ocr2_dict(config_dict)
        return config_dict, kwargs

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> DocVLMConfig:
        """Config with the published shapes: "tiny", "vary-toy", "vary-base" or "got-ocr2"."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name](), **overrides})


def from_got_ocr2_dict(got: dict) -> dict:
    """DocVLMConfig kwargs for a transformers GotOcr2Config dict (same sub-config field names)."""
    vision = {k: v for k, v in (got.get("vision_config") or {}).items() if k != "model_type"}
    vision["compressed_channels"] = got.get("text_config", {}).get("hidden_size", 1024)
    kept = ("text_config", "transformers_version", "dtype", "torch_dtype")
    out = {k: got[k] for k in kept if k in got}
    out.update(
        vision_config=vision,
        image_token_id=got.get("image_token_index", QWEN_IMAGE_PAD_ID),
        image_start_token_id=None,
        image_end_token_id=None,
        architectures=["DocVLMForConditionalGeneration"],
    )
    return out


def _clip_vit_l14_224() -> dict:
    return {
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "image_size": 224,
        "patch_size": 14,
        "projection_dim": 768,
        "hidden_act": "quick_gelu",
    }


def _qwen_v1(hidden: int, layers: int, heads: int, ffn: int) -> dict:
    """Qwen-v1 (Qwen-1.8B / Qwen-7B) expressed as a Qwen2 config: fused qkv split on conversion."""
    return {
        "model_type": "qwen2",
        "vocab_size": 151936,
        "hidden_size": hidden,
        "intermediate_size": ffn,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "hidden_act": "silu",
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": False,
        "rope_theta": 10000.0,
    }


def _tiny() -> dict:
    # 256 px SAM → 16×16 patches → 4×4 = 16 tokens; CLIP 56 px / patch 14 → 16 tokens.
    # The 16-patch grid is not a multiple of the window (14), so padded windows are exercised.
    return {
        "vision_config": {
            "hidden_size": 32,
            "output_channels": 16,
            "compressed_channels": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 256,
            "mlp_dim": 64,
            "global_attn_indexes": [1],
            "initializer_range": 0.02,
        },
        "clip_config": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 3,
            "num_attention_heads": 2,
            "image_size": 56,
            "patch_size": 14,
            "projection_dim": 32,
        },
        "text_config": {
            "model_type": "qwen2",
            "vocab_size": 1024,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 2048,
            "tie_word_embeddings": True,
        },
        # <img>, </img>, <imgpad> as in the committed tiny tokenizer (docvlm/model/tokenizer).
        "image_start_token_id": 259,
        "image_end_token_id": 260,
        "image_token_id": 261,
    }


PRESETS = {
    "tiny": _tiny,
    # GOT's single-branch shape at test size: the one tiny model `resize_vision` can move.
    "tiny-got": lambda: {**_tiny(), "clip_config": None},
    "got-ocr2": lambda: {"text_config": {"model_type": "qwen2", **_QWEN2_GOT}},
    "vary-toy": lambda: {
        "clip_config": _clip_vit_l14_224(),
        "text_config": _qwen_v1(hidden=2048, layers=24, heads=16, ffn=5504),
    },
    "vary-base": lambda: {
        "clip_config": _clip_vit_l14_224(),
        "text_config": _qwen_v1(hidden=4096, layers=32, heads=32, ffn=11008),
    },
}
