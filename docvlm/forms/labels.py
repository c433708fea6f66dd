"""The labels a form model saw printed before each key's values, and whether a value read on a
new page sits under one of its own key's labels.

A model swaps look-alike values (a date of loss and a signature date) as surely as it reads
them; the label printed before a value tells them apart, and a form repeats its wording from
one copy to the next. A value's label is the text just before it on its line (its segment's
words before it, else the segment to its left), or else the segment just above it. A phrase
names a key where, on the training pages, it was a label of that key's values at least
`MIN_SEEN` times and of another key's at most `TARGET_SHARE` as often.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from docvlm.anchors import AnchorWord

MIN_SEEN = 2
TARGET_SHARE = 0.05
# A label sits above its value within this many of the value's word heights.
ABOVE_HEIGHTS = 2.5


def label_phrases(words: list[AnchorWord], span: list[int]) -> list[str]:
    """The phrases that may label the value printed by `span` (indices into `words`), the
    nearest first: the text before it on its line, the segment above it."""
    first = words[span[0]]
    inside = set(span)
    before = [
        w
        for i, w in enumerate(words)
        if i not in inside and w.line == first.line and w.bbox[2] <= first.bbox[0] + 1
    ]
    own = [w for w in before if w.segment == first.segment]
    if not own and before:
        nearest = max(before, key=lambda w: w.bbox[2]).segment
        own = [w for w in before if w.segment == nearest]
    height = max(first.bbox[3] - first.bbox[1], 1.0)
    above = [
        w
        for w in words
        if w.line != first.line
        and first.bbox[1] - ABOVE_HEIGHTS * height <= w.bbox[3] <= first.bbox[1] + 1
        and w.bbox[0] < max(words[i].bbox[2] for i in span)
        and w.bbox[2] > first.bbox[0]
    ]
    if above:
        nearest_line = max(above, key=lambda w: w.bbox[3]).line
        segment = next(w.segment for w in above if w.line == nearest_line)
        above = [w for w in words if w.segment == segment]
    phrases = [_phrase(own), _phrase(above)]
    return [p for p in phrases if p]


def _phrase(words: list[AnchorWord]) -> str:
    """The words as a label phrase: lower case, letters and digits only (check boxes and
    colons dropped)."""
    text = " ".join(w.text for w in words if w.checkbox is None)
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def learn_labels(
    pages: Iterable[tuple[list[AnchorWord], Iterable[tuple[str, list[int]]]]],
) -> dict[str, str]:
    """Phrase → the key it names, from pages' words and their (key, span) values."""
    seen: dict[str, Counter] = {}
    for words, spans in pages:
        for key, span in spans:
            for phrase in label_phrases(words, span):
                seen.setdefault(phrase, Counter())[key] += 1
    names = {}
    for phrase, keys in seen.items():
        (key, count), *others = keys.most_common()
        if count >= MIN_SEEN and sum(n for _, n in others) <= TARGET_SHARE * count:
            names[phrase] = key
    return names


def labelled(words: list[AnchorWord], span: list[int], key: str, labels: dict[str, str]) -> bool:
    """Whether the nearest phrase before the value that names a key names `key`."""
    for phrase in label_phrases(words, span):
        if phrase in labels:
            return labels[phrase] == key
    return False
