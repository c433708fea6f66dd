"""The JSON Schema subset extraction supports, checked and normalized into a tree of fields.

Supported: objects (properties, required, additionalProperties), arrays (items, minItems,
maxItems), strings (format, pattern, minLength, maxLength), numbers, integers, booleans, enums,
const, nullable types (`"type": [..., "null"]` or pydantic's `anyOf: [X, {"type": "null"}]`),
local `$ref`s into `$defs`, and annotations (title, description, default, examples). Anything
else raises `SchemaError` naming the keyword and where it is.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from docvlm.errors import SchemaError

KINDS = ("object", "array", "string", "number", "integer", "boolean")
_MISSING = object()

_SUPPORTED = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "enum", "const", "format", "pattern", "minLength", "maxLength", "minimum",
        "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf", "$ref", "$defs",
        "definitions", "title", "description", "default", "examples", "$schema", "$id",
        "$comment", "readOnly", "writeOnly", "deprecated",
    }
)  # fmt: skip
_UNSUPPORTED = frozenset(
    {
        "oneOf", "allOf", "not", "if", "then", "else", "patternProperties", "propertyNames",
        "dependentRequired", "dependentSchemas", "dependencies", "unevaluatedProperties",
        "unevaluatedItems", "prefixItems", "contains", "minContains", "maxContains",
        "uniqueItems", "multipleOf", "minProperties", "maxProperties", "$dynamicRef",
        "$dynamicAnchor", "$anchor", "$recursiveRef", "contentEncoding", "contentMediaType",
        "additionalItems",
    }
)  # fmt: skip


@dataclass
class FieldSpec:
    """One node of the schema: what to look for and what the value must be."""

    pointer: str  # JSON pointer of the value in `data`, e.g. "/customer/name"
    name: str
    kind: str
    nullable: bool = False
    required: bool = False
    title: str | None = None
    description: str | None = None
    format: str | None = None
    enum: list[Any] | None = None
    default: Any = _MISSING
    properties: dict[str, FieldSpec] = field(default_factory=dict)
    items: FieldSpec | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    def leaves(self) -> list[FieldSpec]:
        """Scalar fields under this node, not descending into arrays."""
        if self.kind != "object":
            return [self]
        return [leaf for child in self.properties.values() for leaf in child.leaves()]


@dataclass
class ExtractionSchema:
    """A checked schema: the user's JSON Schema, its `$ref`-free form and its field tree."""

    json_schema: dict[str, Any]
    resolved: dict[str, Any]
    root: FieldSpec

    def validator(self) -> jsonschema.protocols.Validator:
        cls = jsonschema.validators.validator_for(self.json_schema, jsonschema.Draft202012Validator)
        return cls(self.json_schema, format_checker=cls.FORMAT_CHECKER)


def load_schema(schema: Any) -> ExtractionSchema:
    """Check a JSON Schema dict, JSON text, or pydantic model class; raise SchemaError if unfit."""
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        schema = schema.model_json_schema()
    elif isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as error:
            raise SchemaError(f"schema is not valid JSON ({error})") from None
    if not isinstance(schema, dict):
        raise SchemaError(
            f"schema must be a JSON Schema object or a pydantic model, got {type(schema).__name__}"
        )
    cls = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/" + "/".join(str(p) for p in error.path)
        raise SchemaError(f"not a valid JSON Schema at {where}: {error.message}") from None
    resolved = _resolve_refs(schema, schema, "", ())
    root = _field(resolved, "", "", required=True)
    if root.kind != "object" or not root.properties:
        raise SchemaError('the schema\'s root must be {"type": "object", "properties": {...}}')
    return ExtractionSchema(json_schema=schema, resolved=resolved, root=root)


