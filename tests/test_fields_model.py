"""The form model's inputs and forward pass: relative biases, and long pages read in windows."""

from __future__ import annotations

import torch

from docvlm.anchors import AnchorWord
from docvlm.forms.model import (
    FormModel,
    FormModelConfig,
    RelativeBias,
    _bucket,
    _segment_ngrams,
    neighbour_ngrams,
    page_features,
    windows,
    word_ngrams,
)
from docvlm.forms.tagger import FormTagger, batch_features


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
    # A word at the middle of a window reads as that window alone reads it (its neighbours
    # are the page's, whichever window it sits in).
    with torch.no_grad():
        alone = tagger.model(**batch_features([page_features(page, config).window(32, 96)]))
    torch.testing.assert_close(probabilities[64], alone[0, 32].softmax(-1))
    # A page that fits one window reads the same whether batched with a long one or not.
    short = _page(50)
    together = tagger.tag_probabilities([page, short])[1]
    torch.testing.assert_close(together, tagger.tag_probabilities([short])[0])


def test_each_word_is_handed_the_segment_left_of_it_and_the_one_above_it() -> None:
    def word(text: str, x: int, y: int, line: int, segment: int) -> AnchorWord:
        box = (x, y, x + 60, y + 12)
        return AnchorWord(text, box, box, line, segment)

    words = [
        word("Name:", 50, 100, 0, 0), word("Ada", 200, 100, 0, 1), word("Lovelace", 265, 100, 0, 1),
        word("Phone", 600, 100, 0, 2),  # a label of the next column, right of the value
        word("Date", 50, 140, 1, 3), word("of", 112, 140, 1, 3), word("birth", 174, 140, 1, 3),
        word("1815-12-10", 55, 160, 2, 4),  # below its label
    ]  # fmt: skip
    left, above = neighbour_ngrams(words, 1 << 12)

    def ids(*texts: str) -> list[int]:
        return _segment_ngrams(list(texts), 1 << 12)

    def held(row: torch.Tensor) -> list[int]:
        return [i for i in row.tolist() if i >= 0]

    assert held(left[1]) == held(left[2]) == ids("Name:")  # both words of the value
    assert held(left[3]) == ids("Ada", "Lovelace")
    assert held(left[0]) == [] and held(above[0]) == []
    assert held(above[7]) == ids("Date", "of", "birth")
    assert {word_ngrams(t, 1 << 12)[0] for t in ("Date", "of", "birth")} <= set(held(above[7]))
    assert held(above[4]) == ids("Name:")
    config = FormModelConfig(keys=["/name"], hash_buckets=1 << 12, dim=16, heads=2)
    tagger = FormTagger(FormModel(config))
    (probabilities,) = tagger.tag_probabilities([words])
    assert probabilities.shape == (len(words), 3)
