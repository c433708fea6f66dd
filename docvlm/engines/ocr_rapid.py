"""RapidOCR backend: PP-OCRv4 detection + recognition (ONNX weights inside the wheel).

Its recognizer often drops the space between two Latin words (25 of 156 spaces on generated
test lines). Spaces are rebuilt from the line image: the recognizer's per-character positions
say where each character sits, and a blank vertical band between two characters that is wide
for the line (≥ 0.22 ink heights and ≥ 2.5× the line's median gap) is a word space. On 4,400
character pairs (4 fonts, 8 and 11 pt, 150 and 300 dpi, sharp and blurred) this rule made no
false spaces and missed 3.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from PIL import Image

from docvlm.engines.ocr_layout import OCRLine, OCRWord, is_cjk
from docvlm.engines.ocr_tables import runs
from docvlm.errors import EngineUnavailableError

MIN_SPACE_GAP = 0.22  # of the line's ink height
MIN_SPACE_RATIO = 2.5  # of the line's median gap between characters
# ... and the characters' centres this much further apart than the line's median step: a
# typewriter sets a narrow "i" or "t" in a full cell, blank on both sides ("Imi tation").
# RapidOCR's words against FUNSD's annotated ones, training pages 0-40 / 40-80: word F1
# 0.888 / 0.850 -> 0.893 / 0.853 (1.3: 0.893 / 0.850; 1.5: 0.891 / 0.840).
MIN_SPACE_STEP = 1.2
# A run of ink along a row this many line heights long is a rule (the line a form's answer is
# typed on), not a letter: it would fill every gap between the words it underlines.
RULE_RUN = 1.0
BOX_PER_FONT_SIZE = 1.3  # detection boxes are padded: 10 pt text at 300 dpi gives 55 px lines
# Pages are detected (and their lines cropped for recognition) at this longer side: on the
# corpus's upright Chinese pages 1200 px read as well as RapidOCR's default 2000 px (edit
# distance 0.62 and 0.21 vs 0.62 and 0.25) with a third of the detection time.
MAX_SIDE = 1200
# What tells Chinese from Latin: the longest lines the detector finds, each cut to this many
# line heights (a whole page's recognition took up to 14 s on a dense Latin page).
SAMPLE_LINES = 12
SAMPLE_LENGTH = 12
# The sample's lines are detected in the inkiest band of this many rows (a third of a page
# detected at MAX_SIDE), not in the whole page: detection is most of the sample's cost, and a
# third of a page of text holds a dozen lines.
SAMPLE_BAND_ROWS = MAX_SIDE // 3


class RapidOCRBackend:
    """Runs RapidOCR on a page image and returns its lines with word boxes (pixels)."""

    name = "rapidocr"

    def __init__(self, max_side: int = MAX_SIDE) -> None:
        self._ocr = _load_rapidocr(max_side)

    def sample_text(self, image: Image.Image) -> str:
        """The text of a few of the page's longest lines, read in part: enough to tell its
        script at a fraction of a full reading's cost."""
        page, _, _ = self._ocr.preprocess(np.asarray(image.convert("RGB")))
        page = _inkiest_band(page, SAMPLE_BAND_ROWS)
        boxes, _ = self._ocr.text_det(page)
        if boxes is None or len(boxes) == 0:
            return ""
        crops = sorted(self._ocr.get_crop_img_list(page, boxes), key=lambda c: -c.size)
        # Crops come as horizontal strips (tall boxes are turned): cut them along their length.
        crops = [crop[:, : SAMPLE_LENGTH * crop.shape[0]] for crop in crops[:SAMPLE_LINES]]
        results, _ = self._ocr.text_rec(crops)
        return " ".join(str(result[0]) for result in results)

    def recognize(self, image: Image.Image) -> list[OCRLine]:
        """Lines of `image` with spaces rebuilt, boxes in image pixels."""
        image = image.convert("RGB")
        results, _ = self._ocr(image, return_word_box=True)
        gray = np.asarray(image.convert("L"))
        return [_line(gray, *result) for result in results or []]


def _inkiest_band(page: np.ndarray, height: int) -> np.ndarray:
    """The `height` rows of an RGB page holding the most ink (darker than its paper)."""
    gray = page.mean(axis=2)
    ink = (gray < np.median(gray) - 40).sum(axis=1)
    if height >= len(ink):
        return page
    totals = np.convolve(ink, np.ones(height), mode="valid")  # ink of each band, by its top row
    top = int(np.argmax(totals))
    return page[top : top + height]


