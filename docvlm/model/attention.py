"""SAM attention with decomposed relative-position bias: a dense reference and a fused fast path.

SAM adds `q·R_h[i_h−j_h] + q·R_w[i_w−j_w]` to the attention logits. Written as a dot product,
that bias is `[rel_h(q_i), rel_w(q_i)] · [onehot(j_h), onehot(j_w)]`, so appending those columns to
the (pre-scaled) queries and keys lets one bias-free attention call (SDPA or flash) compute the
same softmax without ever building a (heads, N, N) tensor.
"""

from __future__ import annotations

import importlib.util

import torch
import torch.nn.functional as F

_HAS_FLASH_ATTN = importlib.util.find_spec("flash_attn") is not None


def resample_rel_pos(rel_pos: torch.Tensor, length: int) -> torch.Tensor:
    """A (L, C) rel-pos table linearly resampled to (length, C), as SAM does for other sizes."""
    if rel_pos.shape[0] == length:
        return rel_pos
    resampled = F.interpolate(rel_pos.T[None], size=length, mode="linear")
    return resampled[0].T


def rel_pos_table(q_size: int, k_size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """(q_size, k_size, C) embeddings for every query/key offset, resampled like SAM if needed."""
    max_rel_dist = 2 * max(q_size, k_size) - 1
    rel_pos = resample_rel_pos(rel_pos, max_rel_dist)
    q_coords = torch.arange(q_size, device=rel_pos.device)[:, None] * max(k_size / q_size, 1.0)
    k_coords = torch.arange(k_size, device=rel_pos.device)[None, :] * max(q_size / k_size, 1.0)
    offsets = (q_coords - k_coords) + (k_size - 1) * max(q_size / k_size, 1.0)
    return rel_pos[offsets.long()]


def _rel_terms(
    query: torch.Tensor, rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each query's bias towards every key row and column: (B, n, H, W, H), (B, n, H, W, W)."""
    height, width = size
    batch, heads, _, dim = query.shape
    table_h = rel_pos_table(height, height, rel_pos_h).to(query.dtype)
    table_w = rel_pos_table(width, width, rel_pos_w).to(query.dtype)
    grid_query = query.reshape(batch, heads, height, width, dim)
    rel_h = torch.einsum("bnhwc,hkc->bnhwk", grid_query, table_h)
    rel_w = torch.einsum("bnhwc,wkc->bnhwk", grid_query, table_w)
    return rel_h, rel_w


def eager_rel_pos_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    rel_pos_h: torch.Tensor,
    rel_pos_w: torch.Tensor,
    size: tuple[int, int],
    scale: float,
) -> torch.Tensor:
    """Reference path: explicit logits plus the dense (B, heads, N, N) bias, as SAM computes it."""
    batch, heads, tokens, _ = query.shape
    height, width = size
    logits = (query * scale) @ key.transpose(-2, -1)
    rel_h, rel_w = _rel_terms(query, rel_pos_h, rel_pos_w, size)
    bias = rel_h[..., :, None] + rel_w[..., None, :]  # (B, heads, H, W, H, W)
    logits = logits + bias.reshape(batch, heads, tokens, tokens)
    probs = torch.softmax(logits, dim=-1, dtype=torch.float32).to(query.dtype)
    return probs @ value


def fused_rel_pos_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    rel_pos_h: torch.Tensor,
    rel_pos_w: torch.Tensor,
    size: tuple[int, int],
    scale: float,
    use_flash_attn: bool = False,
) -> torch.Tensor:
    """Same result as the eager path from one bias-free attention call over head dim d+H+W."""
    batch, heads, tokens, head_dim = query.shape
    height, width = size
    rel_h, rel_w = _rel_terms(query, rel_pos_h, rel_pos_w, size)
    rows = torch.arange(tokens, device=query.device) // width
    cols = torch.arange(tokens, device=query.device) % width
    key_rows = F.one_hot(rows, height).to(key.dtype).expand(batch, heads, tokens, height)
    key_cols = F.one_hot(cols, width).to(key.dtype).expand(batch, heads, tokens, width)
    wide_query = torch.cat(
        [
            query * scale,
            rel_h.reshape(batch, heads, tokens, height),
            rel_w.reshape(batch, heads, tokens, width),
        ],
        dim=-1,
    )
    wide_key = torch.cat([key, key_rows, key_cols], dim=-1)
    # Fused kernels want equal q/k/v head dims that are multiples of 8; zero columns change no
    # dot product, and the padded part of the output is sliced off.
    wide_dim = -(-wide_query.shape[-1] // 8) * 8
    wide_query = F.pad(wide_query, (0, wide_dim - wide_query.shape[-1]))
    wide_key = F.pad(wide_key, (0, wide_dim - wide_key.shape[-1]))
    wide_value = F.pad(value, (0, wide_dim - head_dim))
    if use_flash_attn and _HAS_FLASH_ATTN and query.is_cuda:
        from flash_attn import flash_attn_func

        out = flash_attn_func(
            wide_query.transpose(1, 2),
            wide_key.transpose(1, 2),
            wide_value.transpose(1, 2),
            softmax_scale=1.0,
        ).transpose(1, 2)
    else:
        out = F.scaled_dot_product_attention(wide_query, wide_key, wide_value, scale=1.0)
    return out[..., :head_dim]
