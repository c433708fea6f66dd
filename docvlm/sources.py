"""Open PDFs and images, select pages, rasterize them, and probe their text layer."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import pymupdf
from PIL import Image, ImageOps, ImageSequence

from docvlm.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedPDFError,
    PageRangeError,
    PageTooLargeError,
    UnreadableFileError,
    UnsupportedFileError,
)

Rasterizer = Literal["pymupdf", "poppler"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})
PDF_SUFFIXES = frozenset({".pdf"})
DEFAULT_SIZE = 1024
MIN_SIZE = 896  # SAM branch is trained at 1024; below ~896 px small print is lost
MAX_PAGE_PIXELS = 100_000_000  # decompression-bomb guard (≈10k × 10k)
MAX_PAGE_POINTS = 7200.0  # 100 inches; larger "pages" are drawings or malformed MediaBoxes

# A text layer is trusted when it has enough characters, few of them garbled, and is not
# drawn over a page-sized image (a scan with an OCR layer: its words are someone else's guess).
MIN_TRUSTED_CHARS = 20
MAX_GARBLED_RATIO = 0.10
MAX_IMAGE_COVERAGE = 0.90

_CID_PATTERN = re.compile(r"\(cid:\d+\)")

pymupdf.TOOLS.mupdf_display_errors(False)


@dataclass(frozen=True)
class TextLayerProbe:
    chars: int
    garbled_ratio: float
    image_coverage: float
    trusted: bool
    reason: str


@dataclass
class PageFindings:
    """What an engine learnt about a page besides its blocks; the pipeline puts it on the Page."""

    orientation: int = 0  # clockwise degrees the page image was turned to read it upright
    notes: list[str] = field(default_factory=list)  # e.g. "blank page", "Cyrillic data missing"
    low_confidence: bool = False


NO_TEXT_LAYER = TextLayerProbe(0, 0.0, 1.0, False, "image input has no text layer")


def parse_page_range(spec: str | Sequence[int] | None, page_count: int) -> list[int]:
    """Turn "1-3,7" (1-based, inclusive; "5-" runs to the end) into sorted page numbers."""
    if spec is None:
        return list(range(1, page_count + 1))
    if not isinstance(spec, str):
        numbers = sorted(set(int(n) for n in spec))
    else:
        numbers_set: set[int] = set()
        for part in spec.replace(" ", "").split(","):
            if not part:
                continue
            match = re.fullmatch(r"(\d*)-(\d*)|(\d+)", part)
            if not match or part == "-":
                raise PageRangeError(f"bad page range {part!r}: use forms like 1-3,7 or 5-")
            if match.group(3):
                numbers_set.add(int(match.group(3)))
                continue
            first = int(match.group(1) or 1)
            last = int(match.group(2) or page_count)
            if first > last:
                raise PageRangeError(f"bad page range {part!r}: start is after end")
            numbers_set.update(range(first, min(last, page_count) + 1))
        numbers = sorted(numbers_set)
    out_of_range = [n for n in numbers if n < 1 or n > page_count]
    if out_of_range:
        raise PageRangeError(
            f"page {out_of_range[0]} is out of range: the document has {page_count} page(s)"
        )
    if not numbers:
        raise PageRangeError(f"page range {spec!r} selects no pages")
    return numbers


class SourcePage:
    """One page of a source: its size in points, its PDF page (if any) and lazy rasters."""

    def __init__(
        self,
        source: SourceDocument,
        number: int,
        width: float,
        height: float,
        pdf_page: pymupdf.Page | None = None,
        image: Image.Image | None = None,
    ) -> None:
        self.source = source
        self.number = number
        self.width = width
        self.height = height
        self.pdf_page = pdf_page
        self._image = image
        self.findings = PageFindings()

    @property
    def is_pdf(self) -> bool:
        return self.pdf_page is not None

    def render(self, size: int | None = None) -> Image.Image:
        """RGB raster whose longer side is exactly `size` px (default: the source's size)."""
        size = size or self.source.size
        if self._image is not None:
            return _resize_longer_side(self._image, size)
        if self.source.rasterizer == "poppler":
            image = self.source.poppler_render(self.number, size)
        else:
            zoom = size / max(self.width, self.height)
            pixmap = self.pdf_page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
        return _resize_longer_side(image, size)

    def render_dpi(self, dpi: int) -> Image.Image:
        """RGB raster at `dpi` for PDF pages; image pages are returned at their own resolution."""
        if self._image is not None:
            return self._image
        longer = round(max(self.width, self.height) * dpi / 72)
        return self.render(longer)

    @cached_property
    def probe(self) -> TextLayerProbe:
        if self.pdf_page is None:
            return NO_TEXT_LAYER
        return probe_text_layer(self.pdf_page)


class SourceDocument:
    """An opened PDF or image file with its selected pages; close() releases the file."""

    def __init__(
        self,
        name: str,
        kind: Literal["pdf", "image"],
        page_count: int,
        page_numbers: list[int],
        *,
        size: int = DEFAULT_SIZE,
        rasterizer: Rasterizer = "pymupdf",
        pdf: pymupdf.Document | None = None,
        pdf_bytes: bytes | None = None,
        password: str | None = None,
        images: list[Image.Image] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.page_count = page_count
        self.page_numbers = page_numbers
        self.size = size
        self.rasterizer = rasterizer
        self.pdf = pdf
        self._pdf_bytes = pdf_bytes
        self._password = password
        self._images = images or []
        self.warnings = warnings or []

    def __enter__(self) -> SourceDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()

    def __len__(self) -> int:
        return len(self.page_numbers)

    def page(self, number: int) -> SourcePage:
        if self.pdf is not None:
            pdf_page = self.pdf[number - 1]
            rect = pdf_page.rect
            _check_page_points(rect.width, rect.height)
            return SourcePage(self, number, rect.width, rect.height, pdf_page=pdf_page)
        image = self._images[number - 1]
        return SourcePage(self, number, float(image.width), float(image.height), image=image)

    def pages(self) -> Iterator[SourcePage]:
        """Selected pages in order, opened one at a time so long documents stay small in memory."""
        for number in self.page_numbers:
            yield self.page(number)

    def poppler_render(self, number: int, size: int) -> Image.Image:
        import pdf2image

        data = self._pdf_bytes
        if data is None:
            data = self.pdf.tobytes()
            self._pdf_bytes = data
        images = pdf2image.convert_from_bytes(
            data, first_page=number, last_page=number, size=size, userpw=self._password
        )
        return images[0].convert("RGB")


def open_source(
    source: str | Path | bytes,
    *,
    password: str | None = None,
    pages: str | Sequence[int] | None = None,
    rasterizer: Rasterizer = "pymupdf",
    size: int = DEFAULT_SIZE,
    max_pixels: int = MAX_PAGE_PIXELS,
    name: str | None = None,
) -> SourceDocument:
    """Open a PDF or image (path or bytes); raise a typed DocVLMError when it can't be read."""
    if size < MIN_SIZE:
        raise ValueError(f"size {size} is below the minimum of {MIN_SIZE} px")
    if rasterizer not in ("pymupdf", "poppler"):
        raise ValueError(f"unknown rasterizer {rasterizer!r}: use pymupdf or poppler")
    if isinstance(source, bytes):
        data, name = source, name or "<bytes>"
    else:
        path = Path(source)
        name = name or str(path)
        try:
            data = path.read_bytes()
        except IsADirectoryError:
            raise UnsupportedFileError(f"{name}: is a directory") from None
        except OSError as error:
            raise UnreadableFileError(f"{name}: cannot read ({error.strerror})") from None
    if not data:
        raise EmptyFileError(f"{name}: file is empty (0 bytes)")

    options = dict(size=size, rasterizer=rasterizer)
    if _looks_like_pdf(data):
        pdf = _open_pdf(data, name, password)
        numbers = parse_page_range(pages, pdf.page_count)
        warnings = ["damaged PDF (broken xref) was repaired by MuPDF"] if pdf.is_repaired else []
        return SourceDocument(
            name,
            "pdf",
            pdf.page_count,
            numbers,
            pdf=pdf,
            pdf_bytes=data,
            password=password,
            warnings=warnings,
            **options,
        )
    images = _open_images(data, name, max_pixels)
    numbers = parse_page_range(pages, len(images))
    return SourceDocument(name, "image", len(images), numbers, images=images, **options)


def probe_text_layer(pdf_page: pymupdf.Page) -> TextLayerProbe:
    """Decide whether a PDF page's text layer can stand in for reading the page."""
    text = pdf_page.get_text("text")
    visible = [c for c in text if not c.isspace()]
    chars = len(visible)
    garbled = sum(1 for c in visible if _is_garbled(c)) + 5 * len(_CID_PATTERN.findall(text))
    garbled_ratio = garbled / chars if chars else 0.0
    page_area = abs(pdf_page.rect) or 1.0
    coverage = 0.0
    for info in pdf_page.get_image_info():
        box = pymupdf.Rect(info["bbox"]) & pdf_page.rect
        coverage = max(coverage, abs(box) / page_area)

    if chars < MIN_TRUSTED_CHARS:
        reason = f"text layer has {chars} characters (< {MIN_TRUSTED_CHARS})"
        trusted = False
    elif garbled_ratio > MAX_GARBLED_RATIO:
        reason = f"text layer is garbled ({garbled_ratio:.0%} unreadable characters)"
        trusted = False
    elif coverage > MAX_IMAGE_COVERAGE:
        reason = f"text is drawn over a page-sized image ({coverage:.0%} of the page)"
        trusted = False
    else:
        reason = f"born-digital text layer ({chars} characters)"
        trusted = True
    return TextLayerProbe(chars, garbled_ratio, coverage, trusted, reason)


def _is_garbled(char: str) -> bool:
    code = ord(char)
    return char == "\ufffd" or 0xE000 <= code <= 0xF8FF or code < 0x20


def _looks_like_pdf(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def _open_pdf(data: bytes, name: str, password: str | None) -> pymupdf.Document:
    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as error:
        raise CorruptFileError(f"{name}: corrupt PDF ({error})") from None
    if pdf.needs_pass:
        if password is None:
            pdf.close()
            raise EncryptedPDFError(f"{name}: PDF is encrypted; pass its password with --password")
        if not pdf.authenticate(password):
            pdf.close()
            raise EncryptedPDFError(f"{name}: wrong password for encrypted PDF")
    if pdf.page_count == 0:
        pdf.close()
        raise EmptyFileError(f"{name}: PDF has no pages")
    return pdf


def _open_images(data: bytes, name: str, max_pixels: int) -> list[Image.Image]:
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise PageTooLargeError(
            f"{name}: image exceeds the {max_pixels:,}-pixel limit (decompression-bomb guard)"
        ) from None
    except (Image.UnidentifiedImageError, OSError):
        raise UnsupportedFileError(
            f"{name}: not a PDF or a supported image (starts with {data[:8]!r})"
        ) from None
    if image.width * image.height > max_pixels:
        raise PageTooLargeError(
            f"{name}: image is {image.width}×{image.height} px, over the {max_pixels:,}-pixel limit"
        )
    try:
        # A phone photo stores its rotation as an EXIF tag instead of turning the pixels.
        frames = [ImageOps.exif_transpose(f).convert("RGB") for f in ImageSequence.Iterator(image)]
    except (OSError, SyntaxError, ValueError) as error:
        raise CorruptFileError(f"{name}: corrupt image ({error})") from None
    return frames


def _check_page_points(width: float, height: float) -> None:
    if max(width, height) > MAX_PAGE_POINTS:
        raise PageTooLargeError(
            f"page is {width / 72:.0f}×{height / 72:.0f} in, over the "
            f"{MAX_PAGE_POINTS / 72:.0f}-inch limit"
        )


def _resize_longer_side(image: Image.Image, size: int) -> Image.Image:
    image = image.convert("RGB")
    longer = max(image.size)
    if longer == size:
        return image
    scale = size / longer
    new_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if max(new_size) != size:  # rounding: pin the longer side exactly
        new_size = (size, new_size[1]) if image.width >= image.height else (new_size[0], size)
    return image.resize(new_size, Image.Resampling.BICUBIC)
