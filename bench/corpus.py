"""Build the born-digital corpora (development and validation) from fetched public repositories.

Each entry of SELECTION (the development split, which the text engine's rules were tuned on)
and of VALIDATION (other files of other sources, kept to check that those rules carry over)
names a PDF inside a repository mirrored under /work/.mirror (bring one with the search tools'
`fetch`). The script copies the file out of the bare git mirror (`git show HEAD:path`), records
repository, path, commit and licence in SOURCES.json, and, for the development split, writes
camelot's own expected tables as table tests (camelot_expected.jsonl). Files whose licence
allows it go to the split's committed folder (bench/corpus/pdfs, bench/corpus/validation/pdfs);
the rest only to the output folder.

    python bench/corpus.py [--split dev|validation] [--out DIR] [--mirrors /work/.mirror]

Output folder layout (kept stable; the scans work renders these pages):
    pdfs/<name>.pdf        every selected file
    SOURCES.json           [{name, repo, path, commit, licence, committed, pages}]
    expectations.jsonl     hand-written tests (bench/corpus/expectations.jsonl) + camelot's

A test is one JSON object per line, olmOCR-bench style, on a 1-based `page` of `pdf`:
    {"type": "present", "text": ...}          text appears (whitespace-normalized)
    {"type": "absent", "text": ...}           text does not appear (furniture, figure labels)
    {"type": "order", "before": A, "after": B}
    {"type": "table", "cell": X, "row": Y}    X and Y are cells of the same table row
    {"type": "table", "cell": X, "top_heading": Z}   Z heads X's column
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent / "corpus"
PDFJS = "mozilla/pdf.js"
PLUMBER = "jsvine/pdfplumber"
CAMELOT = "camelot-dev/camelot"
PDFMINER = "pdfminer/pdfminer.six"
PYPDF = "py-pdf/sample-files"
GOV = "public domain (government work)"
ICDAR = "tests/files/tabula/icdar2013-dataset/competition-dataset"


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    path: str
    licence: str
    committed: bool
    pages: tuple[int, ...] = ()  # 1-based; empty = every page


def _camelot(stem: str, committed: bool = True) -> Source:
    return Source(
        f"camelot-{Path(stem).name}", CAMELOT, f"tests/files/{stem}.pdf", "MIT", committed
    )


SELECTION: tuple[Source, ...] = (
    # papers: 2 columns, figures with vector labels, captions, code listings, ligatures
    Source("tracemonkey", PDFJS, "test/pdfs/tracemonkey.pdf", "Apache-2.0", True),
    Source("naacl06-shinyama", PDFMINER, "samples/nonfree/naacl06-shinyama.pdf", "not free", False),
    Source(
        "shift-work-article",
        PLUMBER,
        "tests/pdfs/issue-316-example.pdf",
        "unknown (journal article)",
        False,
        (1, 2, 3, 4, 5),
    ),
    Source(
        "tam-review",
        PDFJS,
        "test/pdfs/TAMReview.pdf",
        "unknown (working paper)",
        False,
        (1, 2, 3, 4, 5),
    ),
    # government: 3 and 4 columns, running headers/footers, print slugs, tables, rotation
    Source("federal-register", PLUMBER, "tests/pdfs/federal-register-2020-17221.pdf", GOV, True),
    Source(
        "irs-i1040nr",
        PDFMINER,
        "samples/nonfree/i1040nr.pdf",
        GOV + "; kept in a nonfree folder",
        False,
        tuple(range(1, 13)),
    ),
    Source(
        "la-precinct-bulletin", PLUMBER, "tests/pdfs/la-precinct-bulletin-2014-p1.pdf", GOV, True
    ),
    Source(
        "warn-report",
        PLUMBER,
        "tests/pdfs/WARN-Report-for-7-1-2015-to-03-25-2016.pdf",
        GOV,
        True,
        (1, 2, 3, 4),
    ),
    Source(
        "nics-rotated", PLUMBER, "tests/pdfs/nics-background-checks-2015-11-rotated.pdf", GOV, True
    ),
    Source("senate-expenditures", PLUMBER, "tests/pdfs/senate-expenditures.pdf", GOV, True),
    Source("scotus-transcript", PLUMBER, "tests/pdfs/scotus-transcript-p1.pdf", GOV, True),
    Source("wi-doj-report", PLUMBER, "tests/pdfs/150109DSP-Milw-505-90D.pdf", GOV, True),
    # forms: AcroForm widgets, drawn boxes
    Source("irs-f1040-prefilled", PDFJS, "test/pdfs/prefilled_f1040.pdf", GOV, True),
    Source("ch-salary-certificate", PDFJS, "test/pdfs/160F-2019.pdf", GOV, True),
    Source("acroform-test", PDFMINER, "samples/acroform/AcroForm_TEST.pdf", "MIT", True),
    # tables with camelot's expected output
    _camelot("health"),
    _camelot("clockwise_table_2"),
    _camelot("anticlockwise_table_1"),
    _camelot("column_span_1"),
    _camelot("column_span_2"),
    _camelot("row_span_1"),
    _camelot("row_span_2"),
    _camelot("background_lines_1"),
    _camelot("tabula/12s0324"),
    _camelot("tabula/arabic"),
    _camelot("mexican_towns"),
    _camelot("superscript"),
    _camelot("agstat"),
    _camelot("district_health"),
    _camelot("missing_values"),
    _camelot("population_growth"),
    _camelot("rainfall_distribution"),
    _camelot("birdisland"),
    _camelot("tableception"),
    _camelot("budget"),
    _camelot("electoral_roll"),
    Source(
        "camelot-diesel_engines", CAMELOT, "tests/files/diesel_engines.pdf", "MIT", True, (1, 2, 3)
    ),
    # scripts: right-to-left, CJK horizontal and vertical, ligatures, combining marks, /Rotate
    Source("arabic-cid", PDFJS, "test/pdfs/ArabicCIDTrueType.pdf", "Apache-2.0", True),
    Source("cjk-vertical", PDFJS, "test/pdfs/vertical.pdf", "Apache-2.0", True),
    Source("cjk-xiaobiaosong", PDFJS, "test/pdfs/XiaoBiaoSong.pdf", "Apache-2.0", True),
    Source("ligatures", PDFJS, "test/pdfs/copy_paste_ligatures.pdf", "Apache-2.0", True),
    Source("french-diacritics", PDFJS, "test/pdfs/french_diacritics.pdf", "Apache-2.0", True),
    Source("rotation", PDFJS, "test/pdfs/rotation.pdf", "Apache-2.0", True),
    Source("kampo-vertical-ja", PDFMINER, "samples/nonfree/kampo.pdf", "not free", False),
    Source(
        "cjk-annual-report",
        PLUMBER,
        "tests/pdfs/issue-67-example.pdf",
        "unknown (company report)",
        False,
        (1, 2, 3, 4, 5, 6),
    ),
    Source("cjk-table", PLUMBER, "tests/pdfs/issue-336-example.pdf", "unknown", False),
    Source(
        "cjk-cover", PLUMBER, "tests/pdfs/issue-842-example.pdf", "unknown (company report)", False
    ),
    Source("cjk-rotated", PLUMBER, "tests/pdfs/issue-461-example.pdf", "unknown", False),
    Source(
        "jal-traffic",
        PLUMBER,
        "tests/pdfs/issue-53-example.pdf",
        "unknown (company report)",
        False,
        (1, 2, 3),
    ),
)

# Held out while the text engine's rules were written: papers, multi-column government pages,
# ruled and unruled tables, forms, rotated pages, CJK, right-to-left, code listings.
VALIDATION: tuple[Source, ...] = (
    Source("v-latex-twocol", PDFJS, "test/pdfs/bug1997343.pdf", "Apache-2.0", True),
    Source(
        "v-multicolumn",
        PYPDF,
        "026-latex-multicolumn/multicolumn.pdf",
        "CC-BY-SA-4.0",
        True,
        (1, 3),
    ),
    Source(
        "v-gdoc", PYPDF, "011-google-doc-document/google-doc-document.pdf", "CC-BY-SA-4.0", True
    ),
    Source(
        "v-geotopo",
        PYPDF,
        "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf",
        "CC-BY-SA-4.0",
        True,
        (2, 3),
    ),
    Source("v-lo-form", PYPDF, "012-libreoffice-form/libreoffice-form.pdf", "CC-BY-SA-4.0", True),
    Source("v-jo-vertical", PDFMINER, "samples/jo.pdf", "MIT (text: public domain)", True),
    Source("v-us-026", CAMELOT, f"{ICDAR}-us/us-026.pdf", "MIT; " + GOV, True),
    Source("v-us-012", CAMELOT, f"{ICDAR}-us/us-012.pdf", "MIT; " + GOV, True),
    Source("v-us-020", CAMELOT, f"{ICDAR}-us/us-020.pdf", "MIT; " + GOV, True, (1,)),
    Source("v-us-023", CAMELOT, f"{ICDAR}-us/us-023.pdf", "MIT; " + GOV, True, (1, 2)),
    Source("v-labor", CAMELOT, "tests/files/tabula/labor.pdf", "MIT; " + GOV, True),
    Source("v-spanning", CAMELOT, "tests/files/tabula/spanning_cells.pdf", "MIT; " + GOV, True),
    Source("v-rotated-page", CAMELOT, "tests/files/tabula/rotated_page.pdf", "MIT; " + GOV, True),
    Source("v-hebrew", CAMELOT, "tests/files/tabula/indictb1h_14.pdf", "MIT", True),
    Source("v-twotables-ja", CAMELOT, "tests/files/tabula/twotables.pdf", "MIT", True),
    Source("v-ag-energy", PLUMBER, "examples/pdfs/ag-energy-round-up-2017-02-24.pdf", GOV, True),
    Source("v-sanjose", PLUMBER, "examples/pdfs/san-jose-pd-firearm-sample.pdf", GOV, True),
    Source(
        "v-creativity",
        PLUMBER,
        "tests/pdfs/issue-982-example.pdf",
        "arXiv (author's)",
        False,
        (1, 2),
    ),
    Source(
        "v-ieee", PDFMINER, "samples/contrib/issue-1061-colour-space-stack.pdf", "IEEE", False, (1,)
    ),
    Source("v-bitcoin", PDFJS, "test/pdfs/issue13201.pdf", "unknown (paper)", False),
    Source(
        "v-dmca",
        PDFMINER,
        "samples/nonfree/dmca.pdf",
        GOV + "; kept in a nonfree folder",
        False,
        (1, 2),
    ),
    Source("v-irish-court", PDFJS, "test/pdfs/issue11913.pdf", "unknown (court judgment)", False),
    Source("v-rotated-invoice", PLUMBER, "tests/pdfs/issue-140-example.pdf", "unknown", False),
    Source(
        "v-cn-report",
        PLUMBER,
        "tests/pdfs/pr-136-example.pdf",
        "unknown (company report)",
        False,
        (1,),
    ),
    Source(
        "v-fr-minutes",
        PLUMBER,
        "tests/pdfs/2023-06-20-PV.pdf",
        "unknown (municipal minutes)",
        False,
        (1,),
    ),
    Source(
        "v-kreate",
        PDFJS,
        "test/pdfs/chrome-text-selection-markedContent.pdf",
        "unknown (company report)",
        False,
    ),
    Source(
        "v-cerfa", PDFJS, "test/pdfs/issue6127.pdf", "unknown (French government form)", False, (1,)
    ),
    Source(
        "v-opensans", PDFJS, "test/pdfs/issue10640.pdf", "unknown (LaTeX package manual)", False
    ),
)
SPLITS = {"dev": SELECTION, "validation": VALIDATION}
COMMITTED = {"dev": HERE, "validation": HERE / "validation"}
DEFAULT_OUT = {
    "dev": Path("/work/corpus/born-digital"),
    "validation": Path("/work/corpus/validation"),
}

# camelot's tests/data.py variables with the file (and flavor-independent content) they expect
CAMELOT_EXPECTED = {
    "data_stream": "camelot-health",
    "data_stream_table_rotated": "camelot-clockwise_table_2",
    "data_lattice_table_rotated": "camelot-anticlockwise_table_1",
    "data_stream_two_tables_1": "camelot-12s0324",
    "data_stream_two_tables_2": "camelot-12s0324",
    "data_lattice_process_background": "camelot-background_lines_1",
    "data_stream_columns": "camelot-mexican_towns",
}
TESTS_PER_TABLE = 12


def _mirror(mirrors: Path, repo: str) -> Path:
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        raise SystemExit(f"{repo} is not fetched: fetch github:{repo} first")
    return git_dir


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True
    ).stdout


def _camelot_tables(data_py: str) -> dict[str, list[list[str]]]:
    """Literal tables of camelot's tests/data.py, resolving `name = other[a:b]` slices."""
    tables: dict[str, list[list[str]]] = {}
    for node in ast.parse(data_py).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            base = tables.get(value.value.id)
            if base is not None and isinstance(value.slice, ast.Slice):
                lower, upper = (
                    None if bound is None else ast.literal_eval(bound)
                    for bound in (value.slice.lower, value.slice.upper)
                )
                tables[name] = base[lower:upper]
        else:
            try:
                tables[name] = ast.literal_eval(value)
            except ValueError:
                continue
    return tables


