"""The committed part of the real-document corpus (bench/corpus) with its expectations as tests.

Both splits run: `dev` (the files the text engine's rules were tuned on) and `validation`
(held-out files, bench/corpus/validation). Each olmOCR-bench-style test (text present/absent,
reading order, table cells), written from the rendered pages or taken from camelot's expected
tables, runs on docvlm's markdown of that page. Known gaps are strict xfails: one that starts
passing fails the suite until it is moved.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import realdocs  # noqa: E402  (bench/realdocs.py: the corpus loader and test checker)

SPLITS = {split: realdocs.load_corpus(folder) for split, folder in realdocs.COMMITTED.items()}
FILES, TESTS = SPLITS["dev"]

_SPLIT_ROW = "a label wrapped over two lines whose figures sit on its second line"
_FOUR_COLUMNS = "four columns of short ballot lines are read across as rows"
_FIGURE_TICKS = "a chart's tick labels printed outside its frame are read as text"
_TWO_LINE_RECORDS = "records printed over two lines are not read as one table row"
KNOWN_GAPS = {
    "la-4col": _FOUR_COLUMNS,
    "la-4col2": _FOUR_COLUMNS,
    "la-4col3": _FOUR_COLUMNS,
    "camelot-12s0324-camelot-33": _SPLIT_ROW,
    "v-us-023-2-14": _FIGURE_TICKS,
    "v-sanjose-1-6": _TWO_LINE_RECORDS,
}


@pytest.fixture(scope="module")
def docvlm_runs() -> dict[str, realdocs.ToolRun]:
    return {split: realdocs.run_docvlm(files) for split, (files, _) in SPLITS.items()}


def _cases():
    for split, (_, tests) in SPLITS.items():
        for test in tests:
            marks = []
            if test["id"] in KNOWN_GAPS:
                marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[test["id"]], strict=True))
            yield pytest.param(split, test, id=test["id"], marks=marks)


@pytest.mark.parametrize(("split", "test"), list(_cases()))
def test_expectation(split: str, test: dict, docvlm_runs: dict[str, realdocs.ToolRun]):
    markdown = docvlm_runs[split].markdown[(test["pdf"], test["page"])]
    assert realdocs.passes(test, markdown), markdown[:2000]


@pytest.mark.parametrize(
    ("split", "min_pages", "min_tests"), [("dev", 60, 100), ("validation", 20, 100)]
)
def test_corpus_is_real_and_sized(split: str, min_pages: int, min_tests: int):
    files, tests = SPLITS[split]
    assert sum(len(f.pages) for f in files) >= min_pages and len(tests) >= min_tests
    assert {t["type"] for t in tests} == {"present", "absent", "order", "table"}


def test_validation_files_are_not_in_dev():
    dev_names = {f.name for f in SPLITS["dev"][0]}
    dev_bytes = {f.path.read_bytes() for f in SPLITS["dev"][0]}
    for file in SPLITS["validation"][0]:
        assert file.name not in dev_names and file.path.read_bytes() not in dev_bytes


@pytest.mark.parametrize("split", list(SPLITS))
def test_nothing_of_the_layer_lost_or_doubled(split: str, docvlm_runs):
    raw_run = realdocs.run_raw(SPLITS[split][0])
    assert realdocs.recall(docvlm_runs[split], raw_run) >= 0.99
    assert realdocs.duplication(docvlm_runs[split], raw_run) <= 0.005


def test_checker_reads_tables_and_order():
    markdown = "intro\n\n| Name | Total |\n|---|---|\n| Kerala | 33 |\n| Goa | 7 |\n\nend"
    row = {"type": "table", "cell": "33", "row": "Kerala"}
    assert realdocs.passes(row, markdown)
    assert not realdocs.passes({**row, "row": "Goa"}, markdown)
    assert realdocs.passes({"type": "table", "cell": "7", "top_heading": "Total"}, markdown)
    assert not realdocs.passes({"type": "table", "cell": "7", "top_heading": "Name"}, markdown)
    assert realdocs.passes({"type": "order", "before": "intro", "after": "end"}, markdown)
    assert not realdocs.passes({"type": "order", "before": "end", "after": "intro"}, markdown)
    assert realdocs.passes({"type": "present", "text": "目录", "own_line": True}, "# 目 录")
    assert not realdocs.passes(
        {"type": "present", "text": "目录", "own_line": True}, "# 目\n\n# 录"
    )
