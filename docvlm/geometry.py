"""Box arithmetic shared by the engines and the extractor (boxes are x0, y0, x1, y1)."""

from __future__ import annotations

from collections.abc import Iterable

from docvlm.document import BBox


def union(boxes: Iterable[BBox]) -> BBox:
    """The smallest box holding all `boxes` (at least one)."""
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return (min(x0s), min(y0s), max(x1s), max(y1s))


def area(box: BBox) -> float:
    """The box's area (0 for an empty box)."""
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def overlap(a: BBox, b: BBox) -> float:
    """The area the two boxes share."""
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def centre_in(box: BBox, region: BBox) -> bool:
    """Whether `box`'s centre lies inside `region` (edges included)."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= x <= region[2] and region[1] <= y <= region[3]


def scale(box: BBox, factor: float) -> BBox:
    """The box with every coordinate multiplied by `factor` (e.g. pixels → points)."""
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)
