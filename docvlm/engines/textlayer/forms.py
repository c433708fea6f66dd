"""AcroForm widgets with a value → key–value items (an empty field writes nothing)."""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf

from docvlm.document import BBox
from docvlm.engines.textlayer.lines import Line, mid_y, to_frame

_UNCHECKED = {"", "Off", "false", "False", "0"}


@dataclass
class FormField:
    bbox: BBox  # in frame 0
    page_bbox: BBox
    key: str
    value: str
    frame: int = 0


def form_fields(pdf_page: pymupdf.Page, lines: list[Line]) -> tuple[list[FormField], list[Line]]:
    """Filled fields of the page, labelled by their tooltip or the text just left of them,
    and the label lines so used (they are written once, as the key)."""
    if not pdf_page.parent.is_form_pdf:
        return [], []
    fields, labels = [], []
    for widget in pdf_page.widgets():
        value = widget.field_value
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        value = "" if value is None else str(value).strip()
        if value in _UNCHECKED or widget.field_type == pymupdf.PDF_WIDGET_TYPE_BUTTON:
            continue
        if widget.field_type in (
            pymupdf.PDF_WIDGET_TYPE_CHECKBOX,
            pymupdf.PDF_WIDGET_TYPE_RADIOBUTTON,
        ):
            value = "☒"
        box = tuple(widget.rect)
        key = (widget.field_label or "").strip()
        if not key:
            label = _label_left_of(box, lines)
            if label is not None:
                labels.append(label)
            key = label.text.strip() if label else widget.field_name
        fields.append(FormField(to_frame(0, box), box, key, value))
    return fields, labels


def _label_left_of(box: BBox, lines: list[Line]) -> Line | None:
    """The nearest text line on the widget's row that ends left of it."""
    row = [
        ln
        for ln in lines
        if ln.frame == 0
        and ln.page_bbox[2] <= box[0] + 2
        and abs(mid_y(ln.page_bbox) - mid_y(box)) < 0.6 * (box[3] - box[1])
    ]
    return max(row, key=lambda ln: ln.page_bbox[2], default=None)
