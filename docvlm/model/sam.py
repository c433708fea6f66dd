"""docvlm's SAM ViTDet branch: patch embed → windowed/global blocks → neck → two stride-2 convs.

Parameter names follow transformers' GotOcr2 vision encoder and projector, so GOT-OCR-2.0-hf
weights load with no renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN

from .attention import eager_rel_pos_attention, fused_rel_pos_attention
from .configuration_docvlm import DocVLMVisionConfig


class SamAttention(nn.Module):
    """Multi-head attention with decomposed rel-pos bias; the kernel follows the config."""

    def __init__(self, config: DocVLMVisionConfig, window_size: int):
        super().__init__()
        self.config = config
        side = window_size if window_size > 0 else config.grid_size
        self.num_heads = config.num_attention_heads
        head_dim = config.hidden_size // config.num_attention_heads
        self.scale = head_dim**-0.5
        self.qkv = nn.Linear(config.hidden_size, config.hidden_size * 3, bias=config.qkv_bias)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.use_rel_pos = config.use_rel_pos
        if self.use_rel_pos:
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * side - 1, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * side - 1, head_dim))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = hidden_states.shape
        qkv = self.qkv(hidden_states).reshape(batch, height * width, 3, self.num_heads, -1)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, N, d)
        implementation = self.config._attn_implementation or "eager"
        if not self.use_rel_pos:
            out = F.scaled_dot_product_attention(query, key, value, scale=self.scale)
        elif implementation == "eager":
            out = eager_rel_pos_attention(
                query, key, value, self.rel_pos_h, self.rel_pos_w, (height, width), self.scale
            )
        else:
            out = fused_rel_pos_attention(
                query,
                key,
                value,
                self.rel_pos_h,
                self.rel_pos_w,
                (height, width),
                self.scale,
                use_flash_attn=implementation == "flash_attention_2",
            )
        out = out.permute(0, 2, 1, 3).reshape(batch, height, width, -1)
        return self.proj(out)


class SamMLP(nn.Module):
    def __init__(self, config: DocVLMVisionConfig):
        super().__init__()
        self.lin1 = nn.Linear(config.hidden_size, config.mlp_dim)
        self.lin2 = nn.Linear(config.mlp_dim, config.hidden_size)
        self.act = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.lin2(self.act(self.lin1(hidden_states)))


def window_partition(hidden_states: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) → (B·windows, window, window, C), zero-padding H and W up to the window."""
    batch, height, width, channels = hidden_states.shape
    pad_h, pad_w = -height % window, -width % window
    hidden_states = F.pad(hidden_states, (0, 0, 0, pad_w, 0, pad_h))
    rows, cols = (height + pad_h) // window, (width + pad_w) // window
    hidden_states = hidden_states.reshape(batch, rows, window, cols, window, channels)
    return hidden_states.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, channels)


def window_unpartition(windows: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """Inverse of `window_partition`, dropping the padding."""
    rows, cols = -(-height // window), -(-width // window)
    batch = windows.shape[0] // (rows * cols)
    hidden_states = windows.reshape(batch, rows, cols, window, window, -1)
    hidden_states = hidden_states.permute(0, 1, 3, 2, 4, 5).reshape(
        batch, rows * window, cols * window, -1
    )
    return hidden_states[:, :height, :width].contiguous()


class SamLayer(nn.Module):
    """Pre-norm ViT block; `window_size` 0 means global attention."""

    def __init__(self, config: DocVLMVisionConfig, window_size: int):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attn = SamAttention(config, window_size)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = SamMLP(config)
        self.window_size = window_size

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        normed = self.layer_norm1(hidden_states)
        if self.window_size > 0:
            height, width = normed.shape[1:3]
            windows = window_partition(normed, self.window_size)
            attended = window_unpartition(self.attn(windows), self.window_size, height, width)
        else:
            attended = self.attn(normed)
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.layer_norm2(hidden_states))


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of a (B, C, H, W) map."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return super().forward(features.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SamNeck(nn.Module):
    def __init__(self, config: DocVLMVisionConfig):
        super().__init__()
        channels = config.output_channels
        self.conv1 = nn.Conv2d(config.hidden_size, channels, kernel_size=1, bias=False)
        self.layer_norm1 = LayerNorm2d(channels, eps=1e-6)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1, bias=False)
        self.layer_norm2 = LayerNorm2d(channels, eps=1e-6)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.layer_norm1(self.conv1(hidden_states.permute(0, 3, 1, 2)))
        return self.layer_norm2(self.conv2(hidden_states))


class SamPatchEmbeddings(nn.Module):
    def __init__(self, config: DocVLMVisionConfig):
        super().__init__()
        self.projection = nn.Conv2d(
            config.num_channels,
            config.hidden_size,
            kernel_size=config.patch_size,
            stride=config.patch_size,
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projection(pixel_values).permute(0, 2, 3, 1)  # (B, H, W, C)


class SamEncoder(PreTrainedModel):
    """ViTDet backbone + neck: (B, 3, S, S) → (B, 256, S/16, S/16)."""

    config_class = DocVLMVisionConfig
    config: DocVLMVisionConfig
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = False
    _supports_sdpa = True
    _supports_flash_attn = True
    _no_split_modules = ["SamLayer"]
    # SamAttention reads `config._attn_implementation` on every call, so switching it at runtime
    # works; transformers' source heuristic cannot see that.
    _can_set_attn_implementation_cached_value = True

    def __init__(self, config: DocVLMVisionConfig):
        super().__init__(config)
        self.patch_embed = SamPatchEmbeddings(config)
        self.pos_embed = None
        if config.use_abs_pos:
            grid = config.grid_size
            self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, config.hidden_size))
        self.layers = nn.ModuleList(
            SamLayer(config, 0 if i in config.global_attn_indexes else config.window_size)
            for i in range(config.num_hidden_layers)
        )
        self.neck = SamNeck(config)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        # SAM starts its position tables at zero.
        if isinstance(module, SamAttention) and module.use_rel_pos:
            init.zeros_(module.rel_pos_h)
            init.zeros_(module.rel_pos_w)
        elif isinstance(module, SamEncoder) and module.pos_embed is not None:
            init.zeros_(module.pos_embed)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        hidden_states = self.patch_embed(pixel_values)  # (B, 64, 64, 768) at 1024 px
        if self.pos_embed is not None:
            hidden_states = hidden_states + self.pos_embed
        for layer in self.layers:
            hidden_states = layer(hidden_states)
        return self.neck(hidden_states)  # (B, 256, 64, 64)


class SamProjector(nn.Module):
    """Vary's `net_2`/`net_3` stride-2 convs, then the branch's own Linear into the LLM."""

    def __init__(self, config: DocVLMVisionConfig, out_features: int):
        super().__init__()
        channels = config.output_channels
        self.conv_upsampler1 = nn.Conv2d(
            channels, channels * 2, kernel_size=3, stride=2, padding=1, bias=False
        )
        self.conv_upsampler2 = nn.Conv2d(
            channels * 2, config.compressed_channels, kernel_size=3, stride=2, padding=1, bias=False
        )
        self.multimodal_projector = nn.Linear(config.compressed_channels, out_features)

    def compress(self, neck_features: torch.Tensor) -> torch.Tensor:
        """(B, 256, 64, 64) → (B, 256 tokens, 1024) before the Linear."""
        hidden_states = self.conv_upsampler2(self.conv_upsampler1(neck_features))
        return hidden_states.flatten(2).transpose(1, 2)

    def forward(self, neck_features: torch.Tensor) -> torch.Tensor:
        return self.multimodal_projector(self.compress(neck_features))
