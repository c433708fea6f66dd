"""Real public PDFs: docvlm's text path vs pymupdf4llm vs the raw text layer, in one run.

Runs the three tools over every selected page of one split of the born-digital corpus
(bench/corpus.py: `dev`, the files the text engine was tuned on, or `validation`, held out)
and prints, per tool: the pass rate of the corpus's unit tests by test type, the words lost
and duplicated against the raw text layer (word multisets, NFKC, case-folded), pages/s with
ratios, and the slowest page. docvlm's words are counted over every block of its JSON
(furniture and figure labels included): nothing of the layer may be lost or doubled.

    python bench/realdocs.py [--split dev|validation] [--corpus DIR] [--only NAME ...] [--fails]

Without the corpus folder it runs on the split's committed subset (bench/corpus, its validation/).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from docvlm.document import Block, BlockType, Document
from docvlm.pipeline import Parser

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import COMMITTED, DEFAULT_OUT, load_tests  # noqa: E402

_CJK = r"\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")
_NUMBER_GAP = re.compile(r"(?<=\d) ?([.,]) ?(?=\d)")
_EMPHASIS = re.compile(r"(\*\*|__|`+|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
_LINE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)")
# "com-⏎pile" (or a soft hyphen before the break): one word
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])(?:-\s*\n\s*(?=[a-z])|\u00ad\s*\n\s*)")
_WORD = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+")  # a CJK glyph is a word


# ---- the corpus ------------------------------------------------------------------------


@dataclass
class CorpusFile:
    name: str
    path: Path
    pages: list[int]  # 1-based


def load_corpus(root: Path, only: list[str] | None = None) -> tuple[list[CorpusFile], list[dict]]:
    """Files (present on disk) and tests of a corpus folder."""
    sources = json.loads((root / "SOURCES.json").read_text())
    tests = load_tests(root / "expectations.jsonl")
    for extra in sorted(root.glob("*_expected.jsonl")):  # a committed folder's camelot tests
        tests += load_tests(extra)
    files = []
    for source in sources:
        path = root / "pdfs" / f"{source['name']}.pdf"
        if not path.exists() or (only and source["name"] not in only):
            continue
        with pymupdf.open(path) as pdf:
            pages = source["pages"] or list(range(1, pdf.page_count + 1))
        files.append(CorpusFile(source["name"], path, pages))
    names = {f.name for f in files}
    return files, [t for t in tests if t["pdf"] in names]


# ---- the tests -------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Whitespace collapsed, emphasis markers and table pipes dropped, CJK spacing removed."""
    text = _EMPHASIS.sub("", text.replace("<br>", " ").replace("|", " "))
    text = _NUMBER_GAP.sub(r"\1", " ".join(text.split()))  # "75 .2" and "75. 2" print 75.2
    return _CJK_GAP.sub("", text)


def _lines(markdown: str) -> list[str]:
    return [normalize(_LINE_MARKUP.sub("", line)) for line in markdown.splitlines()]


def markdown_tables(markdown: str) -> list[tuple[list[list[str]], int]]:
    """Pipe tables of a markdown text: (rows of normalized cells, header row count)."""
    tables: list[tuple[list[list[str]], int]] = []
    rows: list[list[str]] = []
    header = 0
    for line in [*markdown.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [normalize(c) for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c.replace(" ", "")) for c in cells if c) and any(
                cells
            ):
                header = len(rows)
            else:
                rows.append(cells)
        elif rows:
            tables.append((rows, header))
            rows, header = [], 0
    return tables


def _cell_matches(cell: str, text: str) -> bool:
    return cell == text or (len(text) >= 3 and f" {text} " in f" {cell} ")


def _table_passes(test: dict, markdown: str) -> bool:
    target = normalize(test["cell"])
    for rows, header_rows in markdown_tables(markdown):
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                if not _cell_matches(cell, target):
                    continue
                if "row" in test:
                    other = normalize(test["row"])
                    if any(_cell_matches(x, other) for k, x in enumerate(row) if k != c):
                        return True
                if "top_heading" in test:
                    heading = normalize(test["top_heading"])
                    above = rows[: header_rows or r]
                    column = " ".join(h[c] for h in above if c < len(h) and h[c])
                    if heading and heading in column:
                        return True
    return False


