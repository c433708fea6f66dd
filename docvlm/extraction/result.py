"""The result of extraction and how it is assembled from the values read.

The contract on `data`: it validates against the schema whenever `errors` is empty. A field that
was not found is null where the schema allows null, takes the schema's `default` if it has one,
and is left out where it is optional. A required, non-nullable field that was not found is left
out too and reported in `errors`: docvlm never invents a value to make the JSON validate. A
value that was read but breaks the schema (pattern, minimum, ...) is treated as not found.

`warnings` are what a reviewer should look at although the JSON is valid: a value kept with an
assumption (an ambiguous date, a label printed twice) and a field left null because what was
printed beside its label did not read as its type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from docvlm.document import BBox
from docvlm.extraction.schema import ExtractionSchema, FieldSpec


@dataclass
class Found:
    """A value read for one field, with where it was read and how sure we are."""

    value: Any
    page: int
    bbox: BBox | None
    confidence: float
    source: str
    warning: str | None = None


_MISSING = object()


@dataclass
class ExtractionResult:
    """Extracted `data`, where each value came from (`fields`, by JSON pointer), `errors`
    (the JSON breaks the schema) and `warnings` (valid JSON, but look here)."""

    data: dict[str, Any]
    fields: dict[str, Found] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """The JSON the CLI writes: data, fields {pointer: value, page, bbox, ...}, errors,
        warnings."""
        return {
            "data": self.data,
            "fields": {
                pointer: {
                    "value": found.value,
                    "page": found.page,
                    "bbox": [round(v, 2) for v in found.bbox] if found.bbox else None,
                    "confidence": found.confidence,
                    "source": found.source,
                    **({"warning": found.warning} if found.warning else {}),
                }
                for pointer, found in self.fields.items()
            },
            "errors": self.errors,
            "warnings": self.warnings,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> ExtractionResult:
        """The inverse of `to_dict()` (what `docvlm.Client` builds from a server's answer)."""
        fields = {
            pointer: Found(
                entry["value"],
                entry["page"],
                tuple(entry["bbox"]) if entry.get("bbox") else None,
                entry["confidence"],
                entry["source"],
                entry.get("warning"),
            )
            for pointer, entry in payload.get("fields", {}).items()
        }
        return cls(
            data=payload["data"],
            fields=fields,
            errors=list(payload.get("errors", [])),
            warnings=list(payload.get("warnings", [])),
        )


def assemble(
    schema: ExtractionSchema, found: dict[str, Found], unsure: dict[str, str] | None = None
) -> ExtractionResult:
    """Build `data` from found values under the contract in this module's docstring; `unsure`
    gives, by pointer, why a field was left unfilled."""
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
                        why = (unsure or {}).get(pointer)
                        message = "required field not found" + (f": {why}" if why else "")
                        errors.append({"pointer": pointer, "message": message})
    kept = {p: f for p, f in found.items() if _present(data, p)}
    reported = {e["pointer"] for e in errors}
    warnings = [{"pointer": p, "message": f.warning} for p, f in kept.items() if f.warning]
    warnings += [
        {"pointer": p, "message": message}
        for p, message in (unsure or {}).items()
        if p not in reported and p not in kept
    ]
    return ExtractionResult(data=data, fields=kept, errors=errors, warnings=warnings)


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
