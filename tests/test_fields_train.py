"""Training the form model: windows of long pages, and the confidence threshold's fit."""

from __future__ import annotations

import random

import torch

from docvlm.anchors import AnchorWord
from docvlm.forms.align import Alignment, FieldSpan
from docvlm.forms.model import FormModel, FormModelConfig
from docvlm.forms.tagger import FormTagger
from docvlm.forms.train import TrainingPage, _window, fit_threshold


class _Fixed(FormTagger):
    """A tagger whose tag probabilities are given: word 0 is /a, word 2 is /b."""

    def tag_probabilities(self, pages, batch_size=16):
        probabilities = torch.zeros(3, 5)
        probabilities[0, 1], probabilities[0, 0] = 0.99, 0.01  # B-/a
        probabilities[1, 0] = 1.0
        probabilities[2, 3], probabilities[2, 0] = 0.995, 0.005  # B-/b
        return [probabilities.clone() for _ in pages]


def _page(row: int) -> TrainingPage:
    box = (0.0, 0.0, 10.0, 10.0)
    words = [AnchorWord(text, box, (0, 0, 10, 10), 0, 0) for text in ("Ada", "x", "Bo")]
    alignment = Alignment(spans=[FieldSpan("/a", "/a", [0])])
    return TrainingPage(words, torch.tensor([1, 0, 0]), alignment, row, frozenset({"/a"}))


def test_threshold_counts_only_keys_of_the_pages_schema() -> None:
    tagger = _Fixed(FormModel(FormModelConfig(keys=["/a", "/b"], hash_buckets=64, dim=8)))
    # /b is tagged confidently on every page, but no page's schema asks for it: extraction
    # would never return it, so it must not make the threshold refuse the right /a answers.
    threshold, summary = fit_threshold(tagger, [_page(row) for row in range(60)])
    assert threshold < 0.991
    assert summary["answers"] == 60 and summary["returned"] == 60
    assert summary["returned_wrong"] == 0


def test_training_windows_fit_the_page_and_often_hold_a_value() -> None:
    rng = random.Random(0)
    tags = torch.zeros(1000, dtype=torch.long)
    tags[900] = 1
    spans = [_window(tags, 256, rng) for _ in range(200)]
    assert all(start >= 0 and end - start == 256 and end <= 1000 for start, end in spans)
    holding = sum(start <= 900 < end for start, end in spans)
    assert holding >= 100  # uniform windows alone would hold it about a quarter of the time
    assert _window(tags[:100], 256, rng) == (0, 100)


def test_threshold_returns_nothing_when_no_score_keeps_errors_under_one_percent() -> None:
    tagger = _Fixed(FormModel(FormModelConfig(keys=["/a", "/b"], hash_buckets=64, dim=8)))
    pages = [_page(row) for row in range(60)]
    for page in pages:  # the gold /a is another word now: every /a answer is wrong
        page.alignment.spans[0].words = [1]
    threshold, summary = fit_threshold(tagger, pages)
    assert summary["returned"] == 0 and threshold > 1
    tagger.min_score = threshold
    assert tagger.confidence(0.9999) < 0.9  # so extraction returns every value as null