def passes(test: dict, markdown: str) -> bool:
    """Whether a tool's markdown for the test's page passes one test."""
    text = normalize(markdown)
    match test["type"]:
        case "present" if test.get("own_line"):
            return normalize(test["text"]) in _lines(markdown)
        case "present":
            return normalize(test["text"]) in text
        case "absent":
            return normalize(test["text"]) not in text
        case "order":
            before, after = (
                text.find(normalize(test["before"])),
                text.rfind(normalize(test["after"])),
            )
            return before >= 0 and after >= 0 and before < after
        case "table":
            return _table_passes(test, markdown)
    raise ValueError(f"unknown test type {test['type']!r} in {test.get('id')}")


# ---- the tools -------------------------------------------------------------------------


@dataclass
class ToolRun:
    """One tool's output over the corpus: markdown and word counts per (file, page), times."""

    markdown: dict[tuple[str, int], str] = field(default_factory=dict)
    words: dict[tuple[str, int], Counter[str]] = field(default_factory=dict)
    page_seconds: dict[tuple[str, int], float] = field(default_factory=dict)
    seconds: float = 0.0


def words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def block_words(block: Block) -> Counter[str]:
    """Words a block carries in the JSON: text, key, table cells, figure labels."""
    counted = words(block.key or "")
    if block.type == BlockType.TABLE and block.table is not None:
        for cell in block.table.cells:
            counted += words(cell.text)
    else:
        counted += words(block.text)
    for label in block.labels:
        counted += words(label)
    return counted


def run_raw(files: list[CorpusFile]) -> ToolRun:
    run = ToolRun()
    for file in files:
        with pymupdf.open(file.path) as pdf:
            for number in file.pages:
                start = time.perf_counter()
                text = pdf[number - 1].get_text()
                _record(run, (file.name, number), text, words(_HYPHEN_BREAK.sub("", text)), start)
    return run


def run_pymupdf4llm(files: list[CorpusFile]) -> ToolRun:
    import pymupdf4llm

    run = ToolRun()
    for file in files:
        with pymupdf.open(file.path) as pdf:
            for number in file.pages:
                start = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    markdown = pymupdf4llm.to_markdown(pdf, pages=[number - 1], use_ocr=False)
                _record(run, (file.name, number), markdown, words(markdown), start)
    return run


def run_docvlm(files: list[CorpusFile], engine: str = "text") -> ToolRun:
    run = ToolRun()
    parser = Parser(engine=engine)
    for file in files:
        start = time.perf_counter()
        document: Document = parser.parse(file.path, pages=file.pages)
        run.seconds += time.perf_counter() - start
        for page in document.pages:
            key = (file.name, page.number)
            run.markdown[key] = page.to_markdown()
            counted: Counter[str] = Counter()
            for block in page.blocks:
                counted += block_words(block)
            run.words[key] = counted
            run.page_seconds[key] = page.seconds
    return run


def _record(run: ToolRun, key: tuple[str, int], markdown: str, counted: Counter, start: float):
    elapsed = time.perf_counter() - start
    run.markdown[key], run.words[key], run.page_seconds[key] = markdown, counted, elapsed
    run.seconds += elapsed


TOOLS: dict[str, Callable[[list[CorpusFile]], ToolRun]] = {
    "raw layer": run_raw,
    "pymupdf4llm": run_pymupdf4llm,
    "docvlm text": run_docvlm,
}


# ---- the report ------------------------------------------------------------------------


def score(run: ToolRun, tests: list[dict]) -> dict[str, tuple[int, int]]:
    """Passed and total tests by type (and overall, under "all")."""
    results: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for test in tests:
        passed = passes(test, run.markdown.get((test["pdf"], test["page"]), ""))
        for kind in (test["type"], "all"):
            results[kind][0] += passed
            results[kind][1] += 1
    return {kind: (p, n) for kind, (p, n) in results.items()}


