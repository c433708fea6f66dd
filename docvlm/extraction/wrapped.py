"""Labels printed over two or three lines ("OTHER PERSONNEL | ASSIGNED", "NUMBER OF |
SUPERVISORS:"): joined into one label where a field's title names no single line but the lines
read together do. The joined label keeps its last line's box (its answer is looked for under
it, and beside whichever of its lines has one nearest). A label OCR split into two segments
along its line ("Sample Specifications | Written By.") is joined the same way."""

from __future__ import annotations

from collections.abc import Callable

from docvlm.extraction.neighbours import right_of
from docvlm.extraction.words import PageWords, Segment

MAX_LINES = 3
WRAP_GAP = 1.0  # line heights between the lines of one label
ALIGN = 1.2  # line heights the lines' left edges, centres or right edges may sit apart
SPLIT_GAP = 2.0  # label heights between the two segments of a label split along its line
# Words that join a label's words and open none ("NATURE: | OF WORK:", a colon OCR read in it).
_CONNECTIVES = frozenset({"of", "for", "and", "to", "in", "on", "by", "or", "from", "per"})


def join_wrapped_labels(
    pages: list[PageWords],
    names: list[list[str]],
    score: Callable[[str, list[str]], float],
    strong: float,
) -> None:
    """Join, in place in the pages' lines, the lines of each label that names a field
    (`score` ≥ `strong`) only when read together: the lines above its last one end without a
    colon (a colon ends a label), follow at a line's spacing and align with it."""
    for page in pages:
        segments = [s for line in page.lines for s in line if not s.widget]
        unnamed = [n for n in names if all(score(s.text, n) < strong for s in segments)]
        if not unnamed:
            continue
        _join_split(page, segments, (unnamed, names), score, strong)
        segments = [s for line in page.lines for s in line if not s.widget]
        joins = []
        for last in segments:
            stack = [last]
            while len(stack) < MAX_LINES and (above := _line_above(segments, stack[0])):
                stack.insert(0, above)
                text = " ".join(s.text for s in stack)
                best = max(score(text, n) for n in unnamed)
                if best >= strong:
                    joins.append((best, list(stack)))
        used: set[int] = set()
        for _, stack in sorted(joins, key=lambda join: -join[0]):
            if not any(id(s) in used for s in stack):
                used.update(id(s) for s in stack)
                _join(page, stack)


def _line_above(segments: list[Segment], segment: Segment) -> Segment | None:
    """The nearest segment on the line above `segment` that aligns with it and does not end
    in a colon, or a check box: the start of the same label."""
    x0, y0, x1, _ = segment.bbox
    slack = ALIGN * segment.height
    above = [
        s
        for s in segments
        if (s.bbox[1] + s.bbox[3]) / 2 < y0
        and y0 - s.bbox[3] <= WRAP_GAP * segment.height
        and s.bbox[0] < x1
        and x0 < s.bbox[2]
        and (
            abs(s.bbox[0] - x0) <= slack
            or abs(s.bbox[2] - x1) <= slack
            or abs(s.bbox[0] + s.bbox[2] - x0 - x1) / 2 <= slack
        )
    ]
    if not above:
        return None
    nearest = max(above, key=lambda s: s.bbox[3])
    if nearest.text.endswith(":") or nearest.checkbox is not None:
        return None
    return nearest


def _join(page: PageWords, stack: list[Segment]) -> None:
    """Replace the stack's last line by the joined label and drop its first lines."""
    last = stack[-1]
    lead = [line for s in stack[:-1] for line in [*s.lead, s]]
    joined = Segment(last.words, last.page, last.line, last.checkbox, lead=lead)
    for line in page.lines:
        line[:] = [joined if s is last else s for s in line if all(s is not t for t in stack[:-1])]
    page.lines[:] = [line for line in page.lines if line]


def _join_split(
    page: PageWords,
    segments: list[Segment],
    names: tuple[list[list[str]], list[list[str]]],
    score: Callable[[str, list[str]], float],
    strong: float,
) -> None:
    """Join, in place, each segment with the next one right of it on its band, a small gap on,
    where the two read together name a field no segment names and neither names a field alone
    (then it is that field's label, or its value). A segment ending in a colon is joined only
    with words that open no label ("NATURE: | OF WORK:", the colon a speck OCR read)."""
    unnamed, every = names

    def names_one(segment: Segment) -> bool:
        return any(score(segment.text, n) >= strong for n in every)

    joined: set[int] = set()
    for first in segments:
        if id(first) in joined or first.checkbox is not None:
            continue
        right = [s for s in right_of(page, first) if not s.widget]
        if not right or id(right[0]) in joined:
            continue
        second = right[0]
        if first.text.endswith(":") and not _goes_on(second):
            continue  # a colon ends a label, unless what follows cannot open one
        if second.bbox[0] - first.bbox[2] > SPLIT_GAP * first.height:
            continue
        text = f"{first.text} {second.text}"
        if max(score(text, n) for n in unnamed) < strong or names_one(first) or names_one(second):
            continue
        joined.update((id(first), id(second)))
        whole = Segment(first.words + second.words, second.page, second.line, first.checkbox)
        for line in page.lines:
            line[:] = [whole if s is second else s for s in line if s is not first]
        page.lines[:] = [line for line in page.lines if line]


def _goes_on(segment: Segment) -> bool:
    """Whether `segment` opens with a word that only joins a label's words ("of", "for")."""
    return segment.words[0].text.lower().strip(".,") in _CONNECTIVES
