"""The form model's inputs and forward pass: relative biases, and long pages read in windows."""

from __future__ import annotations

import torch

from docvlm.anchors import AnchorWord
from docvlm.forms.model import FormModel, FormModelConfig, RelativeBias, _bucket, windows
from docvlm.forms.tagger import FormTagger


def _page(count: int) -> list[AnchorWord]:
    """`count` words, eight to a line, down a page."""
    words = []
    for index in range(count):
        line, column = divmod(index, 8)
        x, y = 60 + 110 * column, 20 + 6 * line
        box = (x, y, x + 90, y + 5)
        words.append(AnchorWord(f"w{index % 37}", box, box, line, 2 * line + column // 4))
    return words


def test_relative_bias_is_the_sum_of_its_four_terms() -> None:
    torch.manual_seed(0)
    bias = RelativeBias(heads=3)
    boxes = torch.rand(2, 30, 4) * 1000
    lines, segments = torch.randint(0, 4, (2, 30)), torch.randint(0, 9, (2, 30))
    center_x, center_y = (boxes[..., 0] + boxes[..., 2]) / 2, (boxes[..., 1] + boxes[..., 3]) / 2
    expected = (
        bias.dx(_bucket(center_x[:, None, :] - center_x[:, :, None]))
        + bias.dy(_bucket(center_y[:, None, :] - center_y[:, :, None]))
        + bias.same_line((lines[:, None, :] == lines[:, :, None]).long())
        + bias.same_segment((segments[:, None, :] == segments[:, :, None]).long())
    ).permute(0, 3, 1, 2)
    torch.testing.assert_close(bias(boxes, lines, segments), expected)


def test_windows_cover_every_word_with_half_overlaps() -> None:
    assert windows(40, 64) == [(0, 40)]
    spans = windows(300, 64)
    assert spans[0] == (0, 64) and spans[-1] == (236, 300)
    assert all(end - start == 64 for start, end in spans)
    assert all(b[0] - a[0] <= 32 for a, b in zip(spans, spans[1:], strict=False))


def test_a_long_page_is_tagged_word_for_word_from_its_windows() -> None:
    torch.manual_seed(0)
    config = FormModelConfig(keys=["/a", "/b"], hash_buckets=512, dim=32, ffn=64, max_words=64)
    tagger = FormTagger(FormModel(config))
    page = _page(200)
    probabilities = tagger.tag_probabilities([page])[0]
    assert probabilities.shape == (200, config.num_tags)
    torch.testing.assert_close(probabilities.sum(-1), torch.ones(200))
    # A word at the middle of a window reads as that window alone reads it.
    alone = tagger.tag_probabilities([page[32:96]])[0]
    torch.testing.assert_close(probabilities[64], alone[32])
    # A page that fits one window reads the same whether batched with a long one or not.
    short = _page(50)
    together = tagger.tag_probabilities([page, short])[1]
    torch.testing.assert_close(together, tagger.tag_probabilities([short])[0])
