"""The bundled OCR engine: blank check, orientation, deskew, script → language, Tesseract or
RapidOCR, layout regions and tables, then lines → blocks in reading order."""

from __future__ import annotations

import statistics
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

import cv2
import numpy as np
from PIL import Image

from docvlm.document import BBox, Block, BlockType
from docvlm.engines.base import Engine
from docvlm.engines.ocr_backdrop import without_backdrop
from docvlm.engines.ocr_choice import (
    enlarged,
    latin_only_lines,
    rapid_reads,
    read_enlarged_by_rapidocr,
    read_unsurely,
)
from docvlm.engines.ocr_deskew import Deskew, deskew
from docvlm.engines.ocr_layout import (
    VERTICAL_LINE_RATIO,
    OCRLine,
    OCRWord,
    cjk_share,
    join_words,
    lines_to_blocks,
)
from docvlm.engines.ocr_tables import columns_of_prose
from docvlm.engines.ocr_tesseract import PSM_SPARSE_TEXT, glyph_height, ink_mask
from docvlm.engines.ocr_unread import sparse_words, with_sparse_words
from docvlm.engines.orientation import (
    MIN_SCRIPT_CONFIDENCE,
    UPRIGHT,
    Orientation,
    PageOSD,
    box_after_turn,
    box_before_turn,
    upright,
)
from docvlm.errors import EngineUnavailableError
from docvlm.geometry import area, centre_in, overlap, scale, union
from docvlm.sources import MAX_GARBLED_RATIO, MAX_IMAGE_COVERAGE, SourcePage

if TYPE_CHECKING:
    from docvlm.engines.ocr_rapid import RapidOCRBackend

OCRBackendName = Literal["auto", "tesseract", "rapidocr"]
BACKENDS = ("auto", "tesseract", "rapidocr")
RENDER_DPI = 300

# Tesseract's English model reads Latin pages at ~0.95 mean word confidence (0.93 blurred at
# 150 dpi) and Chinese pages at ~0.3 or not at all; below this RapidOCR takes a second look.
AUTO_RECHECK_CONFIDENCE = 0.6
AUTO_CJK_SHARE = 0.3  # RapidOCR's reading has this share of CJK characters → a Chinese page
# A page OSD names Latin this surely gets no second look: on 54 corpus renderings OSD's Latin
# score was ≤ 0.95 on every Chinese or Japanese page (those it turned wrong) and 1.0–42 on
# most Latin ones, where RapidOCR's look cost 3 s to be thrown away.
LATIN_SCRIPT = 1.0
# OSD also names Cyrillic for English pages set in capitals (5.6 on one of the corpus's): a
# page the chosen languages read this well is not read again in OSD's script.
SCRIPT_RECHECK_CONFIDENCE = 0.8
# Corpus pages at 150 dpi, blurred, read at 0.70–0.93 mean word confidence right side up and
# at 0.26–0.35 upside down (a text page, a table, a ledger); below this the page is tried the
# other way up.
ORIENTATION_RECHECK_CONFIDENCE = 0.6
# A page read poorly is read upside down only where a sample of its lines, those in the middle
# quarter of its text, reads better so: on camelot-health, upright but read around its tables
# at under 0.6, the reading upside down cost 7 s of its 17 and was thrown away.
TURN_SAMPLE_SHARE = 0.25
MIN_SAMPLE_WORDS = 5
# ... and reads it better by this much: a page turned wrong does so by far (nics-rotated's
# sample 0.45 as read, 0.86 upside down), one that reads poorly either way by noise (a
# vertical Japanese page 0.28 and 0.30: a whole reading upside down, 10 s, thrown away).
# The same sample tells whether a page is read again in the script OSD names: an English
# electoral roll that OSD named Cyrillic read at 0.80, and 0.83 in rus+eng (7 s, and worse).
SAMPLE_GAIN = 0.1
# A page read below this mean word confidence is flagged low_confidence: see bench/scanned.py.
LOW_CONFIDENCE = 0.7
# On a page whose median line reads at WELL_READ_CONFIDENCE, a line of at most NOISE_MAX_WORDS
# words below NOISE_CONFIDENCE is noise (bench/scanned.py measures the page with and without).
WELL_READ_CONFIDENCE = 0.85
NOISE_CONFIDENCE = 0.5
NOISE_MAX_WORDS = 2
# Table regions are read on their own as one uniform block of text (Tesseract's psm 6), their
# box padded by this share of the page width (layout boxes sit tight on the ink).
TABLE_PSM = 6
PROSE_WORDS = 0.9
PROSE_REGION = 0.5  # of the page's area
SURE_WORD = 0.8
TABLE_MARGIN = 0.02
# The page around its tables tells its turn when it holds this many words; on less (a page
# all table, a caption) its tables are read at once and tell it too.
MIN_TURN_WORDS = 20
# Print of a table or of text read again whose median glyph is under this many pixels tall
# (10 pt at 200 dpi and less) is read at twice its size.
SMALL_PRINT_GLYPH = 20
# Share of a page's pixels that must be ink (after despeckling) for it to be read at all.
MIN_INK_SHARE = 2e-5

