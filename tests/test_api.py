"""The public face of `import docvlm`: named options only, and every type a caller catches."""

from __future__ import annotations

from pathlib import Path

import pytest

import docvlm
from docvlm import errors

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_unknown_or_positional_options_are_type_errors() -> None:
    with pytest.raises(TypeError, match="page"):
        docvlm.parse(SAMPLES / "report.pdf", page="1")  # typo for pages=
    with pytest.raises(TypeError):
        docvlm.parse(SAMPLES / "report.pdf", "1")  # type: ignore[misc]
    with pytest.raises(TypeError, match="max_new_token"):
        docvlm.Parser(model="m", max_new_token=5)


def test_named_options_reach_the_parser() -> None:
    document = docvlm.parse(SAMPLES / "report.pdf", pages="2", engine="text")
    assert [page.number for page in document.pages] == [2]
    assert document.metadata["options"]["engine"] == "text"
    # VLM settings only count (and only change cache keys) when a model is given.
    assert "max_new_tokens" not in document.metadata["options"]


def test_result_and_error_types_are_exported() -> None:
    assert docvlm.ExtractionResult.__name__ == "ExtractionResult"
    exported = {name for name in docvlm.__all__ if name.endswith("Error")}
    defined = {name for name, value in vars(errors).items() if isinstance(value, type)}
    assert exported == {name for name in defined if name.endswith("Error")}
    for name in exported:
        assert issubclass(getattr(docvlm, name), docvlm.DocVLMError)
    assert all(hasattr(docvlm, name) for name in docvlm.__all__)
    with pytest.raises(docvlm.PageRangeError):
        docvlm.parse(SAMPLES / "report.pdf", pages="9")
