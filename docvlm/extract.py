"""Schema-guided JSON extraction with per-field provenance: `extract(path, schema)`.

Without a model the values come from AcroForm widgets, then from label–value pairing over the
text layer (or Tesseract OCR words on scanned pages). With a model the VLM writes JSON under a
grammar compiled from the schema (see `docvlm.extraction.vlm`).

The contract on `data`: it validates against the schema whenever `errors` is empty. A field that
was not found is null where the schema allows null, takes the schema's `default` if it has one,
and is left out where it is optional. A required, non-nullable field that was not found is left
out too and reported in `errors`: docvlm never invents a value to make the JSON validate. A
value that was read but breaks the schema (pattern, minimum, ...) is treated as not found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf

from docvlm.extraction.pairing import Found, label_score, pair_fields
from docvlm.extraction.schema import ExtractionSchema, FieldSpec, label_candidates, load_schema
from docvlm.extraction.values import parse_value
from docvlm.extraction.words import PageWords, Segment, Word, page_words
from docvlm.sources import SourcePage, open_source

MIN_WIDGET_NAME_SCORE = 85.0
_MISSING = object()


@dataclass
class ExtractionResult:
    """Extracted `data`, where each value came from (`fields`, by JSON pointer), and `errors`."""

    data: dict[str, Any]
    fields: dict[str, Found] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """The JSON the CLI writes: data, fields {pointer: value, page, bbox, ...}, errors."""
        return {
            "data": self.data,
            "fields": {
                pointer: {
                    "value": found.value,
                    "page": found.page,
                    "bbox": [round(v, 2) for v in found.bbox] if found.bbox else None,
                    "confidence": found.confidence,
                    "source": found.source,
                }
                for pointer, found in self.fields.items()
            },
            "errors": self.errors,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def extract(
    path: str | Path | bytes,
    schema: Any,
    *,
    model: Any = None,
    pages: str | list[int] | None = None,
    password: str | None = None,
    ocr_language: str = "eng",
    anchors: str = "auto",
) -> ExtractionResult:
    """Fill `schema` (JSON Schema dict or pydantic model class) from a PDF or image.

    `model` is a VLM or a form model (`docvlm finetune --task fields`, or "docvlm-forms-tiny");
    a form model tags the page words that `anchors` names (auto, text or ocr).
    """
    checked = load_schema(schema)
    with open_source(path, password=password, pages=pages) as source:
        source_pages = list(source.pages())
        if model is not None and _is_form_model(model):
            from docvlm.forms.extract import extract_with_form_model

            found = extract_with_form_model(model, source_pages, checked, anchors)
        elif model is not None:
            from docvlm.extraction.vlm import extract_with_model

            found = extract_with_model(model, source_pages, checked)
        else:
            found = extract_without_model(source_pages, checked, ocr_language)
    return assemble(checked, found)


def _is_form_model(model: Any) -> bool:
    from docvlm.forms.tagger import is_form_model

    return is_form_model(model)


def extract_without_model(
    pages: list[SourcePage], schema: ExtractionSchema, ocr_language: str = "eng"
) -> dict[str, Found]:
    """AcroForm widget values first, then label–value pairing over the page words."""
    words = [page_words(page, ocr_language) for page in pages]
    found: dict[str, Found] = {}
    for page in words:
        found.update(_widget_values(page, schema.root, set(found)))
    found.update(pair_fields(schema.root, words, set(found)))
    return found


def _widget_values(page: PageWords, root: FieldSpec, taken: set[str]) -> dict[str, Found]:
    """Widgets whose field name matches a schema field fill it directly; the rest become
    segments on the page so a label printed beside them can claim them."""
    if page.pdf_page is None:
        return {}
    leaves = [(leaf, parent) for parent, leaf in _leaves_with_parents(root)]
    found: dict[str, Found] = {}
    widgets = list(page.pdf_page.widgets() or [])
    # A filled widget's appearance stream shows up as text-layer words: the widget is the source.
    rects = [widget.rect for widget in widgets]
    page.words = [w for w in page.words if not any(_center_in(w.bbox, r) for r in rects)]
    for widget in widgets:
        text, state = _widget_text(widget)
        if text is None:
            continue
        names = [n for n in (widget.field_label, widget.field_name) if n]
        best: tuple[float, FieldSpec, Any] | None = None
        for leaf, parent in leaves:
            if leaf.pointer in taken or leaf.pointer in found:
                continue
            score = max(label_score(n, label_candidates(leaf, parent)) for n in names)
            parsed = parse_value(text, leaf)
            if score >= MIN_WIDGET_NAME_SCORE and parsed and (best is None or score > best[0]):
                best = (score, leaf, parsed)
        box = tuple(widget.rect)
        if best is not None:
            score, leaf, (value, confidence) = best
            found[leaf.pointer] = Found(
                value, page.number, box, round(score / 100 * confidence, 3), "acroform"
            )
        else:
            segment = Segment([Word(text, box)], page.number, -1, checkbox=state, widget=True)
            page.widget_segments.append(segment)
    return found


def _center_in(box: tuple, rect: pymupdf.Rect) -> bool:
    return rect.contains(pymupdf.Point((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))


def _widget_text(widget: pymupdf.Widget) -> tuple[str | None, bool | None]:
    """A widget's value as printed text, and its checkbox state for check boxes and radios."""
    if widget.field_type in (pymupdf.PDF_WIDGET_TYPE_CHECKBOX, pymupdf.PDF_WIDGET_TYPE_RADIOBUTTON):
        on = widget.field_value not in (None, "", "Off", False)
        return ("☑" if on else "☐"), on
    value = widget.field_value
    if value is None or not str(value).strip():
        return None, None
    return str(value), None