# A page whose text lines (by Tesseract's layout analysis, before it reads them) are mostly
# taller than wide by VERTICAL_LINE_RATIO is set in vertical columns (Japanese, traditional
# Chinese) and is read with Tesseract's vertical model first:
# RapidOCR's Chinese model reads horizontal lines only. On a vertical Japanese gazette page OSD
# named the script "Japanese" at 0.12, "Latin" or "Arabic" when turned, while Tesseract's own
# lines were tall in 91 of 97; its jpn_vert model read the page at edit distance 0.42 (RapidOCR
# 0.86, jpn+jpn_vert 0.66 in twice the time).
VERTICAL_LANGUAGE = "jpn_vert"
# Tesseract data for each script OSD names; the first language is the one to install. Han is
# left to RapidOCR (PP-OCR reads Chinese better); its Chinese model has no kana or hangul, so
# pages read as Japanese or Korean stay with Tesseract.
OWN_SCRIPT_LANGUAGES = {"jpn", "jpn_vert", "kor"}
SCRIPT_LANGUAGES = {
    "Arabic": "ara",
    "Bengali": "ben",
    "Cyrillic": "rus",
    "Devanagari": "hin",
    "Greek": "ell",
    "Hangul": "kor",
    "Hebrew": "heb",
    "Japanese": "jpn+jpn_vert",
    "Tamil": "tam",
    "Thai": "tha",
}


@dataclass(frozen=True)
class _Reading:
    """One reading of a page image turned by `orientation` (then levelled by `skew`)."""

    orientation: Orientation
    turned: Image.Image
    readable: Image.Image
    skew: Deskew | None
    lines: list[OCRLine]
    regions: list
    languages: str | None  # Tesseract's that read the page, None for RapidOCR
    unread_tables: tuple[BBox, ...] = ()  # table regions whose lines are not in `lines` yet
    # Tesseract's confidence where RapidOCR read the page again: RapidOCR is sure of lines it
    # misreads (a blurred 100 dpi page, 12 % of characters wrong, at 0.9 and more).
    first_confidence: float | None = None

    @property
    def confidence(self) -> float:
        return _confidence(self.lines)


class OCRBackend(Protocol):
    name: str

    def recognize(self, image: Image.Image) -> list[OCRLine]: ...


