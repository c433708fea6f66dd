"""bench/extract_real.py: the OCR cache's key follows the code that reads the words; the
fixed confidence cuts and FUNSD's split pages are scored as the tables print them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from extract_real import _at_cut, funsd_cases, ocr_code, score  # noqa: E402

from docvlm.extraction import words  # noqa: E402

DIGEST = (
    "import sys; sys.path.insert(0, {bench!r}); from extract_real import ocr_code_digest; "
    "from docvlm.extraction import words; print(ocr_code_digest(words._ocr_words))"
)


def test_the_cached_ocr_code_is_the_engines_it_runs_through_and_nothing_else() -> None:
    code = ocr_code(words._ocr_words)
    for module in ("ocr_choice", "ocr_rapid", "ocr_tesseract", "ocr_unread", "ocr_layout"):
        assert f"docvlm.engines.{module}" in code
    assert "docvlm.extraction.words._ocr_words" in code
    # words.py imports ocr_backdrop for the page image, not for its OCR; pairing reads words
    assert "docvlm.engines.ocr_backdrop" not in code
    assert "docvlm.extraction.words.trim_leaders" not in code
    assert all(name.startswith(("docvlm.engines.", "docvlm.extraction.words.")) for name in code)


def test_an_engine_change_misses_the_ocr_cache_and_a_pairing_change_keeps_it(
    tmp_path: Path,
) -> None:
    """The key is read from the tree the interpreter imports, as the baseline's run does."""
    shutil.copytree(
        ROOT / "docvlm",
        tmp_path / "docvlm",
        ignore=lambda folder, names: [
            n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()
        ],
    )

    def digest() -> str:
        command = [sys.executable, "-c", DIGEST.format(bench=str(ROOT / "bench"))]
        env = {"PYTHONPATH": str(tmp_path)}
        run = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout

    def edit(relative: str, old: str, new: str) -> None:
        path = tmp_path / "docvlm" / relative
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    first = digest()
    # A pairing constant changed (inserted before one, not before a function's decorator).
    edit("extraction/pairing.py", "\nMIN_CONFIDENCE", "\nPAIRING_CHANGED = 1\nMIN_CONFIDENCE")
    edit(
        "extraction/words.py",
        "    words = [w for w in segment.words",
        "    words = [w for w in segment.words[1:]",
    )
    assert digest() == first
    edit("engines/ocr_rapid.py", "MIN_SPACE_STEP = 1.2", "MIN_SPACE_STEP = 1.3")
    second = digest()
    assert second != first
    edit("extraction/words.py", "return words + sparse_words(", "return words[:1] + sparse_words(")
    assert digest() != second


def test_recall_and_precision_at_a_fixed_confidence_cut() -> None:
    values = [(0.9, True), (0.8, False), (0.8, True), (0.6, True), (0.3, False)]
    assert _at_cut({"expected": 10, "values": values}, 0.8) == (0.2, 2 / 3)
    assert _at_cut({"expected": 10, "values": values}, 0.5) == (0.3, 0.75)
    assert _at_cut({"expected": 4, "values": [(0.3, True)]}, 0.5) == (0.0, None)


def test_funsd_split_scores_each_page_in_its_part_and_in_the_whole(tmp_path: Path) -> None:
    """Pages are split by their place in file order, whatever the pages skipped."""
    (tmp_path / "annotations").mkdir()
    (tmp_path / "images").mkdir()
    for stem in ("a", "b", "c", "d"):
        form = [
            {"id": 0, "label": "question", "text": "Date:", "linking": [[0, 1]], "box": [0] * 4},
            {"id": 1, "label": "answer", "text": stem, "linking": [[0, 1]], "box": [0] * 4},
        ]
        (tmp_path / "annotations" / f"{stem}.json").write_text(json.dumps({"form": form}))
        (tmp_path / "images" / f"{stem}.png").write_bytes(b"png")
    cases = funsd_cases(tmp_path, count=3, skip=1, split=2)
    assert [(case.name, case.subset) for case in cases] == [
        ("b", "funsd[:2]"),
        ("c", "funsd[2:]"),
        ("d", "funsd[2:]"),
    ]
    reports = [
        {"data": {"q0": answer}, "fields": {"/q0": {"confidence": 0.9}}}
        for answer in ("b", "wrong", "d")
    ]
    sets = score(cases, reports)
    assert [(sets[name]["expected"], sets[name]["right"]) for name in sets] == [
        (3, 2),
        (1, 1),
        (2, 1),
    ]
    assert list(sets) == ["funsd", "funsd[:2]", "funsd[2:]"]
