"""Scanned-page benchmark: docvlm's OCR engine vs the plain `tesseract` command, same images.

Pages of the real born-digital corpus (/work/corpus/born-digital, see its SOURCES.json) are
rendered image-only at 150–300 dpi, turned by 0/90/180/270°, and degraded (blur + JPEG, or a
1.5° skew); each page's own text layer is the ground truth. Prints, with ratios measured in
this run (the two tools interleaved page by page):
- mean normalized edit distance, overall and per page class (text, table, figure, cjk);
- how far each turned copy of a page lands from the same page upright;
- table cell-text F1 on the pages with real tables (bench/scanned_tables.py), docvlm's and
  img2table's own (with its Tesseract OCR);
- errors on blank and figure-only pages;
- seconds per page (docvlm with orientation, layout and tables included; by stage, see
  bench/stages.py), both tools with
  Tesseract's OpenMP capped at one thread (docvlm's backend caps it: pages run in parallel
  processes instead).

    OMP_NUM_THREADS=1 python bench/scanned.py [--corpus DIR] [--limit N] [--turned K] [--verbose]
        [--tables-only]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import statistics
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pymupdf
from ocr import plain_tesseract
from PIL import Image, ImageDraw, ImageFilter
from scanned_tables import cell_f1, img2table_cells, truth_tables
from stages import instrument

from docvlm.document import Block
from docvlm.engines.ocr import OCREngine
from docvlm.engines.ocr_layout import cjk_share
from docvlm.metrics import normalize_whitespace, normalized_edit_distance
from docvlm.pipeline import Parser
from docvlm.sources import open_source

CORPUS = Path("/work/corpus/born-digital")
DPIS = (150, 200, 300)
DEGRADATIONS = ("clean", "blur+jpeg", "skew")
ROTATIONS = (0, 90, 180, 270)


@dataclass
class Sample:
    label: str
    page_class: str
    png: bytes
    truth: str
    group: str  # the same page turned shares a group
    rotation: int
    table_cells: list[str] = field(default_factory=list)


def page_class(name: str, page: pymupdf.Page, text: str) -> tuple[str, list[str]]:
    """text / table / figure / cjk, and the cell texts of the page's real tables (if any;
    bench/scanned_tables.py says where they come from)."""
    cells = [cell for table in truth_tables(name, page) for row in table for cell in row]
    cells = [cell for cell in cells if cell.strip()]
    if cjk_share(text) > 0.3:
        return "cjk", cells
    if cells:
        return "table", cells
    area = abs(page.rect) or 1.0
    covered = sum(abs(pymupdf.Rect(i["bbox"]) & page.rect) for i in page.get_image_info())
    if covered / area > 0.15 or len(page.get_drawings()) > 200:
        return "figure", cells
    return "text", cells


def render(page: pymupdf.Page, dpi: int, degradation: str, rotation: int) -> bytes:
    pixmap = page.get_pixmap(dpi=dpi, alpha=False)
    image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
    if degradation == "blur+jpeg":
        jpeg = io.BytesIO()
        image.filter(ImageFilter.GaussianBlur(0.6 * dpi / 150)).save(jpeg, "JPEG", quality=40)
        image = Image.open(jpeg).convert("RGB")
    elif degradation == "skew":
        image = image.rotate(1.5, expand=True, fillcolor="white", resample=Image.BICUBIC)
    if rotation:
        image = image.rotate(rotation, expand=True)  # counter-clockwise, as a scanner may
    png = io.BytesIO()
    image.save(png, "PNG")
    return png.getvalue()


def corpus_samples(corpus: Path, limit: int, turned: int) -> list[Sample]:
    """One rendering of `limit` pages taken from each page class in turn (so every class is
    measured), and all four turns of the first `turned` of them."""
    by_class: dict[str, list[tuple[str, pymupdf.Page, str, list[str]]]] = defaultdict(list)
    for source in json.loads((corpus / "SOURCES.json").read_text()):
        path = corpus / "pdfs" / f"{source['name']}.pdf"
        if not path.is_file():
            continue
        pdf = pymupdf.open(path)
        for number in (source["pages"] or [1])[:2]:
            if number > pdf.page_count:
                continue
            page = pdf[number - 1]
            truth = page.get_text("text")
            if len(normalize_whitespace(truth)) < 40 or not readable(truth):
                continue  # nearly empty or garbled text layer: no ground truth to speak of
            kind, cells = page_class(source["name"], page, truth)
            by_class[kind].append((f"{source['name']} p{number}", page, truth, cells))
    queues = dict(sorted(by_class.items()))
    chosen = []
    while len(chosen) < limit and any(queues.values()):
        chosen += [(kind, queue.pop(0)) for kind, queue in queues.items() if queue]
    samples: list[Sample] = []
    for index, (kind, (name, page, truth, cells)) in enumerate(chosen[:limit]):
        dpi, degradation = DPIS[index % 3], DEGRADATIONS[(index // 3) % 3]
        # Classes come in turn (4 of them): the turn steps once per round, so that every
        # class is seen at every turn.
        turn = ROTATIONS[(index + index // len(queues)) % 4]
        rotations = ROTATIONS if index < turned else (turn,)
        for rotation in rotations:
            png = render(page, dpi, degradation, rotation)
            label = f"{name} {dpi}dpi {degradation} {rotation}°"
            samples.append(Sample(label, kind, png, truth, name, rotation, cells))
    return samples


def readable(text: str) -> bool:
    """Whether a text layer holds real characters (a font without a Unicode map gives control
    codes and private-use points instead)."""
    visible = [c for c in text if not c.isspace()]
    bad = sum(1 for c in visible if ord(c) < 0x20 or 0xE000 <= ord(c) <= 0xF8FF or c == "\ufffd")
    return bool(visible) and bad <= 0.02 * len(visible)


def blank_pages() -> list[bytes]:
    """White, speckled, grey-backed and figure-only pages (no text to read)."""
    rng = np.random.default_rng(0)
    pages = [np.full((2200, 1700), 255, np.uint8)]
    speckled = np.full((2200, 1700), 255, np.uint8)
    speckled[rng.random(speckled.shape) < 2e-6] = 0
    pages.append(speckled)
    pages.append(np.clip(rng.normal(225, 6, (1650, 1275)), 0, 255).astype(np.uint8))
    images = [Image.fromarray(p).convert("RGB") for p in pages]
    figure = Image.new("RGB", (1700, 2200), "white")
    draw = ImageDraw.Draw(figure)
    for i in range(12):
        draw.ellipse((200 + 90 * i, 300 + 40 * i, 500 + 90 * i, 600 + 50 * i), outline=(0, 0, 0))
        draw.line((150, 1800 - 80 * i, 1550, 1200 + 30 * i), fill=(60, 60, 200), width=5)
    draw.rectangle((300, 1300, 1400, 2000), fill=(90, 140, 90))
    images.append(figure)
    out = []
    for image in images:
        png = io.BytesIO()
        image.save(png, "PNG")
        out.append(png.getvalue())
    return out


def blocks_text(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if block.table is not None:
            parts += [" ".join(cell for cell in row if cell) for row in block.table.rows()]
        else:
            parts.append(block.text)
    return "\n".join(parts)


_LINE_BREAK_HYPHEN = re.compile(r"(?<=[^\W\d_])-\s*\n\s*(?=[^\W\d_])")
_CJK_SPACE = re.compile(
    r"(?<=[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]) "
    r"(?=[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef])"
)


def distance(text: str, truth: str, join_cjk: bool = False) -> float:
    """Normalized edit distance, whitespace collapsed and words broken across lines joined
    (in both: the text layer keeps "com-\npile", plain tesseract too, docvlm joins them), and
    ligatures spelled out (NFKC: the layer has "ﬁ", both OCR tools read "fi"). `join_cjk`
    drops the spaces between CJK characters too: a vertical page's text layer puts each
    character on a line of its own, Tesseract spaces them, docvlm joins them."""
    text, truth = (
        normalize_whitespace(_LINE_BREAK_HYPHEN.sub("", unicodedata.normalize("NFKC", t)))
        for t in (text, truth)
    )
    if join_cjk:
        text, truth = (_CJK_SPACE.sub("", t) for t in (text, truth))
    return normalized_edit_distance(text, truth)


def table_f1(rows: list, verbose: bool) -> None:
    """Cell-text F1 of docvlm and of img2table's own extraction on every page with real
    tables (img2table runs here, outside the timed loop)."""
    ours, reference = [], []
    for sample, timings in rows:
        if not sample.table_cells:
            continue
        ours.append(cell_f1(timings["docvlm"][2], sample.table_cells))
        found = img2table_cells(sample.png)
        reference.append(cell_f1(found, sample.table_cells))
        if verbose:
            print(
                f"table {sample.label:58s} truth {len(sample.table_cells):4d} cells  docvlm "
                f"{len(timings['docvlm'][2]):4d} F1 {ours[-1]:.3f}  img2table {len(found):4d} "
                f"F1 {reference[-1]:.3f}"
            )
    if ours:
        print(
            f"table cell-text F1 over {len(ours)} pages: docvlm {statistics.mean(ours):.3f}  "
            f"img2table (its own Tesseract OCR) {statistics.mean(reference):.3f}"
        )


def _stage_line(seconds: dict[str, float]) -> str:
    """Stages by time spent, largest first."""
    ranked = sorted(seconds.items(), key=lambda item: -item[1])
    return "  ".join(f"{stage} {value:.2f}" for stage, value in ranked if value >= 0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, default=48, help="pages of the corpus to render")
    parser.add_argument("--turned", type=int, default=6, help="pages rendered at all 4 turns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="table F1 page by page")
    parser.add_argument("--tables-only", action="store_true", help="only pages with real tables")
    args = parser.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: run with OMP_NUM_THREADS=1 for comparable timings")

    samples = corpus_samples(args.corpus, args.limit, args.turned)
    if args.tables_only:
        samples = [sample for sample in samples if sample.table_cells]
    random.Random(args.seed).shuffle(samples)
    timer = instrument()
    engine = OCREngine()
    engine.parse(open_source(samples[0].png).page(1))  # load the models outside the timing
    timer.reset()
    stage_seconds: dict[str, float] = defaultdict(float)

    rows = []
    flagged: dict[str, bool] = {}  # label → docvlm flagged the page low_confidence
    for position, sample in enumerate(samples):
        timings = {}
        order = ("tesseract", "docvlm") if position % 2 else ("docvlm", "tesseract")
        for tool in order:
            start = time.perf_counter()
            if tool == "tesseract":
                text = plain_tesseract(sample.png)
                cells: list[str] = []
            else:
                source_page = open_source(sample.png).page(1)
                blocks = engine.parse(source_page)
                flagged[sample.label] = source_page.findings.low_confidence
                text = blocks_text(blocks)
                cells = [c.text for b in blocks if b.table for c in b.table.cells]
            elapsed = time.perf_counter() - start
            if tool == "docvlm":
                stages = timer.reset()
                stages["other"] = elapsed - sum(stages.values())
                for stage, seconds in stages.items():
                    stage_seconds[stage] += seconds
            joined = distance(text, sample.truth, join_cjk=True)
            timings[tool] = (elapsed, distance(text, sample.truth), cells, joined)
        rows.append((sample, timings))
        t, d = timings["tesseract"], timings["docvlm"]
        print(
            f"{sample.label:58s} {sample.page_class:6s} tesseract {t[1]:.3f} {t[0]:5.1f}s  "
            f"docvlm {d[1]:.3f} {d[0]:5.1f}s",
            flush=True,
        )
        if args.verbose:
            print("    " + _stage_line(stages))

    def mean(tool: str, index: int, keep=lambda sample: True) -> float:
        values = [timings[tool][index] for sample, timings in rows if keep(sample)]
        return statistics.mean(values) if values else float("nan")

    print(
        f"\n{len(rows)} rendered pages; ratios are docvlm / `tesseract img.png -` in this run, "
        "both with OMP_THREAD_LIMIT=1"
    )
    ref_d, ours_d = mean("tesseract", 1), mean("docvlm", 1)
    ref_s, ours_s = mean("tesseract", 0), mean("docvlm", 0)
    print(f"edit distance   tesseract {ref_d:.4f}  docvlm {ours_d:.4f}  ratio {ours_d / ref_d:.3f}")
    ref_j, ours_j = mean("tesseract", 3), mean("docvlm", 3)
    print(
        f"edit distance, CJK spacing ignored: tesseract {ref_j:.4f}  docvlm {ours_j:.4f}  "
        f"ratio {ours_j / ref_j:.3f}"
    )
    print(f"seconds/page    tesseract {ref_s:.2f}  docvlm {ours_s:.2f}  ratio {ours_s / ref_s:.2f}")
    print(
        "docvlm seconds/page by stage: "
        + _stage_line({k: v / len(rows) for k, v in stage_seconds.items()})
    )
    for kind in sorted({sample.page_class for sample, _ in rows}):
        keep = lambda sample, kind=kind: sample.page_class == kind  # noqa: E731
        count = sum(1 for sample, _ in rows if keep(sample))
        ref, ours = mean("tesseract", 1, keep), mean("docvlm", 1, keep)
        print(
            f"class {kind:7s} n={count:3d} tesseract {ref:.4f} docvlm {ours:.4f} "
            f"Δ {ours - ref:+.4f}"
        )
    for rotation in ROTATIONS:
        keep = lambda sample, rotation=rotation: sample.rotation == rotation  # noqa: E731
        ref, ours = mean("tesseract", 1, keep), mean("docvlm", 1, keep)
        print(f"turned {rotation:3d}°     tesseract {ref:.4f} docvlm {ours:.4f}")

    upright = {s.group: t["docvlm"][1] for s, t in rows if s.rotation == 0}
    gaps = defaultdict(list)
    for sample, timings in rows:
        if sample.rotation and sample.group in upright:
            gaps[sample.rotation].append(timings["docvlm"][1] - upright[sample.group])
    for rotation, values in sorted(gaps.items()):
        print(
            f"turned {rotation:3d}° vs upright (same page): worst {max(values):+.4f} "
            f"mean {statistics.mean(values):+.4f} over {len(values)} pages"
        )

    table_f1(rows, args.verbose)

    for name, keep in (("flagged", True), ("not flagged", False)):
        values = [t["docvlm"][1] for s, t in rows if flagged[s.label] == keep]
        if values:
            print(
                f"low_confidence {name:11s}: {len(values):3d} pages, docvlm edit distance "
                f"mean {statistics.mean(values):.3f} max {max(values):.3f}"
            )

    blank_parser = Parser(engine="ocr")
    errors = 0
    blanks = blank_pages()
    for png in blanks:
        document = blank_parser.parse(png)
        errors += sum(1 for page in document.pages if page.status == "error")
        print(
            f"blank/figure page: status {document.pages[0].status}, "
            f"reason {document.pages[0].reason!r}, {len(document.blocks)} blocks"
        )
    print(f"blank and figure-only pages: {errors} errors of {len(blanks)}")


if __name__ == "__main__":
    main()