class OCREngine(Engine):
    """Offline OCR: `tesseract` for Latin script, RapidOCR for Chinese; `auto` picks per page."""

    name = "ocr"

    def __init__(
        self,
        backend: OCRBackendName = "auto",
        *,
        languages: str = "eng",
        dpi: int = RENDER_DPI,
        timeout: float = 120.0,
        layout: bool = True,
        keep_text_layer: bool = True,
    ) -> None:
        """`keep_text_layer`: on a PDF page with a clean text layer (not drawn over a page-sized
        image) its words replace OCR's where both read the same place; OCR fills the rest."""
        if backend not in BACKENDS:
            raise EngineUnavailableError(
                f"unknown OCR backend {backend!r}: use one of {', '.join(BACKENDS)}"
            )
        self.backend = backend
        self.languages = languages
        self.dpi = dpi
        self.layout = layout
        self.keep_text_layer = keep_text_layer
        self._tesseract = None
        self._rapid: RapidOCRBackend | None = None
        self._warned_scripts: set[str] = set()
        if backend in ("auto", "tesseract"):
            from docvlm.engines.ocr_tesseract import TesseractBackend

            try:
                self._tesseract = TesseractBackend(languages, timeout)
            except EngineUnavailableError as error:
                warnings.warn(f"{error}; falling back to RapidOCR", RuntimeWarning, stacklevel=2)

    def parse(self, page: SourcePage) -> list[Block]:
        """Blocks of one page in reading order, bboxes in page points; what was learnt about
        the page (orientation, blank, low confidence) goes to `page.findings`."""
        image = enlarged(without_backdrop(page.render_dpi(self.dpi)))
        if is_blank(image):
            page.findings.notes.append("blank page: nothing to read")
            return []
        osd = None
        if self._tesseract is not None:
            tesseract = self._tesseract
            osd = PageOSD(lambda characters: tesseract.orientation(image, characters))
        reading = self._read_turned(image, osd.turn if osd else UPRIGHT, osd, page.findings.notes)
        # A page read poorly may be turned wrong: OSD swaps 0° and 180° (pages of figures and
        # capitals, tables of numbers). Where a sample of it reads better upside down, it is
        # read so, and the more confident reading is kept. (A quick look sure of its turn
        # agreed with the full OSD on every corpus rendering, and an unsure one gave way to
        # it: the full OSD has no other turn to offer.)
        if (
            osd is not None
            and reading.confidence < ORIENTATION_RECHECK_CONFIDENCE
            and self._reads_better_flipped(reading)
        ):
            flipped = replace(reading.orientation, rotate=(reading.orientation.rotate + 180) % 360)
            other = self._read_turned(image, flipped, osd, [])
            if other.confidence > reading.confidence:
                reading = other
        reading = self._read_again_where_unsure(self._with_unread(self._with_tables(reading)))
        orientation, skew = reading.orientation, reading.skew
        page.findings.orientation = orientation.rotate
        lines = drop_noise(reading.lines)
        if self.keep_text_layer and _clean_text_layer(page):
            to_pixels = image.width / page.width
            kept = text_layer_lines(page, to_pixels, orientation.rotate, image.size)
            if skew is not None:
                kept = [line.mapped(skew.box_after) for line in kept]
            lines = [*_outside(lines, kept), *kept]
        blocks = lines_to_blocks(
            lines, page.number, self.name, regions=reading.regions, image=reading.readable
        )
        read = [b for b in blocks if b.text and b.type != BlockType.FIGURE]
        if not read and not any(b.table for b in blocks):
            page.findings.notes.append("no text found (a figure or an empty scan)")
        confidence = _text_confidence(read)
        if reading.first_confidence is not None:
            confidence = min(confidence, reading.first_confidence)
        if read and confidence < LOW_CONFIDENCE:
            page.findings.low_confidence = True
            page.findings.notes.append(f"low OCR confidence ({confidence:.2f})")
        to_points = page.width / image.width
        for block in blocks:
            if block.bbox is not None:
                box = block.bbox if skew is None else skew.box_before(block.bbox)
                box = box_before_turn(box, orientation.rotate, reading.turned.size)
                block.bbox = tuple(round(v * to_points, 2) for v in box)
        return blocks

    def _read_again_where_unsure(self, reading: _Reading) -> _Reading:
        """`reading` read again by RapidOCR where Tesseract read most of the page unsurely,
        in languages RapidOCR reads. Small print is not reason enough, as it is for
        extraction's words (`ocr_choice`): the page was enlarged for Tesseract already, and
        RapidOCR's detection joins the dense rows and columns that Tesseract's segmentation
        keeps apart (a 200-dpi table of small figures: two rows read as one line). Turn,
        levelling and regions stay those Tesseract's reading settled: RapidOCR reads text
        upside down about as surely as upright."""
        languages = reading.languages
        if self.backend != "auto" or languages is None or not rapid_reads(languages):
            return reading
        if not read_unsurely([word for line in reading.lines for word in line.words]):
            return reading
        try:
            lines = read_enlarged_by_rapidocr(reading.readable)
        except EngineUnavailableError:
            return reading
        if "chi_sim" not in languages:
            lines = latin_only_lines(lines)
        return replace(reading, lines=lines, languages=None, first_confidence=reading.confidence)

    def _reads_better_flipped(self, reading: _Reading) -> bool:
        """Whether a page read poorly reads clearly better upside down, judged by a sample of
        its lines: that tells a page turned wrong from one that reads poorly as it is (blurred,
        figures, numbers) at a fraction of a whole reading of the page turned."""
        if reading.languages is None:
            return True
        image = _whitened(reading.readable, reading.unread_tables)
        return self._sample_reads_better(image, reading.lines, reading.languages, flipped=True)

    def _sample_reads_better(
        self, image: Image.Image, lines: list[OCRLine], languages: str, *, flipped: bool = False
    ) -> bool:
        """Whether the middle lines of `lines` (about a quarter of them) read better by
        SAMPLE_GAIN in `languages` (upside down where `flipped`) than they read; a page of too
        few words to judge by is read again in full."""
        sample = _sample_lines(lines)
        if sum(len(line.words) for line in sample) < MIN_SAMPLE_WORDS:
            return True
        crop = image.crop(tuple(round(v) for v in union([line.bbox for line in sample])))
        # One block of text (psm 6): the sample is a band of lines, or a table's.
        again = self._tesseract.recognize(
            crop.rotate(180) if flipped else crop, languages, psm=TABLE_PSM
        )
        if flipped:
            # Turned or not, the band is read the same way: a ruled table read as one block
            # scores lower than the page's reading of it, upright too (on a FUNSD form OSD
            # turned upside down: 0.49 in the page's reading, 0.37 as one block, 0.49 as
            # one block upright; the page read upright then rose from 0.27 to 0.64).
            as_is = self._tesseract.recognize(crop, languages, psm=TABLE_PSM)
            return _confidence(again) > _confidence(as_is) + SAMPLE_GAIN
        return _confidence(again) > _confidence(sample) + SAMPLE_GAIN

    def _read_turned(
        self, image: Image.Image, orientation: Orientation, osd: PageOSD | None, notes: list[str]
    ) -> _Reading:
        """The page image turned by `orientation`, levelled and read around its table regions;
        the tables are left for `_with_tables` (a page is read at a wrong turn first where OSD
        erred, and its tables took most of that time: 31 s of 93 on a vertical Japanese page)
        unless the page around them holds too few words to judge the turn by."""
        turned = upright(image, orientation)
        readable, skew = deskew(turned)
        regions = self._regions(readable)
        tables = tuple(region.bbox for region in regions if region.kind == "table")
        languages, lines = self.recognize(_whitened(readable, tables), osd, notes)
        reading = _Reading(orientation, turned, readable, skew, lines, regions, languages, tables)
        if sum(len(line.words) for line in lines) < MIN_TURN_WORDS:
            reading = self._with_tables(reading)
        return reading

    def recognize(
        self, image: Image.Image, osd: PageOSD | None = None, notes: list[str] | None = None
    ) -> tuple[str | None, list[OCRLine]]:
        """(Tesseract languages that read it, None for RapidOCR; lines in pixels) for one
        upright page image. A page that the chosen languages read poorly and whose script OSD
        (`osd`, of the page) names is read again in that script where a sample of its lines
        reads clearly better so. A blank image (the rest of a page its tables fill) is not
        read: there is nothing to read or to tell the script by."""
        if self._tesseract is None:
            return None, [] if is_blank(image) else self._rapidocr().recognize(image)
        if is_blank(image):
            return self.languages, []
        vertical = self._vertical_languages()
        # A page OSD's quick look names Han is read by RapidOCR first: the Tesseract reading
        # of the corpus's Chinese pages (0.6–1.8 s each) was thrown away for RapidOCR's.
        han_first = self.backend == "auto" and osd is not None and _names_han(osd.quick)
        found_vertical = False

        def read_otherwise(line_boxes: list[BBox]) -> bool:
            nonlocal found_vertical
            found_vertical = vertical is not None and _vertical(line_boxes)
            return found_vertical or han_first

        asks = vertical is not None or han_first
        lines = self._tesseract.recognize(image, unless=read_otherwise if asks else None)
        if found_vertical:
            # Set in vertical columns: read with the vertical model first (on a vertical
            # Japanese page the horizontal reading took as long, 10 s, and was thrown away);
            # where that reads poorly too, it is kept only where it reads clearly better: the
            # noise left around a FUNSD form's table region read 0.17 either way, and its
            # table was then read in jpn_vert.
            again = self._tesseract.recognize(image, vertical)
            if _confidence(again) >= SCRIPT_RECHECK_CONFIDENCE:
                return vertical, again
            lines = self._tesseract.recognize(image)
            if _confidence(again) > _confidence(lines) + SAMPLE_GAIN:
                return vertical, again
        rapid_lines = None
        if lines is None:
            rapid_lines = self._rapidocr().recognize(image)
            if _mostly_cjk(rapid_lines):
                return None, rapid_lines
            lines = self._tesseract.recognize(image)
        languages = self.languages
        orientation = UPRIGHT
        if _confidence(lines) < SCRIPT_RECHECK_CONFIDENCE and osd is not None:
            orientation = osd.script
            script_languages = self._script_languages(orientation, [] if notes is None else notes)
            if script_languages and self._sample_reads_better(image, lines, script_languages):
                again = self._tesseract.recognize(image, script_languages)
                if _confidence(again) > _confidence(lines):
                    if set(script_languages.split("+")) & OWN_SCRIPT_LANGUAGES:
                        return script_languages, again
                    languages, lines = script_languages, again
        if (
            self.backend == "tesseract"
            or rapid_lines is not None  # RapidOCR's reading was not Chinese
            or _confidence(lines) >= AUTO_RECHECK_CONFIDENCE
            or (orientation.script == "Latin" and orientation.script_confidence >= LATIN_SCRIPT)
        ):
            return languages, lines
        rapid = self._rapidocr()
        # A page OSD names Han is read by RapidOCR at once: its sample of the page cost nearly
        # a full reading on the corpus's Chinese pages (the detection is most of both).
        if not _names_han(orientation) and cjk_share(rapid.sample_text(image)) < AUTO_CJK_SHARE:
            return languages, lines
        rapid_lines = rapid.recognize(image)
        return (None, rapid_lines) if _mostly_cjk(rapid_lines) else (languages, lines)

    def _vertical_languages(self) -> str | None:
        """The installed Tesseract model for text set in vertical columns, if any."""
        if VERTICAL_LANGUAGE in self.languages.split("+"):
            return None  # the page was read with it already
        return VERTICAL_LANGUAGE if self._tesseract.has_languages(VERTICAL_LANGUAGE) else None

    def _script_languages(self, orientation: Orientation, notes: list[str]) -> str | None:
        """Tesseract languages for the script OSD saw (with the chosen ones), or None when it
        saw Latin, is unsure, or the data is missing (then a one-line warning, once)."""
        wanted = SCRIPT_LANGUAGES.get(orientation.script or "")
        unsure = orientation.script_confidence < MIN_SCRIPT_CONFIDENCE
        if wanted is None or unsure or set(wanted.split("+")) & set(self.languages.split("+")):
            return None
        installed = [lang for lang in wanted.split("+") if self._tesseract.has_languages(lang)]
        if installed and installed[0] == wanted.split("+")[0]:
            return "+".join([*installed, self.languages])
        package = "tesseract-ocr-" + wanted.split("+")[0].replace("_", "-")
        message = (
            f"{orientation.script} script detected but its Tesseract data is not installed "
            f"(apt-get install {package}, or pass --ocr-lang); read as {self.languages}"
        )
        notes.append(message)
        if orientation.script not in self._warned_scripts:
            self._warned_scripts.add(orientation.script)
            warnings.warn(message, RuntimeWarning, stacklevel=4)
        return None

    def _with_tables(self, reading: _Reading) -> _Reading:
        """`reading` with its table regions read, each on its own, Tesseract's as one block of
        text (psm 6): its page segmentation drops columns of figures as non-text (on one corpus
        table it read 208 of 387 words, 297 as a block; on another 98 of 390, 384)."""
        image, lines = reading.readable, list(reading.lines)
        for box in reading.unread_tables:
            pad = TABLE_MARGIN * image.width
            x0, y0 = round(max(box[0] - pad, 0)), round(max(box[1] - pad, 0))
            x1, y1 = round(min(box[2] + pad, image.width)), round(min(box[3] + pad, image.height))
            crop = image.crop((x0, y0, x1, y1))
            if reading.languages is None:
                found = self._rapidocr().recognize(crop)
            else:
                found = self._read_enlarged(crop, reading.languages, TABLE_PSM)
                # The body of a page the model called one table (a region cut through a
                # column reads its slice as fragments either way, worse so segmented).
                body = area(box) >= PROSE_REGION * image.width * image.height
                if body and columns_of_prose(found):
                    found = self._prose_or_table(crop, reading.languages, found)
            shifted = [line.shifted(x0, y0) for line in found]
            lines += [line for line in shifted if centre_in(line.bbox, box)]
        return replace(reading, lines=lines, unread_tables=())

    def _with_unread(self, reading: _Reading) -> _Reading:
        """`reading` with the text Tesseract's page segmentation left out read again as
        sparse text: it drops what it takes for non-text, such as a column of figures after
        dot leaders (the `tesseract` command read them on the same page). Words of the
        tables' own readings count as read, their regions as blank; unsure words are left
        out, as short unsure lines are (`drop_noise`)."""
        if reading.languages is None:
            return reading
        languages = reading.languages
        tables = tuple(region.bbox for region in reading.regions if region.kind == "table")
        found = sparse_words(
            _whitened(reading.readable, tables),
            [word for line in reading.lines for word in line.words],
            lambda crop: self._read_enlarged(crop, languages, PSM_SPARSE_TEXT),
        )
        # Unsure words here are a photo's texture read as letters ("Sag!" at 0.17).
        sure = [word for word in found if word.confidence >= NOISE_CONFIDENCE]
        return replace(reading, lines=with_sparse_words(reading.lines, sure))

    def _prose_or_table(
        self, crop: Image.Image, languages: str, as_block: list[OCRLine]
    ) -> list[OCRLine]:
        """A "table" read as one block whose words fall into columns of prose (a three-column
        page the layout model called one table; read as one block, its columns' lines ran
        into each other): Tesseract's own segmentation of it where that reads more surely and
        keeps PROSE_WORDS of the words read surely as one block (on real tables it drops
        columns of figures; the run-on lines' noise is unsure)."""
        segmented = self._tesseract.recognize(crop, languages)
        if _sure_words(segmented) >= PROSE_WORDS * _sure_words(as_block) and _confidence(
            segmented
        ) > _confidence(as_block):
            return segmented
        return as_block

    def _read_enlarged(self, crop: Image.Image, languages: str, psm: int) -> list[OCRLine]:
        """Tesseract's lines of part of a page (a table region, text left unread) in page
        segmentation `psm`, small print read at twice its size: decimal points and commas of
        small figures are lost at their own (on a 150-dpi table "37,499.96" read "3749996"
        and "21,000.00" read "3100000", both right at 2×)."""
        glyph = glyph_height(ink_mask(np.asarray(crop.convert("L"))))
        if not 0 < glyph < SMALL_PRINT_GLYPH:
            return self._tesseract.recognize(crop, languages, psm=psm)
        large = crop.resize((crop.width * 2, crop.height * 2), Image.LANCZOS)
        return [line.scaled(0.5) for line in self._tesseract.recognize(large, languages, psm=psm)]

    def _regions(self, image: Image.Image) -> list:
        if not self.layout:
            return []
        from docvlm.layout import detect_regions

        return detect_regions(image)

    def _rapidocr(self) -> RapidOCRBackend:
        if self._rapid is None:
            from docvlm.engines.ocr_rapid import RapidOCRBackend

            self._rapid = RapidOCRBackend()
        return self._rapid


