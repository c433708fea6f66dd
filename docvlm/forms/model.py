"""The form model: a small transformer that tags each anchor word of a page with a schema key.

Each word enters as the mean of its hashed character n-grams (of the word and of its digit
shape, "12/03/2024" → "00/00/0000"), simple shape features and its box on the 0–1000 grid.
Attention carries per-head biases learned from the relative x and y distance between two
words and from whether they share a line or a segment: what tells a value from its label is
where it sits beside it, and these biases let a few layers learn that from a few hundred pages.
The output is a BIO tag over the schema keys the model was trained on.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from docvlm.anchors import CHECKED, UNCHECKED, AnchorWord

NGRAM_SIZES = (1, 2, 3, 4)
MAX_NGRAMS = 48  # per word: long words keep their first n-grams
SHAPE_FEATURES = 12
DISTANCE_BUCKETS = 16  # per sign: log-spaced relative distances on the 0–1000 grid
POSITION_BUCKETS = 40


@dataclass
class FormModelConfig:
    keys: list[str] = field(default_factory=list)  # schema keys, in tag order
    hash_buckets: int = 1 << 15
    dim: int = 128
    layers: int = 4
    heads: int = 4
    ffn: int = 256
    dropout: float = 0.1
    max_words: int = 256  # words attended together: longer pages are read in windows

    @property
    def num_tags(self) -> int:
        return 1 + 2 * len(self.keys)  # O, then B-key and I-key for each key

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PageFeatures:
    """Model inputs of one page: (N, MAX_NGRAMS) n-gram ids (-1 pads), (N, SHAPE_FEATURES)
    shapes, (N, 4) grid boxes, (N,) line and segment ids."""

    ngrams: torch.Tensor
    shapes: torch.Tensor
    boxes: torch.Tensor
    lines: torch.Tensor
    segments: torch.Tensor

    def window(self, start: int, end: int) -> PageFeatures:
        """The features of words `start` to `end` (exclusive)."""
        return PageFeatures(
            self.ngrams[start:end],
            self.shapes[start:end],
            self.boxes[start:end],
            self.lines[start:end],
            self.segments[start:end],
        )


def page_features(words: list[AnchorWord], config: FormModelConfig) -> PageFeatures:
    """Inputs for every word of a page."""
    ngrams = torch.full((len(words), MAX_NGRAMS), -1, dtype=torch.long)
    for row, word in enumerate(words):
        ids = word_ngrams(word.text, config.hash_buckets)[:MAX_NGRAMS]
        ngrams[row, : len(ids)] = torch.tensor(ids)
    return PageFeatures(
        ngrams=ngrams,
        shapes=torch.tensor([_shape(w) for w in words], dtype=torch.float32).reshape(
            -1, SHAPE_FEATURES
        ),
        boxes=torch.tensor([w.grid for w in words], dtype=torch.float32).reshape(-1, 4),
        lines=torch.tensor([w.line for w in words], dtype=torch.long),
        segments=torch.tensor([w.segment for w in words], dtype=torch.long),
    )


def windows(count: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of the windows a page of `count` words is read in: `size` words each,
    overlapping by half, so every word sits away from a window's edge in one of them."""
    if count <= size:
        return [(0, count)]
    stride = size // 2
    starts = list(range(0, count - size, stride)) + [count - size]
    return [(start, start + size) for start in starts]


def word_ngrams(text: str, buckets: int) -> list[int]:
    """Hashed ids of the word itself, its digit shape and their character n-grams."""
    lowered = text.lower()
    shape = "".join("0" if c.isdigit() else c for c in lowered)
    pieces = [f"w:{lowered}", f"s:{shape}"]
    for form, tag in ((f"<{lowered}>", "c"), (f"<{shape}>", "d")):
        for n in NGRAM_SIZES:
            pieces += [f"{tag}{n}:{form[i : i + n]}" for i in range(len(form) - n + 1)]
    return [zlib.crc32(piece.encode("utf-8")) % buckets for piece in dict.fromkeys(pieces)]


def _shape(word: AnchorWord) -> list[float]:
    text = word.text
    size = max(len(text), 1)
    return [
        float(text == CHECKED),
        float(text == UNCHECKED),
        float(text.endswith(":")),
        sum(c.isdigit() for c in text) / size,
        sum(c.isupper() for c in text) / size,
        sum(c.isalpha() for c in text) / size,
        float(text[:1].isupper()),
        min(len(text), 20) / 20,
        float("@" in text),
        float(any(c in "$€£¥" for c in text)),
        float(any(c in ".,/-" for c in text)),
        word.confidence,
    ]


