"""Text-layer speed and accuracy: docvlm's text engine vs pymupdf4llm (default and legacy mode).

Runs all three on samples/report.pdf and on a generated N-page report (random content laid
out by samples/generate.py, so the ground-truth markdown is known), in one process, and
prints pages/s, the speed ratio against each pymupdf4llm mode, and the normalized edit
distance to the ground truth, both on the markdown and on its text with markup stripped.

    python bench/textlayer.py [--pages 50] [--repeats 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pymupdf
import pymupdf4llm

from docvlm.document import Document, Page
from docvlm.engines.textlayer import TextLayerEngine
from docvlm.metrics import normalize_whitespace, normalized_edit_distance
from docvlm.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "samples"))
import generate  # noqa: E402  (samples/generate.py: the layout code that made the samples)

_VOCABULARY = (
    "the data model page table column archive review search engine layout report scanned "
    "digital pipeline reader sample result method value field invoice customer vendor order "
    "quarter budget figure summary analysis quality measure error rate speed worker batch cost "
    "storage index query answer question source record format output input structure network "
    "language vision system process request response estimate forecast growth region market "
    "product service contract payment account balance"
)
WORDS = _VOCABULARY.split()
LONG_WORDS = ["infor~mation", "docu~mentation", "recog~nition", "organi~zation", "evalu~ation"]


def _sentence(rng: random.Random, words: int) -> str:
    picked = [rng.choice(WORDS) for _ in range(words)]
    if rng.random() < 0.5:
        k = rng.randrange(words)
        picked[k] = rng.choice(LONG_WORDS)
    if rng.random() < 0.5:
        k = rng.randrange(words - 1)
        picked[k] = f"**{picked[k]}**"
    if rng.random() < 0.5:
        k = rng.randrange(words - 1)
        if not picked[k].startswith("**"):
            picked[k] = f"*{picked[k]}*"
    return " ".join(picked).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> generate.Para:
    return generate.Para(" ".join(_sentence(rng, rng.randint(8, 14)) for _ in range(sentences)))


def _title(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).title()


def _table(rng: random.Random, ruled: bool) -> generate.TableRows:
    columns = rng.randint(3, 4)
    header = [_title(rng, rng.randint(1, 2)) for _ in range(columns)]
    rows = [
        [_title(rng, rng.randint(1, 2))] + [str(rng.randint(1, 9999)) for _ in range(columns - 1)]
        for _ in range(rng.randint(3, 5))
    ]
    return generate.TableRows([header, *rows], ruled=ruled)


def random_report(pages: int, seed: int) -> generate.Report:
    """A report of two-column and full-width sections with headings, lists and tables."""
    rng = random.Random(seed)
    content = []
    for number in range(pages):
        columns = []
        for _ in range(2):
            column: list = [generate.Heading(2, _title(rng, rng.randint(1, 3)))]
            column.append(_paragraph(rng, rng.randint(2, 3)))
            if rng.random() < 0.5:
                items = [(1, _sentence(rng, rng.randint(3, 6))) for _ in range(rng.randint(2, 4))]
                column.append(generate.ListItems(items, ordered=rng.random() < 0.5))
            column += [generate.Heading(3, _title(rng, 2)), _paragraph(rng, 2)]
            columns.append(column)
        sections = [generate.Section(columns)]
        if number == 0:
            sections.insert(0, generate.Section([[generate.Heading(1, _title(rng, 4))]]))
        full_width = [_paragraph(rng, 2), _table(rng, ruled=rng.random() < 0.5), _paragraph(rng, 2)]
        sections.append(generate.Section([full_width]))
        content.append(generate.PageContent(sections))
    return generate.Report("Generated benchmark report", "Page {page} of {pages}", content)


def docvlm_markdown(pdf_bytes: bytes) -> str:
    """docvlm's text engine over every page, furniture marked, rendered to markdown."""
    engine = TextLayerEngine()
    with open_source(pdf_bytes) as source:
        pages = list(source.pages())
        pages_blocks = [engine.parse(page) for page in pages]
        engine.finish_document(pages_blocks)
        return Document(
            pages=[
                Page(number=p.number, width=p.width, height=p.height, blocks=b)
                for p, b in zip(pages, pages_blocks, strict=True)
            ]
        ).to_markdown()


def pymupdf4llm_markdown(pdf_bytes: bytes, layout: bool) -> str:
    """pymupdf4llm's markdown: default (layout model) or legacy mode; page furniture left out."""
    pymupdf4llm.use_layout(layout)
    # OCR off: every page here is born-digital, and OCR would only add time.
    options = {"header": False, "footer": False, "use_ocr": False} if layout else {}
    quiet = io.StringIO()
    with (
        pymupdf.open(stream=pdf_bytes, filetype="pdf") as pdf,
        contextlib.redirect_stdout(quiet),
        contextlib.redirect_stderr(quiet),
    ):
        return pymupdf4llm.to_markdown(pdf, **options)


def plain(markdown: str) -> str:
    """Markdown with its markup removed, so different table/emphasis styles cost nothing."""
    text = re.sub(r"^\s*(#+|[-*]|\d+\.)\s+", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"^\|?[-:| ]+\|?$", "", text, flags=re.MULTILINE)
    return normalize_whitespace(re.sub(r"[*_|`]", " ", text))


def timed(convert: Callable[[], str], repeats: int) -> tuple[float, str]:
    """Best wall time of `repeats` runs, and the output."""
    best, output = float("inf"), ""
    for _ in range(repeats):
        start = time.perf_counter()
        output = convert()
        best = min(best, time.perf_counter() - start)
    return best, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50, help="pages in the generated document")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    generated = generate.render_report(random_report(args.pages, args.seed))
    documents = {
        "samples/report.pdf": (
            (ROOT / "samples" / "report.pdf").read_bytes(),
            (ROOT / "samples" / "expected" / "report.md").read_text(),
        ),
        f"generated ({args.pages} pages)": (generated.pdf.tobytes(), generated.markdown),
    }
    engines = {
        "docvlm text": docvlm_markdown,
        "pymupdf4llm default": lambda data: pymupdf4llm_markdown(data, layout=True),
        "pymupdf4llm legacy": lambda data: pymupdf4llm_markdown(data, layout=False),
    }
    first_page = documents["samples/report.pdf"][0]
    for convert in engines.values():  # warm-up: model loading and imports are not timed
        convert(first_page)

    header = f"{'document':<22} {'engine':<20} {'pages/s':>8} {'md dist':>8} {'text dist':>9}"
    print(header + f" {'docvlm speed-up':>16}")
    print("-" * (len(header) + 17))
    for name, (data, truth) in documents.items():
        with pymupdf.open(stream=data, filetype="pdf") as pdf:
            page_count = pdf.page_count
        rates = {}
        for engine, convert in engines.items():
            seconds, markdown = timed(lambda c=convert, d=data: c(d), args.repeats)
            rates[engine] = page_count / seconds
            md_distance = normalized_edit_distance(markdown, truth)
            text_distance = normalized_edit_distance(plain(markdown), plain(truth))
            speedup = rates["docvlm text"] / rates[engine]
            print(
                f"{name:<22} {engine:<20} {rates[engine]:>8.1f} {md_distance:>8.3f} "
                f"{text_distance:>9.3f} {speedup:>15.1f}×"
            )
        print()


if __name__ == "__main__":
    main()