def drop_noise(lines: list[OCRLine]) -> list[OCRLine]:
    """Lines of a well-read page minus its short unsure ones: OCR's reading of a logo, a stamp
    or a stain ("sjnolds |-¢" beside a journal page) that no reader of the page would write."""
    if not lines or statistics.median(line.confidence for line in lines) < WELL_READ_CONFIDENCE:
        return lines
    return [
        line
        for line in lines
        if line.confidence >= NOISE_CONFIDENCE or len(line.text.split()) > NOISE_MAX_WORDS
    ]


def _whitened(image: Image.Image, boxes: tuple[BBox, ...]) -> Image.Image:
    """`image` with `boxes` painted white (the page around its table regions)."""
    if not boxes:
        return image
    image = image.copy()
    for box in boxes:
        image.paste("white", tuple(round(v) for v in box))
    return image


def _sample_lines(lines: list[OCRLine]) -> list[OCRLine]:
    """The lines whose centres lie in the middle TURN_SAMPLE_SHARE of the text's height, or
    all of them where those hold under MIN_SAMPLE_WORDS words (a page of a few lines)."""
    if not lines:
        return []
    top, bottom = min(line.bbox[1] for line in lines), max(line.bbox[3] for line in lines)
    middle = (top + bottom) / 2
    reach = TURN_SAMPLE_SHARE * (bottom - top) / 2
    sample = [line for line in lines if abs((line.bbox[1] + line.bbox[3]) / 2 - middle) <= reach]
    return sample if sum(len(line.words) for line in sample) >= MIN_SAMPLE_WORDS else lines