def _leaves_with_parents(spec: FieldSpec) -> list[tuple[FieldSpec | None, FieldSpec]]:
    out: list[tuple[FieldSpec | None, FieldSpec]] = []
    for child in spec.properties.values():
        if child.kind == "object":
            out += [(child, leaf) for leaf in child.leaves() if leaf.kind != "array"]
        elif child.kind != "array":
            out.append((None, child))
    return out


def assemble(schema: ExtractionSchema, found: dict[str, Found]) -> ExtractionResult:
    """Build `data` from found values under the contract in this module's docstring."""
    errors: list[dict[str, str]] = []
    data = _build(schema.root, "", found, errors)
    validator = schema.validator()
    for _ in range(100):
        problems = [e for e in validator.iter_errors(data) if e.validator != "required"]
        if not problems:
            break
        problem = problems[0]
        path = list(problem.absolute_path)
        pointer = "".join(f"/{_escape(str(p))}" for p in path)
        errors.append({"pointer": pointer, "message": f"read value breaks the schema: "
                       f"{problem.message}"})  # fmt: skip
        _drop(data, path, schema)
    for problem in validator.iter_errors(data):
        if problem.validator == "required":
            for name in problem.validator_value:
                if name not in problem.instance:
                    base = "".join(f"/{_escape(str(p))}" for p in problem.absolute_path)
                    pointer = f"{base}/{_escape(name)}"
                    if not any(e["pointer"] == pointer for e in errors):
                        errors.append({"pointer": pointer, "message": "required field not found"})
    kept = {p: f for p, f in found.items() if _present(data, p)}
    return ExtractionResult(data=data, fields=kept, errors=errors)


def _build(spec: FieldSpec, pointer: str, found: dict[str, Found], errors: list) -> Any:
    if spec.kind == "object":
        out: dict[str, Any] = {}
        any_found = False
        for name, child in spec.properties.items():
            child_pointer = f"{pointer}/{_escape(name)}"
            value = _build(child, child_pointer, found, errors)
            if value is _MISSING:
                value = _fallback(child)
            else:
                any_found = True
            if value is not _MISSING:
                out[name] = value
        if not any_found and pointer and not any(p.startswith(pointer + "/") for p in found):
            return _MISSING
        return out
    if spec.kind == "array":
        indices = sorted(
            {int(p[len(pointer) + 1 :].split("/")[0]) for p in found if _is_index(p, pointer)}
        )
        if not indices:
            return _MISSING
        items = []
        for index in indices:
            item = _build(spec.items, f"{pointer}/{index}", found, errors)
            if item is not _MISSING:
                items.append(item)
        return items
    hit = found.get(pointer)
    return _MISSING if hit is None else hit.value


def _fallback(spec: FieldSpec) -> Any:
    """The value a field takes when nothing was read for it (or _MISSING to leave it out)."""
    if spec.has_default:
        return spec.default
    if spec.nullable:
        return None
    if spec.kind == "array" and spec.required:
        return []
    return _MISSING


def _is_index(candidate: str, pointer: str) -> bool:
    rest = candidate[len(pointer) + 1 :] if candidate.startswith(pointer + "/") else ""
    return rest.split("/")[0].isdigit()


def _drop(data: Any, path: list, schema: ExtractionSchema) -> None:
    """Remove the value at `path` (null it if the schema allows null there)."""
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1] if path else None
    if key is None:
        return
    spec = _spec_at(schema.root, path)
    if isinstance(parent, list):
        parent.pop(key)
    elif spec is not None and spec.nullable:
        parent[key] = None
    else:
        parent.pop(key, None)


def _spec_at(spec: FieldSpec, path: list) -> FieldSpec | None:
    for key in path:
        if spec.kind == "array" and isinstance(key, int):
            spec = spec.items
        elif spec.kind == "object" and key in spec.properties:
            spec = spec.properties[key]
        else:
            return None
    return spec


def _present(data: Any, pointer: str) -> bool:
    node = data
    for part in pointer.strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return node is not None


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