class RelativeBias(nn.Module):
    """(B, heads, N, N) attention bias from relative x / y distance, same line, same segment.

    The four learned terms add up; they are summed into one table over every combination
    (33·33·2·2 rows) and read with a single gather, since gathering (and, backward,
    scattering) B·N² entries four times was most of a training step on long pages.
    """

    def __init__(self, heads: int) -> None:
        super().__init__()
        self.dx = nn.Embedding(2 * DISTANCE_BUCKETS + 1, heads)
        self.dy = nn.Embedding(2 * DISTANCE_BUCKETS + 1, heads)
        self.same_line = nn.Embedding(2, heads)
        self.same_segment = nn.Embedding(2, heads)

    def forward(
        self, boxes: torch.Tensor, lines: torch.Tensor, segments: torch.Tensor
    ) -> torch.Tensor:
        center_x = (boxes[..., 0] + boxes[..., 2]) / 2  # (B, N)
        center_y = (boxes[..., 1] + boxes[..., 3]) / 2
        dx = _bucket(center_x[:, None, :] - center_x[:, :, None])  # (B, N, N): key minus query
        dy = _bucket(center_y[:, None, :] - center_y[:, :, None])
        line = lines[:, None, :] == lines[:, :, None]
        segment = segments[:, None, :] == segments[:, :, None]
        index = ((dx * (2 * DISTANCE_BUCKETS + 1) + dy) * 2 + line) * 2 + segment
        table = (
            self.dx.weight[:, None, None, None]
            + self.dy.weight[None, :, None, None]
            + self.same_line.weight[None, None, :, None]
            + self.same_segment.weight[None, None, None, :]
        ).flatten(0, 3)  # (33·33·2·2, heads)
        bias = table.t()[:, index]  # (heads, B, N, N)
        return bias.transpose(0, 1)  # (B, heads, N, N)


def _bucket(distance: torch.Tensor) -> torch.Tensor:
    """Signed log buckets: 0 for |d| < 2 grid units, then doubling ranges up to the page."""
    magnitude = torch.log2(1 + distance.abs() / 2) * (DISTANCE_BUCKETS / math.log2(501))
    index = magnitude.floor().clamp(max=DISTANCE_BUCKETS).long()
    return DISTANCE_BUCKETS + torch.sign(distance).long() * index


class Layer(nn.Module):
    def __init__(self, config: FormModelConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.norm1 = nn.LayerNorm(config.dim)
        self.qkv = nn.Linear(config.dim, 3 * config.dim)
        self.out = nn.Linear(config.dim, config.dim)
        self.norm2 = nn.LayerNorm(config.dim)
        self.ffn = nn.Sequential(
            nn.Linear(config.dim, config.ffn), nn.GELU(), nn.Linear(config.ffn, config.dim)
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, dim = hidden.shape
        q, k, v = self.qkv(self.norm1(hidden)).chunk(3, dim=-1)
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # (B, H, N, d/H)
        attended = attended.transpose(1, 2).reshape(batch, length, dim)
        hidden = hidden + self.dropout(self.out(attended))
        return hidden + self.dropout(self.ffn(self.norm2(hidden)))


class FormModel(nn.Module):
    """Anchor words of a batch of pages → (B, N, num_tags) tag logits."""

    def __init__(self, config: FormModelConfig) -> None:
        super().__init__()
        self.config = config
        self.ngrams = nn.EmbeddingBag(config.hash_buckets, config.dim, mode="sum", sparse=True)
        self.shape = nn.Linear(SHAPE_FEATURES, config.dim)
        self.box = nn.Linear(8, config.dim)
        self.x_position = nn.Embedding(POSITION_BUCKETS, config.dim)
        self.y_position = nn.Embedding(POSITION_BUCKETS, config.dim)
        self.bias = RelativeBias(config.heads)
        self.layers = nn.ModuleList(Layer(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.dim)
        self.tags = nn.Linear(config.dim, config.num_tags)

    def forward(
        self,
        ngrams: torch.Tensor,
        shapes: torch.Tensor,
        boxes: torch.Tensor,
        lines: torch.Tensor,
        segments: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        batch, length, _ = ngrams.shape
        flat = ngrams.view(batch * length, -1)
        weights = (flat >= 0).float()
        # The mean over each word's valid ids only: pads point at bucket 0 with weight 0.
        summed = self.ngrams(flat.clamp(min=0), per_sample_weights=weights)
        vectors = summed / weights.sum(-1, keepdim=True).clamp(min=1)  # (B·N, dim)
        hidden = vectors.view(batch, length, -1) + self.shape(shapes) + self._position(boxes / 1000)
        bias = self.bias(boxes, lines, segments)
        # A finite floor rather than -inf: SDPA then skips its all-masked-row checks.
        bias = bias.masked_fill(~mask[:, None, None, :], -1e9)
        for layer in self.layers:
            hidden = layer(hidden, bias)
        return self.tags(self.norm(hidden))  # (B, N, num_tags)

    def _position(self, scaled: torch.Tensor) -> torch.Tensor:
        """(B, N, dim) from boxes on a 0–1 grid: the box, its centre and size, and buckets."""
        geometry = torch.cat(
            [scaled, (scaled[..., :2] + scaled[..., 2:]) / 2, scaled[..., 2:] - scaled[..., :2]],
            dim=-1,
        )
        x_bucket = (scaled[..., 0] * POSITION_BUCKETS).long().clamp(0, POSITION_BUCKETS - 1)
        y_bucket = (scaled[..., 1] * POSITION_BUCKETS).long().clamp(0, POSITION_BUCKETS - 1)
        return self.box(geometry) + self.x_position(x_bucket) + self.y_position(y_bucket)
