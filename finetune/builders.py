"""Data engines that write a manifest: synthetic forms, prior-free random text, PDF pages.

Random text is for reading pretraining: its targets have no prior (no formats, no name
lists), so a decoder cannot lower the loss without reading the image.
"""

from __future__ import annotations

import io
import random
import string
from functools import cache
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFont

from docvlm.errors import DocVLMError
from docvlm.sources import DEFAULT_SIZE, open_source

from .manifest import Example, Glyph, write_manifest

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSerif-Italic.ttf",
    # PDF base-14 faces, as forms print them (pymupdf ships them).
    "helv",
    "hebo",
    "tiro",
    "cour",
)
Box = tuple[float, float, float, float]
CHARACTERS = string.ascii_letters + string.digits + "-.,:/$%#()"
FORMAT_QUERY = "OCR with format: "


def random_text_line(rng: random.Random, min_chars: int, max_chars: int) -> str:
    """Random characters, a run of random words, or a number, up to `max_chars` long."""
    length = rng.randint(min_chars, max_chars)
    kind = rng.choice(("chars", "words", "number"))
    if kind == "chars":
        return "".join(rng.choice(CHARACTERS) for _ in range(length))
    if kind == "number":
        # At least three digits, so short numbers are not all "$.5"-like strings a decoder
        # could learn as a prior.
        digits = "".join(rng.choice(string.digits) for _ in range(max(3, length - 2)))
        return rng.choice(("", "$", "#")) + digits[:-2] + rng.choice((".", ",")) + digits[-2:]
    words: list[str] = []
    while len(" ".join(words)) < length:
        word_length = rng.randint(1, 8)
        letters = string.ascii_lowercase if rng.random() < 0.7 else string.ascii_letters
        words.append("".join(rng.choice(letters) for _ in range(word_length)))
    return " ".join(words)[:length].strip() or "a"


