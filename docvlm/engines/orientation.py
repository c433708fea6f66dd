"""Page orientation (0/90/180/270) and script, from Tesseract's OSD (`tesseract --psm 0`).

Why OSD rather than RapidOCR's direction classifier: that classifier only tells 0° from 180°
for single text lines, so it cannot see a page turned by 90°; OSD reads the whole page and
also names its script, which picks the Tesseract language. OSD runs on a copy downscaled to
OSD_LONGER_SIDE px: at 300 dpi it takes seconds for no better answer (on 94 turned corpus
renderings it was right on 87 at 2400 px and on 83 at 1600 px).

OSD classifies blobs one by one until `min_characters_to_try` (50) are seen: 1.0–1.5 s a page.
`PageOSD` first looks at QUICK_CHARACTERS (0.6–1.0 s) for the turn, and asks for the full count
only where the quick look is unsure, or where a page read poorly wants its script (on 20
characters OSD named a short Cyrillic page Latin, and an English page Cyrillic) and the quick
look named neither Han nor, surely, Latin.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from PIL import Image

OSD_LONGER_SIDE = 2400
# Below this orientation confidence OSD's answer is a guess and the page is read as it came.
# On 93 rendered corpus pages (all four turns, 150/200 dpi, clean/blurred/skewed; at 2400 px)
# OSD was right on 87 when trusted from 0.3 up, 85 from 1.0 up: low scores are mostly right.
MIN_ORIENTATION_CONFIDENCE = 0.3
# OSD's script score is low even when right (0.83 for a clean Cyrillic page, 1.4 for vertical
# Japanese) and high when wrong (5.6 "Cyrillic" for an English page in capitals): the script
# is only tried on pages the chosen languages read poorly, and kept if it reads them better.
MIN_SCRIPT_CONFIDENCE = 0.5
# Tesseract's default blob count, and the quick look's. On 84 corpus renderings (all four turns)
# the quick look's turn differed from the full one's only where its confidence was below 1.0
# (0.03–0.27); on the 66 of bench/scanned.py also at 1.02, where the quick look had a page
# upside down (la-precinct-bulletin: the full OSD 2.93 right; read the wrong way up first,
# 9 s thrown away), and never from 1.5 up. Above this the quick look is trusted.
FULL_CHARACTERS = 50
QUICK_CHARACTERS = 20
QUICK_MIN_CONFIDENCE = 1.5

# The quick look's Latin settles the script from this score: it named a Cyrillic page Latin at
# 0.8 (the full OSD: Cyrillic), and corpus pages in Latin script 1.3–9.
QUICK_LATIN_SCRIPT = 2.0

_FIELD = re.compile(r"^([A-Za-z ]+):\s*(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Orientation:
    """How far the page is turned (clockwise degrees to undo) and the script OSD saw."""

    rotate: int  # degrees to turn the image clockwise so its text reads upright
    confidence: float
    script: str | None = None
    script_confidence: float = 0.0


UPRIGHT = Orientation(0, 0.0)


class PageOSD:
    """OSD of one page image, run when first asked: `turn` from a quick look (the full OSD where
    that is unsure), `full` for the script (and a second opinion on the turn)."""

    def __init__(self, detect: Callable[[int], Orientation]) -> None:
        """`detect(characters)`: OSD of the page classifying that many blobs."""
        self._detect = detect
        self._full: Orientation | None = None

    @property
    def full(self) -> Orientation:
        if self._full is None:
            self._full = self._detect(FULL_CHARACTERS)
        return self._full

    @cached_property
    def quick(self) -> Orientation:
        return self._detect(QUICK_CHARACTERS)

    @cached_property
    def turn(self) -> Orientation:
        return self.quick if self.quick.confidence >= QUICK_MIN_CONFIDENCE else self.full

    @property
    def script(self) -> Orientation:
        """The look that names the page's script: the quick one where it names Han, which
        sends the page to RapidOCR, whose reading is checked for CJK anyway (on the corpus's
        Chinese pages the quick look named Han as the full one did, at a third of the cost),
        or Latin at QUICK_LATIN_SCRIPT; the full one otherwise."""
        quick = self.quick
        settled = quick.script == "Han" or (
            quick.script == "Latin" and quick.script_confidence >= QUICK_LATIN_SCRIPT
        )
        return quick if settled and self._full is None else self.full


def osd_image(image: Image.Image) -> Image.Image:
    """The grayscale copy of `image` that OSD reads: at most OSD_LONGER_SIDE px."""
    small = image.convert("L")
    scale = OSD_LONGER_SIDE / max(small.size)
    if scale < 1:
        small = small.resize((round(small.width * scale), round(small.height * scale)))
    return small


def detect_orientation(
    image: Image.Image, executable: str, tessdata: str, characters: int = FULL_CHARACTERS
) -> Orientation:
    """OSD's reading of `image` from `characters` blobs by the `tesseract` command; UPRIGHT
    when it finds too little text."""
    buffer = io.BytesIO()
    osd_image(image).save(buffer, format="PPM")
    command = [executable, "stdin", "stdout", "--tessdata-dir", tessdata, "--psm", "0"]
    command += ["-c", f"min_characters_to_try={characters}"]
    result = subprocess.run(
        command,
        input=buffer.getvalue(),
        capture_output=True,
        timeout=60,
        env=dict(os.environ, OMP_THREAD_LIMIT="1"),
        check=False,
    )
    return parse_osd(result.stdout.decode(errors="replace")) if result.returncode == 0 else UPRIGHT


def parse_osd(text: str) -> Orientation:
    """Orientation from OSD's report ("Rotate: 90", "Orientation confidence: 4.1", ...)."""
    fields = dict(_FIELD.findall(text))
    try:
        # OSD's "Rotate" is the clockwise turn that makes the page upright (its "Orientation in
        # degrees" is the opposite turn).
        rotate = int(fields["Rotate"]) % 360
        confidence = float(fields["Orientation confidence"])
    except (KeyError, ValueError):
        return UPRIGHT
    script_confidence = float(fields.get("Script confidence", 0) or 0)
    return trusted(rotate, confidence, fields.get("Script"), script_confidence)


def trusted(
    rotate: int, confidence: float, script: str | None, script_confidence: float
) -> Orientation:
    """OSD's findings as an Orientation, its turn dropped where its confidence is too low."""
    if confidence < MIN_ORIENTATION_CONFIDENCE:
        rotate = 0
    return Orientation(rotate, confidence, script, script_confidence)


def upright(image: Image.Image, orientation: Orientation) -> Image.Image:
    """`image` turned so that its text reads upright."""
    if orientation.rotate == 0:
        return image
    return image.rotate(-orientation.rotate, expand=True)  # PIL turns counter-clockwise


def box_after_turn(
    bbox: tuple[float, float, float, float], rotate: int, original_size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A box on the image as it came mapped onto the upright image (the inverse of below)."""
    return box_before_turn(bbox, (360 - rotate) % 360, original_size)


def box_before_turn(
    bbox: tuple[float, float, float, float], rotate: int, upright_size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """A box on the upright image mapped back onto the image as it came (before `upright`)."""
    x0, y0, x1, y1 = bbox
    width, height = upright_size
    if rotate == 90:  # the upright image is the original turned clockwise
        return (y0, width - x1, y1, width - x0)
    if rotate == 180:
        return (width - x1, height - y1, width - x0, height - y0)
    if rotate == 270:
        return (height - y1, x0, height - y0, x1)
    return bbox