def _cell(text: str) -> str:
    """A camelot cell as it reads: whitespace collapsed, dot leaders dropped."""
    return re.sub(r"(\s*\.){3,}\s*$", "", " ".join(text.split()))


def camelot_tests(tables: dict[str, list[list[str]]]) -> list[dict]:
    """Same-row and column-heading tests from camelot's expected tables (first row = header)."""
    tests = []
    for variable, name in CAMELOT_EXPECTED.items():
        rows = [[_cell(c) for c in row] for row in tables[variable]]
        header = rows[0]
        made = 0
        for r, row in enumerate(rows[1:], start=1):
            filled = [c for c in row if len(c) >= 2]
            if made >= TESTS_PER_TABLE or len(filled) < 2:
                continue
            if r % 3 != 1:  # spread the tests over the table
                continue
            tests.append(
                {"pdf": name, "page": 1, "type": "table", "cell": filled[-1], "row": filled[0]}
            )
            made += 1
            column = row.index(filled[-1])
            if column < len(header) and len(header[column]) >= 2 and header[column] != filled[-1]:
                tests.append(
                    {
                        "pdf": name,
                        "page": 1,
                        "type": "table",
                        "cell": filled[-1],
                        "top_heading": header[column],
                    }
                )
                made += 1
    for i, test in enumerate(tests):
        test["id"] = f"{test['pdf']}-camelot-{i}"
        test["source"] = "camelot tests/data.py"
    return tests