def _resolve_refs(node: Any, root: dict, where: str, seen: tuple[str, ...]) -> Any:
    """Inline local `$ref`s; recursive schemas are rejected (their JSON has no depth bound)."""
    if isinstance(node, list):
        return [_resolve_refs(item, root, where, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"only local $ref like '#/$defs/Item' is supported, got {ref!r}")
        if ref in seen:
            raise SchemaError(f"recursive $ref {ref!r} at {where or '/'} is not supported")
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise SchemaError(f"$ref {ref!r} at {where or '/'} points nowhere")
            target = target[part]
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve_refs(merged, root, where, (*seen, ref))
    return {
        key: value
        if key in ("$defs", "definitions", "enum", "const", "default", "examples")
        else _resolve_refs(value, root, f"{where}/{key}", seen)
        for key, value in node.items()
        if key not in ("$defs", "definitions")
    }


def _field(node: dict[str, Any], pointer: str, name: str, required: bool) -> FieldSpec:
    where = pointer or "/"
    _check_keywords(node, where)
    nullable = False
    if "anyOf" in node:
        options = node["anyOf"]
        non_null = [o for o in options if o.get("type") != "null"]
        if len(non_null) != 1 or len(options) != 2:
            raise SchemaError(
                f"unsupported anyOf at {where}: only [X, {{'type': 'null'}}] (a nullable field) "
                "is supported"
            )
        nullable = True
        base = {k: v for k, v in node.items() if k != "anyOf"}
        node = {**non_null[0], **base}
        _check_keywords(node, where)

    enum = node.get("enum")
    if "const" in node:
        enum = [node["const"]]
    kind_value = node.get("type")
    types = kind_value if isinstance(kind_value, list) else [kind_value] if kind_value else []
    if "null" in types:
        nullable = True
        types = [t for t in types if t != "null"]
    if enum is not None:
        if None in enum:
            nullable = True
        values = [v for v in enum if v is not None]
        if not values:
            raise SchemaError(f"enum at {where} has no non-null values")
        if not types:
            types = [_json_type(values[0])]
    if not types and "properties" in node:
        types = ["object"]
    if not types and "items" in node:
        types = ["array"]
    if len(types) != 1 or types[0] not in KINDS:
        raise SchemaError(
            f"field {where} needs one type of {', '.join(KINDS)} (optionally with null), "
            f"got {kind_value!r}"
        )
    kind = types[0]
    spec = FieldSpec(
        pointer=pointer,
        name=name,
        kind=kind,
        nullable=nullable,
        required=required,
        title=node.get("title"),
        description=node.get("description"),
        format=node.get("format"),
        enum=[v for v in enum if v is not None] if enum is not None else None,
        default=node.get("default", _MISSING),
    )
    if kind == "object":
        required_names = set(node.get("required", []))
        for child, child_node in node.get("properties", {}).items():
            spec.properties[child] = _field(
                child_node, f"{pointer}/{_escape(child)}", child, child in required_names
            )
        unknown = required_names - set(spec.properties)
        if unknown:
            raise SchemaError(f"required at {where} names undefined properties: {sorted(unknown)}")
    elif kind == "array":
        items = node.get("items")
        if not isinstance(items, dict):
            raise SchemaError(f"array {where} needs an 'items' schema")
        spec.items = _field(items, f"{pointer}/0", name, required=True)
    return spec


def _check_keywords(node: dict[str, Any], where: str) -> None:
    for key in node:
        if key in _SUPPORTED or key.startswith("x-"):
            continue
        if key in _UNSUPPORTED:
            raise SchemaError(
                f"unsupported JSON Schema keyword {key!r} at {where}; extraction supports: "
                "type, properties, required, items, enum, const, format, anyOf with null, $ref"
            )
        raise SchemaError(
            f"not a JSON Schema: unknown keyword {key!r} at {where} (field definitions go "
            'under "properties", e.g. {"type": "object", "properties": {"total": '
            '{"type": "number"}}})'
        )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


# How receipts and invoices print the amount to pay; "Sub Total" or "Total Qty" are others.
# Receipts print it in their country's language whatever language the schema is written in.
AMOUNT_PHRASINGS = {
    "total": ["grand total", "total amount", "total due", "amount due", "net total",
              "nett total", "total payable", "amount payable", "balance due", "total sales",
              "rounded total", "total rounded",
              "summe", "gesamtsumme", "zu zahlen", "gesamtbetrag", "endsumme", "endbetrag",
              "rechnungsbetrag", "total ttc", "montant total", "net à payer", "total à payer",
              "importe total", "total a pagar", "totale", "importo totale", "totale da pagare",
              "totaal", "te betalen", "totaalbedrag", "valor total"],
}  # fmt: skip
# And the date it was issued on ("Datum: 15.04.2020", "Tarikh: 02/03/2018").
DATE_PHRASINGS = {
    "date": ["datum", "fecha", "data", "tarikh", "belegdatum", "rechnungsdatum", "date facture"],
}  # fmt: skip


def label_candidates(spec: FieldSpec, parent: FieldSpec | None = None) -> list[str]:
    """Human phrasings of a field a form might print as its label, best first."""
    name = _humanize(spec.name)
    # A key that is a machine's id ("q27", "f1_02") is no wording a form prints beside a title.
    names = [spec.title] if spec.title and _OPAQUE_KEY.fullmatch(name) else [spec.title, name]
    if parent is not None and parent.name:
        parent_label = parent.title or _humanize(parent.name)
        names.append(f"{parent_label} {_humanize(spec.name)}")
    if spec.description and len(spec.description) <= 40:
        names.append(spec.description)
    if spec.kind == "number":
        names += AMOUNT_PHRASINGS.get(_humanize(spec.name), [])
    if spec.format in ("date", "date-time"):
        names += DATE_PHRASINGS.get(_humanize(spec.name), [])
    unique: list[str] = []
    for name in names:
        if name and name not in unique:
            unique.append(name)
    return unique


_OPAQUE_KEY = re.compile(r"[a-z]{0,2}\d+(?: \d+)*")


def _humanize(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[_\-.]+", " ", name).strip().lower()