def _vertical(line_boxes: list[BBox]) -> bool:
    """Whether most of a page's text lies in tall, thin lines (by their length): a page set in
    vertical columns (Tesseract's layout analysis finds them whatever the language)."""
    tall = sum(
        y1 - y0 for x0, y0, x1, y1 in line_boxes if y1 - y0 > VERTICAL_LINE_RATIO * (x1 - x0)
    )
    return tall > 0.5 * sum(max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in line_boxes)


def _names_han(orientation: Orientation) -> bool:
    """Whether OSD named the page's script Han, surely enough to act on."""
    return orientation.script == "Han" and orientation.script_confidence >= MIN_SCRIPT_CONFIDENCE


def _mostly_cjk(lines: list[OCRLine]) -> bool:
    """Whether RapidOCR's reading is Chinese (its lines are kept then)."""
    return cjk_share(" ".join(line.text for line in lines)) >= AUTO_CJK_SHARE


def _clean_text_layer(page: SourcePage) -> bool:
    probe = page.probe
    return (
        page.is_pdf
        and probe.chars > 0
        and probe.garbled_ratio <= MAX_GARBLED_RATIO
        and probe.image_coverage <= MAX_IMAGE_COVERAGE
    )


def text_layer_lines(
    page: SourcePage, to_pixels: float, rotate: int, image_size: tuple[int, int]
) -> list[OCRLine]:
    """The PDF text layer's lines as OCR lines (confidence 1) on the upright page image."""
    grouped: dict[tuple[int, int], list[OCRWord]] = {}
    for x0, y0, x1, y1, text, block, line, _ in page.pdf_page.get_text("words", sort=True):
        box = box_after_turn(scale((x0, y0, x1, y1), to_pixels), rotate, image_size)
        # A word box spans ascender to descender: about 1.2 font sizes of a Latin face.
        grouped.setdefault((block, line), []).append(OCRWord(text, box, 1.0, (y1 - y0) / 1.2))
    lines = []
    for words in grouped.values():
        size = statistics.median(w.size for w in words) * to_pixels
        words = [replace(w, size=size) for w in words]
        text = join_words([w.text for w in words])
        lines.append(OCRLine(text, union([w.bbox for w in words]), 1.0, tuple(words), size))
    return lines


