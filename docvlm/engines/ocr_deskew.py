"""Deskew: a page scanned a degree or two askew is turned level before layout, OCR and tables.

Why: img2table finds no grid on a table whose rules run at 1.5° (its own Document deskews
before looking; docvlm hands it crops of the page). The angle comes from img2table's own
estimator (pairs of glyph centroids on a line, best candidate by projection sharpness), so
both measure skew the same way; the page is turned with an affine map kept for the boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from docvlm.document import BBox

# img2table turns a page at 0.25° and more; below that rules stay within a pixel or two over
# a table's width.
MIN_SKEW = 0.25
MAX_SKEW = 10.0  # a larger "skew" is a misreading of a figure or a turned block, not a scan


@dataclass(frozen=True)
class Deskew:
    """The affine map from the page image as it came to the level image (and its inverse)."""

    angle: float  # degrees, counter-clockwise as the level image was turned
    forward: np.ndarray  # 2×3
    inverse: np.ndarray  # 2×3

    def box_before(self, bbox: BBox) -> BBox:
        """A box on the level image mapped back onto the image as it came (its bounding box)."""
        return _mapped(bbox, self.inverse)

    def box_after(self, bbox: BBox) -> BBox:
        """A box on the image as it came mapped onto the level image (its bounding box)."""
        return _mapped(bbox, self.forward)


def _mapped(bbox: BBox, affine: np.ndarray) -> BBox:
    x0, y0, x1, y1 = bbox
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64)
    points = corners @ affine.T
    low, high = points.min(axis=0), points.max(axis=0)
    return (float(low[0]), float(low[1]), float(high[0]), float(high[1]))


def skew_angle(image: Image.Image) -> float:
    """The page's skew in degrees (counter-clockwise turn that levels it; 0 when unsure)."""
    from img2table.document.rotation import (
        estimate_skew,
        get_connected_components,
        get_relevant_angles,
    )

    gray = np.asarray(image.convert("L"))
    centroids, glyph_height, thresh = get_connected_components(img=gray)
    if len(centroids) < 2:
        return 0.0
    angle = float(estimate_skew(get_relevant_angles(centroids, glyph_height), thresh))
    return angle if MIN_SKEW <= abs(angle) <= MAX_SKEW else 0.0


def deskew(image: Image.Image) -> tuple[Image.Image, Deskew | None]:
    """`image` turned level (grown to hold all of it, white around) and the map used; the
    image itself and None when it is level already."""
    angle = skew_angle(image)
    if not angle:
        return image, None
    width, height = image.size
    forward = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(forward[0, 0]), abs(forward[0, 1])
    level_width, level_height = round(height * sin + width * cos), round(height * cos + width * sin)
    forward[0, 2] += level_width / 2 - width / 2
    forward[1, 2] += level_height / 2 - height / 2
    level = cv2.warpAffine(
        np.asarray(image.convert("RGB")),
        forward,
        (level_width, level_height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )
    return Image.fromarray(level), Deskew(angle, forward, cv2.invertAffineTransform(forward))
