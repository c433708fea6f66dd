"""Whether a page prints its captions under the values: each label small on the rule under
what is typed on it ("924 Main St" over "LAST", "Rossi" over "MIDDLE"), so that the text under
a label is the next field's answer, not its own."""

from docvlm.extraction import neighbours
from docvlm.extraction.words import PageWords, Segment

# Labels with an answer only above them, before a page is read that way; and how many times
# more of them than labels with an answer only below (a stacked form's first row has nothing
# above it, a paragraph or an earlier answer may sit over a label by chance).
MIN_CAPTIONS = 3
CAPTION_MAJORITY = 3


def under_values(page: PageWords, label_like: set[int]) -> bool:
    """Whether `page`'s labels (segments in `label_like` with nothing but other labels
    beside them) mostly have an answer over them and none under them."""
    only_above = only_below = 0
    for label in neighbours.page_segments(page):
        if id(label) not in label_like or _answered_beside(page, label, label_like):
            continue
        up = _answer(neighbours.above(page, label), label_like)
        down = _answer(neighbours.below(page, label), label_like)
        only_above += up and not down
        only_below += down and not up
    return only_above >= MIN_CAPTIONS and only_above >= CAPTION_MAJORITY * only_below


def _answered_beside(page: PageWords, label: Segment, label_like: set[int]) -> bool:
    return any(id(s) not in label_like for s in neighbours.right_of(page, label))


def _answer(segment: Segment | None, label_like: set[int]) -> bool:
    return segment is not None and not segment.widget and id(segment) not in label_like
