"""The word layer extraction reads: a segment's box, and OCR read once per raster in training."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from docvlm.extraction import neighbours
from docvlm.extraction import words as words_module
from docvlm.extraction.words import Segment, Word, page_words, pages_read_once
from docvlm.sources import open_source

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def test_a_segments_box_follows_its_words_when_they_change() -> None:
    segment = Segment([Word("Date:", (10, 10, 40, 20))], page=1, line=0)
    assert segment.bbox == (10, 10, 40, 20)
    segment.words.append(Word("3/4/24", (45, 9, 80, 21)))
    assert segment.bbox == (10, 9, 80, 21)
    segment.words = segment.words[1:]
    assert segment.bbox == (45, 9, 80, 21)


def _scan(path: Path, text: str) -> Path:
    image = Image.new("L", (1240, 400), 255)
    ImageDraw.Draw(image).text((80, 150), text, fill=0, font=ImageFont.truetype(FONT, 40))
    image.save(path)
    return path


def test_pages_read_once_ocrs_each_raster_once_and_reads_it_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans = [_scan(tmp_path / "a.png", "Invoice 4711"), _scan(tmp_path / "b.png", "Total 12.50")]
    calls = []
    read = words_module._ocr_words

    def counted(*args):  # noqa: ANN002, ANN202
        calls.append(args)
        return read(*args)

    monkeypatch.setattr(words_module, "_ocr_words", counted)

    def texts(path: Path) -> list[str]:
        with open_source(path) as document:
            return [w.text for w in page_words(document.page(1)).words]

    plain = [texts(p) for p in (*scans, scans[0])]
    assert len(calls) == 3
    calls.clear()
    with pages_read_once():
        once = [texts(p) for p in (*scans, scans[0], scans[1])]
    assert len(calls) == 2  # the two rasters, each once
    assert once[:3] == plain and once[3] == plain[1]
    assert "4711" in plain[0] and "12.50" in plain[1]
    texts(scans[0])  # outside the block every reading is OCR's own again
    assert len(calls) == 3


def test_the_rest_of_a_line_skips_a_skewed_lines_segment_that_starts_under_it() -> None:
    # A scan's next line, tilted into this line's band, starts under what is already taken
    # ("Cther B&w physical" under "performed by"): the line goes on with its own words.
    def segment(text: str, x0: float, y0: float, line: int) -> Segment:
        return Segment([Word(text, (x0, y0, x0 + 6 * len(text), y0 + 11))], page=1, line=line)

    first = segment("is not", 72, 100, 0)
    going_on = segment("performed by most", 112, 101, 0)
    tilted = segment("Cther B&w physical", 150, 106, 1)
    last = segment("licensees.", 220, 100, 0)
    segments = [first, going_on, tilted, last]
    rest = neighbours._rest_of_line(segments, first, math.inf, lambda s: False)
    assert [s.text for s in rest] == ["performed by most", "licensees."]
