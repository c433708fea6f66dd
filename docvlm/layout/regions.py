"""Layout regions from rapid-layout's PP-PicoDet model trained on CDLA (ONNX inside its wheel).

The only layout-model wrapper in docvlm: OCR on scans uses it, and any engine that needs
regions of a page image may. Only the CDLA model ships in the wheel (the others would be
downloaded at first use, which an offline machine cannot); bench/scanned.py measures it
against reading the page without regions.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from docvlm.document import BBox
from docvlm.errors import EngineUnavailableError

RegionKind = Literal[
    "text", "title", "list", "table", "figure", "caption", "header", "footer", "formula"
]
# CDLA's ten classes in docvlm's words ("reference" is a bibliography paragraph).
_CDLA_KINDS: dict[str, RegionKind] = {
    "text": "text",
    "title": "title",
    "figure": "figure",
    "figure_caption": "caption",
    "table": "table",
    "table_caption": "caption",
    "header": "header",
    "footer": "footer",
    "reference": "text",
    "equation": "formula",
}
# The model reads an 800×608 input; a larger copy only costs resizing time.
MODEL_LONGER_SIDE = 1024
MIN_SCORE = 0.5


@dataclass(frozen=True)
class Region:
    """A layout region of a page image, `bbox` in that image's pixels."""

    kind: RegionKind
    bbox: BBox
    score: float


def detect_regions(image: Image.Image, min_score: float = MIN_SCORE) -> list[Region]:
    """Layout regions of `image` (pixels of `image`), best-scoring first."""
    scale = min(1.0, MODEL_LONGER_SIDE / max(image.size))
    small = image.convert("RGB")
    if scale < 1:
        small = small.resize((round(image.width * scale), round(image.height * scale)))
    result = _load_model()(np.asarray(small))
    regions = [
        Region(_CDLA_KINDS.get(name, "text"), tuple(v / scale for v in box), float(score))
        for box, name, score in zip(
            result.boxes or [], result.class_names or [], result.scores or [], strict=True
        )
        if score >= min_score
    ]
    return sorted(regions, key=lambda region: -region.score)


@functools.cache
def _load_model():
    """One model per process, on one thread: pages are parallelised by worker processes."""
    try:
        from rapid_layout import RapidLayout
    except ImportError:
        raise EngineUnavailableError(
            "rapid-layout is not installed: pip install rapid-layout"
        ) from None
    logging.disable(logging.INFO)  # its loggers announce every model file it opens
    try:
        return RapidLayout(engine_cfg={"intra_op_num_threads": 1, "inter_op_num_threads": 1})
    finally:
        logging.disable(logging.NOTSET)