def build(out: Path, mirrors: Path, split: str = "dev") -> list[dict]:
    """Copy every file of a split into out/pdfs (and the committed ones into its folder here)."""
    here = COMMITTED[split]
    (out / "pdfs").mkdir(parents=True, exist_ok=True)
    (here / "pdfs").mkdir(parents=True, exist_ok=True)
    records = []
    for source in SPLITS[split]:
        git_dir = _mirror(mirrors, source.repo)
        commit = _git(git_dir, "rev-parse", "HEAD").decode().strip()
        pdf = _git(git_dir, "show", f"HEAD:{source.path}")
        (out / "pdfs" / f"{source.name}.pdf").write_bytes(pdf)
        if source.committed:
            (here / "pdfs" / f"{source.name}.pdf").write_bytes(pdf)
        record = asdict(source) | {"commit": commit, "pages": list(source.pages)}
        records.append(record)
    expected = []
    if split == "dev":
        data_py = _git(_mirror(mirrors, CAMELOT), "show", "HEAD:tests/data.py").decode()
        expected = camelot_tests(_camelot_tables(data_py))
        _write_jsonl(here / "camelot_expected.jsonl", expected)
    sources_json = json.dumps(records, indent=1, ensure_ascii=False) + "\n"
    (here / "SOURCES.json").write_text(sources_json)
    (out / "SOURCES.json").write_text(sources_json)
    hand = load_tests(here / "expectations.jsonl") if (here / "expectations.jsonl").exists() else []
    _write_jsonl(out / "expectations.jsonl", hand + expected)
    shutil.copy(Path(__file__), out / "corpus.py")
    return records


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def load_tests(path: Path) -> list[dict]:
    """Tests of an expectations file (JSON lines; blank lines and // comments skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("//")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    parser.add_argument("--out", type=Path, help="default: /work/corpus/<born-digital|validation>")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args()
    args.out = args.out or DEFAULT_OUT[args.split]
    records = build(args.out, args.mirrors, args.split)
    pages = 0
    import pymupdf

    for record in records:
        with pymupdf.open(args.out / "pdfs" / f"{record['name']}.pdf") as doc:
            pages += len(record["pages"]) or doc.page_count
    committed = sum(r["committed"] for r in records)
    print(f"{len(records)} files ({committed} committed), {pages} pages → {args.out}")


if __name__ == "__main__":
    main()
