"""Vector figures of a text-layer page: charts and diagrams drawn with strokes, and their labels.

A path of many slanted strokes or curves (a chart's data line, a diagram's arrows) marks a
figure; the figure's area is the largest drawn box that holds it (the chart's frame), or the
strokes themselves. Short text lines inside that area are the figure's labels (axis ticks,
legends): they leave the running text and the table search and are written as one figure
block. An area holding a line of running text is a text box, not a figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pymupdf

from docvlm.document import BBox, Block, BlockType
from docvlm.engines.textlayer.lines import Line, center_in, to_frame

MIN_STROKES = 6  # slanted lines or curves in one path: a chart's data line, a diagram
MAX_PAGE_SHARE = 0.6  # a "figure" over more of the page than this is a page frame
MAX_LABEL_WORDS = 5  # a label is short: a tick, a legend entry, a node's name
MAX_TEXT_SHARE = 0.3  # labels cover little of their figure
MIN_IMAGE_SHARE = 0.02  # a smaller picture is a logo or an icon, not a figure
CAPTION = re.compile(
    r"^(fig(ure)?|chart|graph|map|plate|diagram|illustration|abbildung)\.?\s*\d", re.I
)
CAPTION_GAP = 3.0  # caption line heights between a figure and its caption


@dataclass
class FigureRegion:
    bbox: BBox  # in frame 0
    page_bbox: BBox
    labels: list[Line] = field(default_factory=list)
    frame: int = 0


def figure_regions(drawings: list[dict], page_rect: pymupdf.Rect) -> list[pymupdf.Rect]:
    """Areas of the page's vector figures (overlapping ones merged)."""
    limit = MAX_PAGE_SHARE * abs(page_rect)
    boxes = [pymupdf.Rect(d["rect"]) for d in drawings if abs(pymupdf.Rect(d["rect"])) <= limit]
    areas: list[pymupdf.Rect] = []
    for path in drawings:
        strokes = _strokes(path)
        if strokes < MIN_STROKES or strokes < len(path["items"]) / 2:
            continue  # a grid with a few slanted joins is no figure
        seed = pymupdf.Rect(path["rect"])
        holders = [box for box in boxes if box.contains(seed)]
        area = max(holders, key=abs) if holders else seed
        for other in [a for a in areas if a.intersects(area)]:
            areas.remove(other)
            area |= other
        areas.append(area)
    return [a for a in areas if abs(a) <= limit]


def _strokes(path: dict) -> int:
    slanted = 0
    for item in path["items"]:
        if item[0] == "c":
            slanted += 1
        elif item[0] == "l":
            (x0, y0), (x1, y1) = item[1], item[2]
            slanted += abs(x1 - x0) > 0.5 and abs(y1 - y0) > 0.5
    return slanted


def figure_labels(
    areas: list[pymupdf.Rect], lines: list[Line]
) -> tuple[list[FigureRegion], list[Line]]:
    """Figures with the lines inside them as labels, and the page's other lines."""
    figures: list[FigureRegion] = []
    taken: set[int] = set()
    for area in areas:
        inside = [ln for ln in lines if id(ln) not in taken and center_in(ln.page_bbox, area)]
        if not inside or any(_running_text(ln.text) for ln in inside):
            continue  # a drawing without words, or a text box
        if sum(abs(pymupdf.Rect(ln.page_bbox)) for ln in inside) > MAX_TEXT_SHARE * abs(area):
            continue  # words packed like a table's, not scattered like labels
        box = tuple(area)
        figures.append(FigureRegion(to_frame(0, box), box, inside))
        taken.update(id(ln) for ln in inside)
    return figures, [ln for ln in lines if id(ln) not in taken]


def _running_text(text: str) -> bool:
    """More words (of three or more characters: not an axis of month initials) than a label."""
    return sum(len(word) >= 3 for word in text.split()) > MAX_LABEL_WORDS


def figure_labels_text(figure: FigureRegion) -> list[str]:
    """The labels in reading order, top to bottom and left to right."""
    ordered = sorted(figure.labels, key=lambda ln: (round(ln.page_bbox[1]), ln.page_bbox[0]))
    return [ln.text.strip() for ln in ordered]


def image_regions(
    page: pymupdf.Page, lines: list[Line], vector: list[FigureRegion]
) -> list[FigureRegion]:
    """Raster pictures of the page large enough to be figures, with no text printed over them
    and not inside a vector figure already found."""
    area = abs(page.rect)
    regions = []
    for info in page.get_image_info():
        box = pymupdf.Rect(info["bbox"]) & page.rect
        if not MIN_IMAGE_SHARE * area <= abs(box) <= MAX_PAGE_SHARE * area:
            continue
        if any(center_in(ln.page_bbox, box) for ln in lines):
            continue  # a background or a watermark under text
        if any(pymupdf.Rect(f.page_bbox).intersects(box) for f in [*vector, *regions]):
            continue
        regions.append(FigureRegion(to_frame(0, tuple(box)), tuple(box)))
    return regions


def attach_captions(blocks: list[Block]) -> list[Block]:
    """Each figure block takes the caption paragraph just below it (or just above), which
    leaves the running text: "Figure 3: ..." is the figure's text."""
    taken: set[int] = set()
    for index, block in enumerate(blocks):
        if block.type != BlockType.FIGURE or block.text or block.bbox is None:
            continue
        for neighbour in (index + 1, index - 1):
            if 0 <= neighbour < len(blocks) and neighbour not in taken:
                caption = blocks[neighbour]
                if _is_caption_of(caption, block):
                    block.text = caption.text
                    taken.add(neighbour)
                    break
    return [b for i, b in enumerate(blocks) if i not in taken]


def _is_caption_of(caption: Block, figure: Block) -> bool:
    if caption.type != BlockType.PARAGRAPH or caption.bbox is None or figure.bbox is None:
        return False
    if not CAPTION.match(caption.text.strip()):
        return False
    fx0, fy0, fx1, fy1 = figure.bbox
    cx0, cy0, cx1, cy1 = caption.bbox
    first_line = min(cy1 - cy0, 14.0)
    gap = cy0 - fy1 if cy0 >= fy1 - first_line else fy0 - cy1
    return cx0 < fx1 and fx0 < cx1 and -first_line <= gap <= CAPTION_GAP * first_line
