"""Schema-guided JSON extraction with per-field provenance: `extract(path, schema)`.

Without a model the values come from AcroForm widgets, then from label–value pairing over the
text layer (or Tesseract OCR words on scanned pages), then, for an issuer or address no label
names, from the letterhead (`unlabelled`). With a model the VLM writes JSON under a
grammar compiled from the schema (see `docvlm.extraction.vlm`). `docvlm.extraction.result`
holds the contract on what `data` may contain.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from docvlm.extraction.pairing import FREE_TEXT_FLOOR, pair_fields, unsure_fields
from docvlm.extraction.result import ExtractionResult, Found, assemble
from docvlm.extraction.schema import ExtractionSchema, load_schema
from docvlm.extraction.unlabelled import unlabelled_fields
from docvlm.extraction.values import DATE_ORDERS, DateOrder, date_order_evidence
from docvlm.extraction.widgets import widget_values
from docvlm.extraction.words import PageWords, page_words
from docvlm.sources import open_source

if TYPE_CHECKING:
    from docvlm.model.runtime import Quantize


def extract(
    path: str | Path | bytes,
    schema: Any,
    *,
    model: Any = None,
    adapter: str | Path | None = None,
    device: str = "auto",
    quantize: Quantize | None = None,
    pages: str | list[int] | None = None,
    password: str | None = None,
    ocr_language: str = "eng",
    date_order: DateOrder | None = None,
    anchors: str = "auto",
    min_confidence: float | None = None,
) -> ExtractionResult:
    """Fill `schema` (JSON Schema dict or pydantic model class) from a PDF or image.

    `model` is a checkpoint folder (loaded with `adapter`, `device`, `quantize`) or a loaded
    `VLMEngine`, or a form model (`docvlm finetune --task fields`, or "docvlm-forms-tiny") that
    tags the page words `anchors` names (auto, text or ocr); without one, widgets and printed
    labels are read. `date_order` ("dmy" or
    "mdy") decides dates like 03/04/2026; by default the document's unambiguous dates do.
    A value read less surely than `min_confidence` is left null with a warning that names
    it; by default, without a model, free text OCR read beside a label needs
    `pairing.FREE_TEXT_FLOOR` and other values `pairing.MIN_CONFIDENCE`.
    """
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {', '.join(DATE_ORDERS)}, got {date_order!r}")
    if model is None and (adapter is not None or quantize is not None):
        raise ValueError("adapter and quantize apply to a model: pass model as well")
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be between 0 and 1, got {min_confidence}")
    checked = load_schema(schema)
    withheld: dict[str, Found] = {}
    with open_source(path, password=password, pages=pages) as source:
        source_pages = list(source.pages())
        if model is not None and _is_form_model(model):
            from docvlm.forms.extract import extract_with_form_model

            found, unsure = extract_with_form_model(model, source_pages, checked, anchors)
        elif model is not None:
            from docvlm.engines.vlm import VLMEngine
            from docvlm.extraction.vlm import extract_with_model

            if not isinstance(model, VLMEngine):
                model = VLMEngine(model, adapter=adapter, device=device, quantize=quantize)
            found, unsure = extract_with_model(model, source_pages, checked), {}
        else:
            words = [page_words(page, ocr_language) for page in source_pages]
            floor = FREE_TEXT_FLOOR if min_confidence is None else min_confidence
            printed: dict[str, str] = {}
            found = extract_without_model(words, checked, date_order, floor, withheld, printed)
            unsure = unsure_fields(checked.root, printed, found)
    if min_confidence is not None:
        withheld |= {p: f for p, f in found.items() if f.confidence < min_confidence}
        found = {p: f for p, f in found.items() if p not in withheld}
    unsure |= {pointer: _withheld_reason(value) for pointer, value in withheld.items()}
    return assemble(checked, found, unsure)


def _withheld_reason(value: Found) -> str:
    doubt = f" ({value.warning})" if value.warning else ""
    return (
        f"read {value.value!r}, but with confidence {value.confidence}{doubt}; left empty "
        "rather than guessed (a lower --min-confidence, min_confidence in Python, returns it)"
    )


def _is_form_model(model: Any) -> bool:
    from docvlm.forms.tagger import is_form_model  # torch: imported only when a model is given

    return is_form_model(model)


def extract_without_model(
    words: list[PageWords],
    schema: ExtractionSchema,
    date_order: DateOrder | None = None,
    free_text_floor: float = FREE_TEXT_FLOOR,
    withheld: dict[str, Found] | None = None,
    printed: dict[str, str] | None = None,
) -> dict[str, Found]:
    """AcroForm widget values first, then label–value pairing over the page words; dates like
    03/04/2026 follow `date_order`, else the order the document's unambiguous dates show.
    Free text OCR read beside a label less surely than `free_text_floor`, and an unlabelled
    value read less surely than `pairing.MIN_CONFIDENCE`, go into `withheld`; each field's
    label read on the pages goes into `printed` (see `pair_fields`)."""
    if date_order is None:
        # From the words, not the lines: lines are built once, after widgets join them.
        date_order = date_order_evidence(word.text for page in words for word in page.words)
    found: dict[str, Found] = {}
    for page in words:
        found.update(widget_values(page, schema.root, set(found), date_order))
    found.update(
        pair_fields(schema.root, words, set(found), date_order, free_text_floor, withheld, printed)
    )
    found.update(unlabelled_fields(schema.root, words, found, date_order, withheld))
    return found