def render_text(
    lines: list[str],
    rng: random.Random,
    width: int,
    height: int,
    font_sizes: tuple[int, int],
    fonts: tuple[str, ...] = FONT_FILES,
) -> tuple[Image.Image, list[str], list[Glyph]]:
    """Black-ish text on a light background, one font per image, lines stacked from the top
    with random gaps. Lines are laid out before drawing: a line too wide is shortened, lines
    below the bottom are dropped, so all ink stays 2 px inside the border. Returns the image,
    the lines printed and each character's box (shares of the image size)."""
    image = Image.new("RGB", (width, height), tuple(rng.randint(225, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    size = rng.randint(*font_sizes)
    font = _font(rng.choice(fonts), size)
    ink = tuple(rng.randint(0, 60) for _ in range(3))
    printed: list[str] = []
    glyphs: list[Glyph] = []
    y = rng.randint(2, 8)
    for line in lines:
        left, top, right, bottom = draw.textbbox((0, 0), line, font=font)
        while len(line) > 1 and right - left > width - 4:
            line = line[:-1]
            left, top, right, bottom = draw.textbbox((0, 0), line, font=font)
        if y + bottom - top > height - 2 or right - left > width - 4:
            break
        x = rng.randint(2, width - (right - left) - 2)
        draw.text((x - left, y - top), line, font=font, fill=ink)
        for index, char in enumerate(line):
            x0, x1 = (x - left + font.getlength(line[:end]) for end in (index, index + 1))
            glyphs.append((char, x0 / width, y / height, x1 / width, (y + bottom - top) / height))
        printed.append(line)
        y += (bottom - top) + rng.randint(max(4, size // 5), max(10, size * 3 // 2))
    return image, printed, glyphs


def synth_text(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    size: tuple[int, int] = (256, 256),
    lines: tuple[int, int] = (1, 4),
    chars: tuple[int, int] = (4, 16),
    font_sizes: tuple[int, int] = (16, 24),
    glyphs: bool = False,
    fonts: tuple[str, ...] = FONT_FILES,
) -> Path:
    """Write `n` random-text images and `manifest.jsonl` (target = the lines, newline-joined).

    Lines that would not fit the image are dropped, so every target is fully visible.
    `glyphs` adds each character's box to the rows, for the glyph loss. `fonts` are files
    under FONT_DIR or PDF base-14 names (helv, hebo, tiro, cour, …).
    """
    unknown = [name for name in fonts if not _font_exists(name)]
    if not fonts or unknown:
        raise DocVLMError(f"unknown font {', '.join(unknown) or '(none given)'}: use a file "
                          f"under {FONT_DIR} or a PDF base-14 name such as helv")  # fmt: skip
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    width, height = size
    if height < font_sizes[0] + 12 or width < font_sizes[0] + 8:
        raise DocVLMError(f"a {width}×{height} px image cannot hold {font_sizes[0]} px text")
    examples = []
    for index in range(n):
        fitted: list[str] = []
        while not "".join(fitted).strip():  # the largest font may not fit: draw again
            text = [random_text_line(rng, *chars) for _ in range(rng.randint(*lines))]
            image, fitted, boxes = render_text(text, rng, width, height, font_sizes, fonts)
        path = out_dir / "images" / f"{index:06d}.png"
        image.save(path)
        examples.append(
            Example(target="\n".join(fitted), image=path, glyphs=boxes if glyphs else None)
        )
    return write_manifest(examples, out_dir / "manifest.jsonl")


def synth_forms(
    out_dir: str | Path,
    n: int,
    layouts: tuple[str, ...] = ("invoice", "claim", "application"),
    seed: int = 0,
    scanned: float = 0.0,
    png_size: int | None = None,
    crop: Box | None = None,
    glyphs: bool = False,
    anchors: str | None = None,
) -> Path:
    """Write `n` synthetic forms (PDF, or PNG when `png_size` is set) and their JSON targets.

    `scanned` is the share of forms given scan noise (blur, rotation, JPEG). PNGs show the
    `crop` box of the page (points) with its longer side at `png_size`; `glyphs` adds each
    printed character's box in the PNG to the rows, for the glyph loss. `anchors` (auto, text,
    ocr, none) is recorded in each row; auto resolves to what the page has: ocr for scans and
    PNGs, text otherwise.
    """
    from .synth import LAYOUTS, PAGE_HEIGHT, PAGE_WIDTH, is_layout, synth_form

    unknown = {layout for layout in layouts if not is_layout(layout)}
    if unknown:
        raise DocVLMError(
            f"unknown layout {', '.join(sorted(unknown))}: use {', '.join(LAYOUTS)} or t0, t1, …"
        )
    out_dir = Path(out_dir)
    (out_dir / "forms").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    examples = []
    for index in range(n):
        layout = layouts[index % len(layouts)]
        form = synth_form(layout, seed=seed * 1_000_003 + index, scanned=rng.random() < scanned)
        pdf_path = out_dir / "forms" / f"{index:06d}_{layout}.pdf"
        pdf_path.write_bytes(form.pdf)
        row_anchors = anchors
        if anchors == "auto":
            row_anchors = "ocr" if form.scanned or png_size is not None else "text"
        if png_size is None:
            examples.append(Example(target=form.values, pdf=pdf_path, anchors=row_anchors))
            continue
        png_path = pdf_path.with_suffix(".png")
        clip = pymupdf.Rect(crop) if crop else pymupdf.Rect(0, 0, PAGE_WIDTH, PAGE_HEIGHT)
        _render_png(form.pdf, clip, png_size, png_path)
        pdf_path.unlink()
        boxes = None
        if glyphs:
            # Boxes come from the born-digital twin: a scan has no text layer to read them from.
            born_digital = (
                synth_form(layout, seed=seed * 1_000_003 + index).pdf if form.scanned else form.pdf
            )
            boxes = pdf_glyphs(born_digital, clip)
        examples.append(
            Example(target=form.values, image=png_path, glyphs=boxes, anchors=row_anchors)
        )
    return write_manifest(examples, out_dir / "manifest.jsonl")


def from_pdfs(pdf_dir: str | Path, out_dir: str | Path, render_size: int = DEFAULT_SIZE) -> Path:
    """Page image + text-layer markdown pairs for every born-digital page under `pdf_dir`.

    Pages without a trustworthy text layer are skipped: their labels would be OCR guesses.
    """
    from docvlm.pipeline import parse

    pdf_dir, out_dir = Path(pdf_dir), Path(out_dir)
    pdfs = sorted(pdf_dir.rglob("*.pdf"))
    if not pdfs:
        raise DocVLMError(f"{pdf_dir}: no .pdf files found")
    (out_dir / "pages").mkdir(parents=True, exist_ok=True)
    examples = []
    for pdf in pdfs:
        document = parse(pdf, engine="text")
        with open_source(pdf) as source:
            for page in document.pages:
                markdown = page.to_markdown().strip()
                if not markdown or not source.page(page.number).probe.trusted:
                    continue
                path = out_dir / "pages" / f"{pdf.stem}_p{page.number:04d}.png"
                source.page(page.number).render(render_size).save(path)
                examples.append(Example(target=markdown, image=path, prompt=FORMAT_QUERY))
    if not examples:
        raise DocVLMError(f"{pdf_dir}: no page has a usable text layer")
    return write_manifest(examples, out_dir / "manifest.jsonl")


def pdf_glyphs(pdf: bytes, clip: pymupdf.Rect) -> list[Glyph]:
    """Every character on the first page whose centre lies in `clip`, boxed as shares of it."""
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        text = document[0].get_text("rawdict", clip=clip)
    glyphs: list[Glyph] = []
    for block in text["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                for char in span["chars"]:
                    x0, y0, x1, y1 = char["bbox"]
                    if not clip.contains(pymupdf.Point((x0 + x1) / 2, (y0 + y1) / 2)):
                        continue
                    glyphs.append((
                        char["c"],
                        (x0 - clip.x0) / clip.width,
                        (y0 - clip.y0) / clip.height,
                        (x1 - clip.x0) / clip.width,
                        (y1 - clip.y0) / clip.height,
                    ))  # fmt: skip
    return glyphs


def _render_png(pdf: bytes, clip: pymupdf.Rect, size: int, path: Path) -> None:
    """Rasterize `clip` of the first page with its longer side at `size` px."""
    zoom = size / max(clip.width, clip.height)
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        pixmap = document[0].get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip)
    pixmap.save(path)


def _font(name: str, size: int) -> ImageFont.ImageFont:
    if "." not in name:
        return ImageFont.truetype(io.BytesIO(_base14(name)), size)
    path = FONT_DIR / name
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _font_exists(name: str) -> bool:
    if "." in name:
        return (FONT_DIR / name).is_file() or name in FONT_FILES
    try:
        _base14(name)
    except pymupdf.mupdf.FzErrorBase:
        return False
    return True


@cache
def _base14(name: str) -> bytes:
    return pymupdf.Font(name).buffer
