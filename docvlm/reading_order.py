"""Column-aware reading order for boxes on a page (lines, words or blocks).

Sorting lines top-to-bottom interleaves the columns of a two-column page. Instead the boxes are
cut into horizontal strips (rows with no box across their gaps); consecutive strips that share
an empty vertical band form one multi-column section, which is split at that band and read
left column first, each column ordered recursively. A full-width line (a title, a wide table)
shares no band with its neighbours, so it ends a section.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]  # x0, y0, x1, y1; y grows downwards
Interval = tuple[float, float]


def reading_order(boxes: Sequence[Box], min_gap: float | None = None) -> list[int]:
    """Indices of `boxes` in reading order; `min_gap` is the narrowest column gutter."""
    if not boxes:
        return []
    if min_gap is None:
        # Gutters are about one line high or wider (7 pt in the Federal Register's 9 pt text):
        # half the median box height separates columns; spaces inside a line never reach it.
        heights = sorted(b[3] - b[1] for b in boxes)
        span = max(b[2] for b in boxes) - min(b[0] for b in boxes)
        min_gap = max(min(span * 0.015, 0.5 * heights[len(heights) // 2]), 1e-6)
    return _order(list(range(len(boxes))), boxes, min_gap)


def _order(indices: list[int], boxes: Sequence[Box], min_gap: float) -> list[int]:
    if len(indices) <= 1:
        return indices
    left = min(boxes[i][0] for i in indices)
    right = max(boxes[i][2] for i in indices)
    rows = _split_rows(indices, boxes)
    ordered: list[int] = []
    start = 0
    while start < len(rows):
        # A section starts only at a row with an interior gap: the margin beside a short line (a
        # header, a title) is no gutter. Later rows may still join through a margin gap, as when
        # one column runs longer than the other.
        common = [
            gap
            for gap in _gaps(rows[start], boxes, left, right, min_gap)
            if left < gap[0] and gap[1] < right
        ]
        end = start + 1
        while end < len(rows) and common:
            narrowed = _intersect(common, _gaps(rows[end], boxes, left, right, min_gap), min_gap)
            if not narrowed:
                break
            common, end = narrowed, end + 1
        section = [i for row in rows[start:end] for i in row]
        ordered += _order_section(section, boxes, common, min_gap)
        start = end
    return ordered


def _order_section(
    section: list[int], boxes: Sequence[Box], gaps: list[Interval], min_gap: float
) -> list[int]:
    for gap in sorted(gaps, key=lambda g: g[0] - g[1]):  # widest band first
        cut = (gap[0] + gap[1]) / 2
        left_side = [i for i in section if (boxes[i][0] + boxes[i][2]) / 2 < cut]
        right_side = [i for i in section if (boxes[i][0] + boxes[i][2]) / 2 >= cut]
        if left_side and right_side:
            return _order(left_side, boxes, min_gap) + _order(right_side, boxes, min_gap)
    return sorted(section, key=lambda i: (boxes[i][1], boxes[i][0]))


def _split_rows(indices: list[int], boxes: Sequence[Box]) -> list[list[int]]:
    """Group boxes into horizontal strips separated by empty horizontal bands."""
    by_top = sorted(indices, key=lambda i: (boxes[i][1], boxes[i][0]))
    rows: list[list[int]] = []
    bottom = float("-inf")
    for i in by_top:
        # Boxes touching by less than a fifth of their height belong to different rows.
        height = boxes[i][3] - boxes[i][1]
        if rows and boxes[i][1] < bottom - 0.2 * height:
            rows[-1].append(i)
            bottom = max(bottom, boxes[i][3])
        else:
            rows.append([i])
            bottom = boxes[i][3]
    return rows


def _gaps(
    row: list[int], boxes: Sequence[Box], left: float, right: float, min_gap: float
) -> list[Interval]:
    """Empty vertical bands of a row within [left, right], at least `min_gap` wide."""
    gaps: list[Interval] = []
    cursor = left
    for i in sorted(row, key=lambda i: boxes[i][0]):
        if boxes[i][0] - cursor >= min_gap:
            gaps.append((cursor, boxes[i][0]))
        cursor = max(cursor, boxes[i][2])
    if right - cursor >= min_gap:
        gaps.append((cursor, right))
    return gaps


def _intersect(a: list[Interval], b: list[Interval], min_gap: float) -> list[Interval]:
    out = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi - lo >= min_gap:
                out.append((lo, hi))
    return out
