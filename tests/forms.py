"""Real fillable PDF forms (tests/data/forms, sources in SOURCES.md) filled with random values:
the ground truth of an AcroForm extraction is what was filled in."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pymupdf

FORMS = Path(__file__).parent / "data" / "forms"
# Widgets a viewer does not show (`field_display` hidden, no view): a flattened copy never
# prints their values (160F-2019's `X.minus1`), so they are no ground truth.
HIDDEN = (1, 3)


def _random_text(rng: random.Random, limit: int) -> str:
    choices = [
        lambda: rng.choice(["Maria", "James", "Aiko", "Omar", "Elena", "Priya", "Noah"]),
        lambda: rng.choice(["Garcia", "Smith", "Tanaka", "Haddad", "Rossi", "Patel"]),
        lambda: f"{rng.randint(10, 9999)} {rng.choice(['Oak', 'Main', 'Elm', 'Pine'])} St",
        lambda: str(rng.randint(1, 99999)),
        lambda: f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1990, 2030)}",
        lambda: f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
    ]
    text = rng.choice(choices)()
    return text[:limit].strip() if limit else text


def _field_key(name: str, taken: set[str]) -> str:
    key = re.sub(r"\W+", "_", name).strip("_") or "field"
    while key in taken:
        key += "_"
    taken.add(key)
    return key


def fill_form(pdf: bytes, seed: int) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """Fill every fillable widget; return the PDF, its schema and the values filled."""
    rng = random.Random(seed)
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    properties: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    keys: dict[str, str] = {}
    radios: set[str] = set()
    pages = list(doc)  # widgets hold weak references to their page
    for page in pages:
        for widget in list(page.widgets() or []):
            name = widget.field_name
            kind = widget.field_type
            if (
                widget.field_flags & 1
                or widget.field_display in HIDDEN
                or kind
                in (
                    pymupdf.PDF_WIDGET_TYPE_BUTTON,
                    pymupdf.PDF_WIDGET_TYPE_SIGNATURE,
                )
            ):
                continue
            title = widget.field_label or name
            if name in keys:
                continue  # a second widget of an already filled field shows the same value
            key = keys[name] = _field_key(name, set(properties))
            if kind == pymupdf.PDF_WIDGET_TYPE_RADIOBUTTON:
                group = [w for p in pages for w in p.widgets() or [] if w.field_name == name]
                states = [w.on_state() for w in group]
                if len(set(states)) != len(states) or not all(isinstance(s, str) for s in states):
                    del keys[name]
                    continue
                chosen = rng.randrange(len(group))
                group[chosen].field_value = True  # turns the group's other members off
                group[chosen].update()
                value = states[chosen]
                radios.add(name)
                properties[key] = {"type": "string", "title": title, "enum": states}
                expected[key] = value
                continue
            if kind == pymupdf.PDF_WIDGET_TYPE_CHECKBOX:
                value = rng.random() < 0.5
                widget.field_value = widget.on_state() if value else "Off"
                properties[key] = {"type": "boolean", "title": title}
            elif kind in (pymupdf.PDF_WIDGET_TYPE_COMBOBOX, pymupdf.PDF_WIDGET_TYPE_LISTBOX):
                options = [o if isinstance(o, str) else o[0] for o in widget.choice_values or []]
                if not options:
                    continue
                value = rng.choice(options)
                widget.field_value = value
                properties[key] = {"type": "string", "title": title, "enum": options}
            else:
                value = _random_text(rng, widget.text_maxlen)
                widget.field_value = value
                properties[key] = {"type": "string", "title": title}
            widget.update()
            expected[key] = value
    filled = doc.tobytes()
    # Keep only radio groups whose filled state reads back (PyMuPDF cannot tick a lone radio).
    reread = list(pymupdf.open(stream=filled, filetype="pdf"))
    ticked = {
        w.field_name: w.on_state()
        for page in reread
        for w in page.widgets() or []
        if w.field_type == pymupdf.PDF_WIDGET_TYPE_RADIOBUTTON
        and w.field_value not in ("Off", None)
    }
    unreadable = [k for n, k in keys.items() if n in radios and ticked.get(n) != expected.get(k)]
    for key in unreadable:
        del properties[key], expected[key]
    schema = {"type": "object", "properties": properties}
    return filled, schema, expected
