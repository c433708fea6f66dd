"""bench/extract_real.py: the OCR cache's key follows the code that reads the words."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from extract_real import ocr_code  # noqa: E402

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
    edit("extraction/pairing.py", "\ndef ", "\nPAIRING_CHANGED = 1\n\n\ndef ")
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
