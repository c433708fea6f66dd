"""Auxiliary glyph loss: each visual token names the characters printed in its cell.

A decoder trained from random init on text can lower its loss from the targets' prior long
before it reads the pixels, and it cannot learn where to look until the visual tokens say
what is there. Synthetic pages know every character's box, so the encoder gets a dense,
direct signal instead: the token at grid cell (row, col) predicts, slot by slot, the
characters whose centres fall in its cell in reading order, or "empty" (the labels are built
by `data.glyph_slot_labels`). The head is thrown away after training; inference never sees it.
"""

from __future__ import annotations

import torch
from torch import nn

from .data import IGNORE_INDEX


class GlyphHead(nn.Module):
    """Visual tokens (…, hidden) → per-slot logits (…, slots, vocab) through the LM head."""

    def __init__(self, hidden_size: int, slots: int) -> None:
        super().__init__()
        self.slots = slots
        self.expand = nn.Linear(hidden_size, slots * hidden_size)

    def logits(self, image_features: torch.Tensor, lm_head: nn.Module) -> torch.Tensor:
        slot_states = self.expand(image_features).unflatten(-1, (self.slots, -1))
        return lm_head(slot_states)

    def forward(
        self, image_features: torch.Tensor, lm_head: nn.Module, labels: torch.Tensor
    ) -> torch.Tensor:
        """Mean cross-entropy over labelled slots; `labels` is (views, tokens, slots)."""
        logits = self.logits(image_features, lm_head)
        return nn.functional.cross_entropy(
            logits.flatten(0, -2).float(), labels.flatten(), ignore_index=IGNORE_INDEX
        )
