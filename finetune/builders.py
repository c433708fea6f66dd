"""Data engines that write a manifest: synthetic forms, prior-free random text, PDF pages.

Random text is for reading pretraining: its targets have no prior (no formats, no name
lists), so a decoder cannot lower the loss without reading the image.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from docvlm.errors import DocVLMError
from docvlm.sources import DEFAULT_SIZE, open_source

from .manifest import Example, write_manifest

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSerif-Italic.ttf",
)
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
    lines: list[str], rng: random.Random, width: int, height: int, font_sizes: tuple[int, int]
) -> Image.Image:
    """Black-ish text on a light background, one font per image, lines stacked from the top."""
    image = Image.new("RGB", (width, height), tuple(rng.randint(225, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    font = _font(rng.choice(FONT_FILES), rng.randint(*font_sizes))
    ink = tuple(rng.randint(0, 60) for _ in range(3))
    y = rng.randint(2, 8)
    for line in lines:
        left, top, right, bottom = draw.textbbox((0, 0), line, font=font)
        x = rng.randint(2, max(2, width - (right - left) - 2))
        draw.text((x - left, y - top), line, font=font, fill=ink)
        y += (bottom - top) + rng.randint(4, 10)
    return image


def synth_text(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    size: tuple[int, int] = (256, 256),
    lines: tuple[int, int] = (1, 4),
    chars: tuple[int, int] = (4, 16),
    font_sizes: tuple[int, int] = (16, 24),
) -> Path:
    """Write `n` random-text images and `manifest.jsonl` (target = the lines, newline-joined).

    Lines that would not fit the image are dropped, so every target is fully visible.
    """
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    width, height = size
    examples = []
    for index in range(n):
        text = [random_text_line(rng, *chars) for _ in range(rng.randint(*lines))]
        image, fitted = _render_fitting(text, rng, width, height, font_sizes)
        path = out_dir / "images" / f"{index:06d}.png"
        image.save(path)
        examples.append(Example(target="\n".join(fitted), image=path))
    return write_manifest(examples, out_dir / "manifest.jsonl")


def synth_forms(
    out_dir: str | Path,
    n: int,
    layouts: tuple[str, ...] = ("invoice", "claim", "application"),
    seed: int = 0,
    scanned: float = 0.0,
    png_size: int | None = None,
) -> Path:
    """Write `n` synthetic forms (PDF, or PNG when `png_size` is set) and their JSON targets.

    `scanned` is the share of forms given scan noise (blur, rotation, JPEG).
    """
    from .synth import LAYOUTS, synth_form

    unknown = set(layouts) - set(LAYOUTS)
    if unknown:
        raise DocVLMError(f"unknown layout {', '.join(sorted(unknown))}: use {', '.join(LAYOUTS)}")
    out_dir = Path(out_dir)
    (out_dir / "forms").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    examples = []
    for index in range(n):
        layout = layouts[index % len(layouts)]
        form = synth_form(layout, seed=seed * 1_000_003 + index, scanned=rng.random() < scanned)
        pdf_path = out_dir / "forms" / f"{index:06d}_{layout}.pdf"
        pdf_path.write_bytes(form.pdf)
        if png_size is None:
            examples.append(Example(target=form.values, pdf=pdf_path))
            continue
        png_path = pdf_path.with_suffix(".png")
        Example(target="", pdf=pdf_path).load_image(png_size).save(png_path)
        pdf_path.unlink()
        examples.append(Example(target=form.values, image=png_path))
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


def _render_fitting(
    lines: list[str],
    rng: random.Random,
    width: int,
    height: int,
    font_sizes: tuple[int, int],
) -> tuple[Image.Image, list[str]]:
    """Render, dropping trailing lines and shortening lines until everything is inside."""
    while True:
        state = rng.getstate()
        image = render_text(lines, rng, width, height, font_sizes)
        if _fits(image) or (len(lines) == 1 and len(lines[0]) <= 1):
            return image, lines
        rng.setstate(state)
        lines = lines[:-1] if len(lines) > 1 else [lines[0][:-1]]


def _fits(image: Image.Image) -> bool:
    """No ink touches the border (text that ran off the image would touch it)."""
    gray = image.convert("L")
    width, height = gray.size
    border = [gray.crop((0, 0, width, 2)), gray.crop((0, height - 2, width, height))]
    border += [gray.crop((0, 0, 2, height)), gray.crop((width - 2, 0, width, height))]
    return all(strip.getextrema()[0] > 150 for strip in border)


def _font(name: str, size: int) -> ImageFont.ImageFont:
    path = FONT_DIR / name
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)