@functools.cache
def _load_rapidocr(max_side: int):
    """One RapidOCR per process and size: loading its three ONNX sessions takes seconds."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise EngineUnavailableError(
            "rapidocr is not installed: pip install rapidocr-onnxruntime"
        ) from None
    # The 180° line classifier flips upright lines of small dense print and their reading
    # is then dropped (a 150-dpi page lost 16 of 39 lines); page images come upright.
    # One thread, as Tesseract: pages are parallelised by worker processes, and on a busy
    # 2-core machine ONNX Runtime's own threads made a page 2–3× slower (21 s vs 9 s).
    # Detection never enlarges an image (its default scales the shorter side up to 736 px):
    # a table crop 169 px high was detected at 5520 × 736, 14 s for 11 lines, and text the
    # page's detection finds at MAX_SIDE is no smaller in a crop at its own size.
    # Lines are recognised one at a time: a batch pads its lines to the widest one's length,
    # and one at a time took 2.3 CPU-s where batches of six took 3.3 (Chinese corpus pages).
    return RapidOCR(
        use_cls=False,
        rec_batch_num=1,
        intra_op_num_threads=1,
        inter_op_num_threads=1,
        max_side_len=max_side,
        det_limit_type="max",
        det_limit_side_len=max_side,
    )


def _line(
    gray: np.ndarray,
    quad: list[list[float]],
    text: str,
    score: float,
    char_quads: list | None = None,
    chars: list[str] | None = None,
    char_scores: list[float] | None = None,
) -> OCRLine:
    """One line from RapidOCR's result: spaces rebuilt and characters grouped into words."""
    bbox = _bounds(quad)
    if not chars or not char_quads or len(chars) != len(char_quads):
        return OCRLine(text, bbox, float(score), size=_font_size(bbox))
    char_scores = list(char_scores or [])
    char_scores += [float(score)] * (len(chars) - len(char_scores))
    glyphs = [
        _Glyph(char, _bounds(q), s, space_before=index > 0 and chars[index - 1] == " ")
        for index, (char, q, s) in enumerate(zip(chars, char_quads, char_scores, strict=True))
        if char != " "
    ]
    _rebuild_spaces(gray, bbox, glyphs)
    words: list[list[_Glyph]] = []
    for glyph in glyphs:
        joins_cjk = words and is_cjk(glyph.char) and is_cjk(words[-1][-1].char)
        if words and not glyph.space_before and not joins_cjk:
            words[-1].append(glyph)
        else:
            words.append([glyph])
    line_text = "".join((" " if g.space_before else "") + g.char for g in glyphs).strip()
    words_out = tuple(_word(word) for word in words)
    return OCRLine(line_text, bbox, float(score), words_out, _font_size(bbox))


def _font_size(bbox: tuple[float, float, float, float]) -> float:
    return (bbox[3] - bbox[1]) / BOX_PER_FONT_SIZE


@dataclass
class _Glyph:
    char: str
    bbox: tuple[float, float, float, float]
    score: float
    space_before: bool


def _rebuild_spaces(gray: np.ndarray, bbox: tuple[float, ...], glyphs: list[_Glyph]) -> None:
    """Set `space_before` where a missing word space shows as a wide blank band between
    characters set further apart than the line's others, never inside a figure between its
    point and the digit after it."""
    x0, y0, x1, y1 = (max(int(round(v)), 0) for v in bbox)
    crop = gray[y0:y1, x0:x1].astype(np.float32)
    if crop.size == 0 or len(glyphs) < 2:
        return
    dark, light = np.percentile(crop, 2), np.percentile(crop, 98)
    ink = _without_rules(crop < (dark + light) / 2)
    ink_rows = np.flatnonzero(ink.any(axis=1))
    if light - dark < 32 or len(ink_rows) == 0:  # no contrast: nothing to measure
        return
    ink_height = ink_rows[-1] - ink_rows[0] + 1
    inked_columns = ink.any(axis=0)
    centers = [max(round((g.bbox[0] + g.bbox[2]) / 2) - x0, 0) for g in glyphs]
    gaps = [_widest_blank_run(inked_columns[a:b]) / ink_height for a, b in pairwise(centers)]
    steps = [b - a for a, b in pairwise(centers)]
    threshold = max(MIN_SPACE_GAP, MIN_SPACE_RATIO * float(np.median(gaps)))
    least_step = MIN_SPACE_STEP * float(np.median(steps))
    for index, ((left, right), gap, step) in enumerate(
        zip(pairwise(glyphs), gaps, steps, strict=True)
    ):
        latin_pair = not (is_cjk(left.char) or is_cjk(right.char))
        # Dot-matrix print sets a date's or an amount's point in a cell of its own, blank
        # around the dot ("03.04.20" read "03." "04." "20"); a space RapidOCR reads itself stays.
        in_figure = (
            index > 0
            and glyphs[index - 1].char.isdigit()
            and left.char in ".,"
            and right.char.isdigit()
        )
        if latin_pair and gap >= threshold and step >= least_step and not in_figure:
            right.space_before = True


def _without_rules(ink: np.ndarray) -> np.ndarray:
    """`ink` with its rows' runs longer than RULE_RUN line heights cleared."""
    longest = RULE_RUN * ink.shape[0]
    cleared = ink.copy()
    for row in np.flatnonzero(ink.sum(axis=1) >= longest):
        for start, end in runs(ink[row]):
            if end - start >= longest:
                cleared[row, start:end] = False
    return cleared


def _widest_blank_run(inked: np.ndarray) -> int:
    """Length of the longest run of False in a boolean column profile."""
    return int(max((end - start for start, end in runs(~inked)), default=0))


def _word(glyphs: list[_Glyph]) -> OCRWord:
    bbox = (
        min(g.bbox[0] for g in glyphs),
        min(g.bbox[1] for g in glyphs),
        max(g.bbox[2] for g in glyphs),
        max(g.bbox[3] for g in glyphs),
    )
    confidence = sum(g.score for g in glyphs) / len(glyphs)
    return OCRWord("".join(g.char for g in glyphs), bbox, confidence, _font_size(bbox))


def _bounds(quad: list[list[float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))
