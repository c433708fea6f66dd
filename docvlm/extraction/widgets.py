"""AcroForm widgets as extraction evidence: a widget named like a field fills it directly."""

from __future__ import annotations

from typing import Any

import pymupdf

from docvlm.extraction.labels import label_score
from docvlm.extraction.result import Found
from docvlm.extraction.schema import FieldSpec, label_candidates
from docvlm.extraction.values import DateOrder, parse_value
from docvlm.extraction.words import PageWords, Segment, Word

MIN_WIDGET_NAME_SCORE = 85.0


def widget_values(
    page: PageWords, root: FieldSpec, taken: set[str], date_order: DateOrder | None = None
) -> dict[str, Found]:
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
        # A ticked radio button answers its group's field with its own option name.
        value_text = widget.on_state() if _is_radio(widget) and state else text
        off_radio = _is_radio(widget) and not state  # says nothing about its group's value
        names = [n for n in (widget.field_label, widget.field_name) if n]
        best: tuple[float, FieldSpec, Any] | None = None
        for leaf, parent in leaves:
            if leaf.pointer in taken or leaf.pointer in found:
                continue
            score = max(label_score(n, label_candidates(leaf, parent)) for n in names)
            parsed = None if off_radio else parse_value(value_text, leaf, date_order)
            if score >= MIN_WIDGET_NAME_SCORE and parsed and (best is None or score > best[0]):
                best = (score, leaf, parsed)
        box = tuple(widget.rect)
        if best is not None:
            score, leaf, parsed = best
            found[leaf.pointer] = Found(
                parsed.value, page.number, box, round(score / 100 * parsed.fit, 3), "acroform",
                parsed.warning,
            )  # fmt: skip
        else:
            segment = Segment([Word(text, box)], page.number, -1, checkbox=state, widget=True)
            page.widget_segments.append(segment)
    return found


def _center_in(box: tuple, rect: pymupdf.Rect) -> bool:
    return rect.contains(pymupdf.Point((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))


def _is_radio(widget: pymupdf.Widget) -> bool:
    return widget.field_type == pymupdf.PDF_WIDGET_TYPE_RADIOBUTTON


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