def recall(run: ToolRun, reference: ToolRun) -> float:
    """Share of the reference's words (as a multiset) that a tool's output holds."""
    total = lost = 0
    for key, expected in reference.words.items():
        total += sum(expected.values())
        lost += sum((expected - run.words.get(key, Counter())).values())
    return 1 - lost / total if total else 1.0


def duplication(run: ToolRun, reference: ToolRun) -> float:
    """Share of reference words a tool writes more often than the layer holds them."""
    total = extra = 0
    for key, expected in reference.words.items():
        got = run.words.get(key, Counter())
        total += sum(expected.values())
        extra += sum(max(0, got[w] - n) for w, n in expected.items())
    return extra / total if total else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(COMMITTED), default="dev")
    parser.add_argument("--corpus", type=Path, help="default: the split's /work/corpus folder")
    parser.add_argument("--only", nargs="*", help="corpus file names to run")
    parser.add_argument("--fails", action="store_true", help="list docvlm's failed tests")
    parser.add_argument("--lost", action="store_true", help="list pages where docvlm loses words")
    parser.add_argument("--skip", nargs="*", default=[], help="tools to leave out")
    args = parser.parse_args()
    corpus = args.corpus or DEFAULT_OUT[args.split]
    root = corpus if (corpus / "SOURCES.json").exists() else COMMITTED[args.split]
    files, tests = load_corpus(root, args.only)
    pages = sum(len(f.pages) for f in files)
    print(f"corpus {root}: {len(files)} files, {pages} pages, {len(tests)} tests")
    for tool in TOOLS.values():  # warm-up: imports and model loading are not timed
        tool(files[:1])
    runs = {name: tool(files) for name, tool in TOOLS.items() if name not in args.skip}
    raw = runs["raw layer"]
    kinds = ["present", "absent", "order", "table", "all"]
    print(f"\n{'tool':<14}" + "".join(f"{k:>12}" for k in kinds) + f"{'recall':>8}{'dup %':>7}")
    scores = {name: score(run, tests) for name, run in runs.items()}
    for name, run in runs.items():
        cells = "".join(f"{'{}/{}'.format(*scores[name].get(k, (0, 0))):>12}" for k in kinds)
        print(f"{name:<14}{cells}{recall(run, raw):>8.4f}{100 * duplication(run, raw):>7.2f}")
    print(f"\n{'tool':<14}{'pages/s':>9}{'slowest page':>34}")
    for name, run in runs.items():
        slowest = max(run.page_seconds, key=run.page_seconds.get)
        where = f"{slowest[0]} p{slowest[1]} {run.page_seconds[slowest]:.3f}s"
        print(f"{name:<14}{pages / run.seconds:>9.1f}{where:>34}")
    if "pymupdf4llm" in runs:
        ours, theirs = runs["docvlm text"], runs["pymupdf4llm"]
        ratio = theirs.seconds / ours.seconds
        mine, other = scores["docvlm text"]["all"][0], scores["pymupdf4llm"]["all"][0]
        print(f"\ndocvlm vs pymupdf4llm: {ratio:.1f}x pages/s, {mine / max(other, 1):.2f}x tests")
        print(f"docvlm vs raw layer: {raw.seconds / ours.seconds:.2f}x pages/s")
    if args.lost:
        run = runs["docvlm text"]
        for key, expected in raw.words.items():
            lost = expected - run.words.get(key, Counter())
            doubled = {
                w: n - expected[w] for w, n in run.words.get(key, {}).items() if n > expected[w] > 0
            }
            if sum(lost.values()) + sum(doubled.values()) > 0.01 * sum(expected.values()):
                print(
                    "LOST",
                    key,
                    sum(lost.values()),
                    list(lost.items())[:12],
                    "DOUBLED",
                    list(doubled.items())[:6],
                )
    if args.fails:
        run = runs["docvlm text"]
        for test in tests:
            if not passes(test, run.markdown.get((test["pdf"], test["page"]), "")):
                print(
                    "FAIL",
                    test["id"],
                    json.dumps(
                        {k: test[k] for k in test if k not in ("id", "pdf")}, ensure_ascii=False
                    ),
                )


if __name__ == "__main__":
    main()
