"""Box arithmetic shared by the engines and the extractor (boxes are x0, y0, x1, y1)."""

from __future__ import annotations

from collections.abc import Iterable

from docvlm.document import BBox


def union(boxes: Iterable[BBox]) -> BBox:
    """The smallest box holding all `boxes` (at least one)."""
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return (min(x0s), min(y0s), max(x1s), max(y1s))


def scale(box: BBox, factor: float) -> BBox:
    """The box with every coordinate multiplied by `factor` (e.g. pixels → points)."""
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)