def _outside(lines: list[OCRLine], kept: list[OCRLine]) -> list[OCRLine]:
    """OCR lines that overlap none of the text layer's lines (OCR's reading of text the
    layer already holds is the worse one: "Reduced test-case" read as "Recucec. vesi-case")."""
    return [
        line
        for line in lines
        if not any(overlap(line.bbox, k.bbox) > 0.3 * area(line.bbox) for k in kept)
    ]


def is_blank(image: Image.Image) -> bool:
    """True when the page holds (next to) no ink: white, or only scanner speckles."""
    gray = np.asarray(image.convert("L"))
    ink = cv2.medianBlur(gray, 3) < int(np.median(gray)) - 40  # blurred print is grey, not black
    return ink.mean() < MIN_INK_SHARE


def _text_confidence(blocks: list[Block]) -> float:
    """Mean confidence of the text read, each block weighted by its length."""
    total = sum(len(b.text) for b in blocks)
    return sum((b.confidence or 0.0) * len(b.text) for b in blocks) / total if total else 0.0


def _sure_words(lines: list[OCRLine]) -> int:
    return sum(w.confidence >= SURE_WORD for line in lines for w in line.words)


def _confidence(lines: list[OCRLine]) -> float:
    """Mean word confidence over a page (0 when nothing was read)."""
    scores = [w.confidence for line in lines for w in line.words]
    return sum(scores) / len(scores) if scores else 0.0
