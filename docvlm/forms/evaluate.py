"""`docvlm eval --model FORM_MODEL`: field exact, and precision / recall per field, on a manifest.

A manifest row has no schema, so each row's target stands in for one: numbers are numbers,
ISO dates are dates, booleans are booleans, the rest is text (`target_schema`). Values go
through the same extraction as `docvlm extract --model`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docvlm.extraction.schema import load_schema
from docvlm.finetune.manifest import read_manifest
from docvlm.metrics import normalize_field_value
from docvlm.sources import open_source

from .align import target_leaves, to_key
from .extract import extract_with_form_model
from .tagger import load_form_model


def target_schema(target: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema the target's own values satisfy, typed from those values."""

    def node(value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return {"type": "object", "properties": {k: node(v) for k, v in value.items()}}
        if isinstance(value, list):
            return {"type": "array", "items": node(value[0]) if value else {"type": "string"}}
        if isinstance(value, bool):
            return {"type": ["boolean", "null"]}
        if isinstance(value, int | float):
            return {"type": ["number", "null"]}
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return {"type": ["string", "null"], "format": "date"}
        return {"type": ["string", "null"]}

    return node(target)


def evaluate_fields(manifest: str | Path, model: Any, anchors: str | None = None) -> dict[str, Any]:
    """Metrics of a form model on a manifest: field exact, precision, recall, per field."""
    tagger = load_form_model(model)
    counts: dict[str, list[int]] = {}  # key → [correct, predicted, expected]
    for example in read_manifest(manifest):
        schema = load_schema(target_schema(example.target))
        source = example.image or example.pdf
        with open_source(source, pages=[example.page]) as document:
            page = document.page(example.page)
            found, _ = extract_with_form_model(
                tagger, [page], schema, anchors or example.anchors or "auto"
            )
        truth = {pointer: value for _, pointer, value in target_leaves(example.target)}
        for pointer, value in truth.items():
            tally = counts.setdefault(to_key(pointer), [0, 0, 0])
            tally[2] += value is not None
        for pointer, hit in found.items():
            tally = counts.setdefault(to_key(pointer), [0, 0, 0])
            tally[1] += 1
            expected = truth.get(pointer)
            tally[0] += expected is not None and normalize_field_value(
                expected
            ) == normalize_field_value(hit.value)
    correct, predicted, expected = (sum(t[i] for t in counts.values()) for i in range(3))
    per_field = {
        key: {"precision": _rate(c, p), "recall": _rate(c, e), "expected": e}
        for key, (c, p, e) in sorted(counts.items())
    }
    metrics = {
        "field_exact": _rate(correct, expected),
        "field_precision": _rate(correct, predicted),
        "field_recall": _rate(correct, expected),
    }
    return {"metrics": metrics, "per_field": per_field}


def _rate(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 1.0
