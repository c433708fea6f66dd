"""Schema-guided extraction: schema checks, no-model extraction with provenance (sample invoice,
AcroForm, synthetic forms), constrained decoding under random weights, the VLM path, the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Literal

import jsonschema
import pymupdf
import pytest
import torch
import typer
from pydantic import BaseModel
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
from typer.testing import CliRunner

from docvlm.cli.extract import extract as extract_command
from docvlm.errors import SchemaError
from docvlm.extraction import extract
from docvlm.extraction.constrained import compile_grammar, generate_json, value_spans
from docvlm.extraction.schema import load_schema
from docvlm.extraction.vlm import merge_pages, page_schema, pointer_leaves
from docvlm.finetune.synth import LAYOUTS, form_schema, synth_form

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
TOKENIZER_DIR = Path(__file__).resolve().parent.parent / "docvlm" / "model" / "tokenizer"

INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string"},
        "invoice_date": {"type": "string", "format": "date"},
        "due_date": {"type": "string", "format": "date"},
        "customer": {
            "type": "object",
            "title": "Bill to",
            "properties": {"name": {"type": "string"}, "address": {"type": "string"}},
            "required": ["name", "address"],
        },
        "currency": {"enum": ["USD", "EUR", "GBP"]},
        "paid": {"type": "boolean"},
        "line_items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "quantity": {"type": "integer"},
                    "unit_price": {"type": "number"},
                    "amount": {"type": "number"},
                },
                "required": ["description", "quantity", "unit_price", "amount"],
            },
        },
        "subtotal": {"type": "number"},
        "tax": {"type": "number"},
        "total": {"type": "number"},
    },
    "required": ["invoice_number", "invoice_date", "due_date", "customer", "paid", "total"],
}


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# ---------------------------------------------------------------- schema checks


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([1, 2], "JSON Schema object"),
        ({"invoice_number": "string"}, "not a JSON Schema: unknown keyword 'invoice_number'"),
        ({"type": "strin", "properties": {}}, "not a valid JSON Schema"),
        ({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}, "'oneOf'"),
        (
            {"type": "object",
             "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}},
            "anyOf",
        ),
        ({"type": "array", "items": {"type": "string"}}, "root must be"),
        (
            {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}},
             "$defs": {"N": {"type": "object", "properties": {"k": {"$ref": "#/$defs/N"}}}}},
            "recursive $ref",
        ),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]},
         "undefined"),
        ("{not json", "not valid JSON"),
    ],
)  # fmt: skip
def test_bad_schema_raises_schema_error(schema, message: str) -> None:
    with pytest.raises(SchemaError, match=message.replace("$", r"\$").replace("(", r"\(")):
        load_schema(schema)


class Item(BaseModel):
    description: str
    quantity: int


class InvoiceModel(BaseModel):
    invoice_number: str
    invoice_date: date
    status: Literal["paid", "open"] = "open"
    note: str | None = None
    line_items: list[Item] = []


def test_pydantic_model_is_a_schema() -> None:
    root = load_schema(InvoiceModel).root
    assert root.properties["invoice_date"].format == "date"
    assert root.properties["status"].enum == ["paid", "open"]
    assert root.properties["note"].nullable and root.properties["note"].kind == "string"
    assert root.properties["line_items"].items.properties["quantity"].kind == "integer"


# ---------------------------------------------------------------- no model: sample invoice


def test_sample_invoice_every_field_value_page_and_box() -> None:
    expected = json.loads((SAMPLES / "expected" / "invoice.json").read_text())
    result = extract(SAMPLES / "invoice.pdf", INVOICE_SCHEMA)
    assert result.errors == []
    jsonschema.validate(result.data, INVOICE_SCHEMA)
    for key in ("invoice_number", "invoice_date", "due_date", "customer", "paid", "currency",
                "line_items", "subtotal", "tax", "total"):  # fmt: skip
        assert result.data[key] == expected[key], key
    page = pymupdf.open(SAMPLES / "invoice.pdf")[0]
    for pointer, value in pointer_leaves(result.data):
        found = result.fields[pointer]
        assert found.page == 1 and found.source == "text" and 0 < found.confidence <= 1
        if isinstance(value, bool):
            continue
        printed = {
            "/customer/address": "1200 Market Street",
            "/currency": "USD",
        }.get(pointer, f"{value:,.2f}" if isinstance(value, float) else str(value))
        truth = page.search_for(printed)
        assert truth, pointer
        assert any(overlaps(found.bbox, tuple(rect)) for rect in truth), pointer
    drawn_boxes = [d["rect"] for d in page.get_drawings() if d["rect"].width < 15]
    assert any(overlaps(result.fields["/paid"].bbox, tuple(r)) for r in drawn_boxes)


def test_missing_fields_follow_the_data_contract() -> None:
    schema = {
        "type": "object",
        "properties": {
            "total": {"type": "number"},
            "po_number": {"type": ["string", "null"]},
            "region": {"type": "string", "default": "US"},
            "vendor_vat_id": {"type": "string"},
            "account_iban": {"type": "string"},
        },
        "required": ["total", "po_number", "account_iban"],
    }
    result = extract(SAMPLES / "invoice.pdf", schema)
    assert result.data == {"total": 690.93, "po_number": None, "region": "US"}
    assert result.errors == [{"pointer": "/account_iban", "message": "required field not found"}]
    assert set(result.fields) == {"/total"}
    as_dict = result.to_dict()
    assert (
        as_dict["fields"]["/total"]["source"] == "text"
        and len(as_dict["fields"]["/total"]["bbox"]) == 4
    )


def test_value_that_breaks_the_schema_is_dropped_not_returned() -> None:
    schema = {
        "type": "object",
        "properties": {"invoice_number": {"type": ["string", "null"], "pattern": "^PO-"}},
    }
    result = extract(SAMPLES / "invoice.pdf", schema)
    assert result.data == {"invoice_number": None}
    assert result.errors[0]["pointer"] == "/invoice_number"


# ---------------------------------------------------------------- no model: AcroForm


@pytest.fixture
def acroform_pdf(tmp_path: Path) -> tuple[Path, dict[str, tuple]]:
    """A form with named widgets, a cryptically named one beside its printed label, a checkbox."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=612, height=792)
    page.insert_text((54, 60), "Membership form", fontsize=16)
    boxes = {}

    def add(name: str, value, rect, kind=pymupdf.PDF_WIDGET_TYPE_TEXT) -> None:
        widget = pymupdf.Widget()
        widget.field_name = name
        widget.field_type = kind
        widget.rect = pymupdf.Rect(rect)
        widget.field_value = value
        page.add_widget(widget)

    add("full_name", "Ada Lovelace", (150, 100, 350, 118))
    boxes["/full_name"] = (150, 100, 350, 118)
    add("DateOfBirth", "12/10/1985", (150, 130, 350, 148))
    boxes["/date_of_birth"] = (150, 130, 350, 148)
    page.insert_text((54, 175), "Member ID:")
    add("Text7", "M-20931", (150, 162, 350, 180))
    boxes["/member_id"] = (150, 162, 350, 180)
    add("newsletter", True, (150, 195, 162, 207), pymupdf.PDF_WIDGET_TYPE_CHECKBOX)
    boxes["/newsletter"] = (150, 195, 162, 207)
    page.insert_text((54, 240), "Annual fee: $1,250.00")
    path = tmp_path / "form.pdf"
    pdf.save(path)
    return path, boxes


def test_acroform_values_pages_and_boxes(acroform_pdf) -> None:
    path, boxes = acroform_pdf
    schema = {
        "type": "object",
        "properties": {
            "full_name": {"type": "string"},
            "date_of_birth": {"type": "string", "format": "date"},
            "member_id": {"type": "string"},
            "newsletter": {"type": "boolean"},
            "annual_fee": {"type": "number"},
        },
        "required": ["full_name", "date_of_birth", "member_id", "newsletter", "annual_fee"],
    }
    result = extract(path, schema)
    assert result.errors == []
    assert result.data == {
        "full_name": "Ada Lovelace",
        "date_of_birth": "1985-12-10",
        "member_id": "M-20931",
        "newsletter": True,
        "annual_fee": 1250.0,
    }
    for pointer, box in boxes.items():
        found = result.fields[pointer]
        assert found.source == "acroform" and found.page == 1
        assert overlaps(found.bbox, box), pointer
    assert result.fields["/annual_fee"].source == "text"


# ---------------------------------------------------------------- no model: synthetic forms


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_born_digital_forms(layout: str, seed: int) -> None:
    form = synth_form(layout, seed)
    result = extract(form.pdf, form_schema(layout))
    assert result.errors == []
    assert result.data == form.values
    for pointer, box in form.boxes.items():
        assert overlaps(result.fields[pointer].bbox, box), pointer


def test_scanned_form_is_read_through_ocr() -> None:
    form = synth_form("application", 3, scanned=True)
    result = extract(form.pdf, form_schema("application"))
    assert all(f.source == "ocr" for f in result.fields.values())
    right = [k for k, v in form.values.items() if result.data.get(k) == v]
    assert len(right) >= 7, (result.data, form.values)
    for key in right:
        assert overlaps(result.fields[f"/{key}"].bbox, form.boxes[f"/{key}"]), key


# ---------------------------------------------------------------- constrained decoding

CONSTRAINED_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 4},
        "total": {"type": "number", "minimum": -1000, "maximum": 1000},
        "count": {"type": "integer", "minimum": 0, "maximum": 99},
        "kind": {"enum": ["auto", "home", "health"]},
        "paid": {"type": "boolean"},
        "note": {"type": ["string", "null"], "maxLength": 4},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
        "customer": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "maxLength": 5},
                "zip": {"type": "integer", "minimum": 0, "maximum": 999},
            },
            "required": ["city", "zip"],
        },
    },
    "required": ["name", "total", "count", "kind", "paid", "note", "tags", "customer"],
}


def test_random_weight_model_writes_schema_valid_json_for_20_seeds() -> None:
    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    grammar = compile_grammar(CONSTRAINED_SCHEMA, tokenizer, len(tokenizer), [eos])
    inputs = tokenizer(["JSON:"], return_tensors="pt")
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
    )  # fmt: skip
    outputs = set()
    for seed in range(20):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config).eval()
        (generation,) = generate_json(
            model, dict(inputs), grammar, tokenizer, eos_token_id=eos, max_new_tokens=200,
            do_sample=True, top_k=0,
        )  # fmt: skip
        assert generation.complete, generation.text
        jsonschema.validate(generation.value, CONSTRAINED_SCHEMA)
        pointers = {p for p, _ in pointer_leaves(generation.value)}
        assert set(generation.confidences) >= pointers - {"/tags"}
        assert all(0.0 <= c <= 1.0 for c in generation.confidences.values())
        outputs.add(generation.text)
    assert len(outputs) == 20  # random weights really wrote different JSON each time


def test_value_spans_point_at_each_scalar() -> None:
    text = '{"a": "x", "b": {"c": [1, 2.5]}, "d": null, "e/f": true}'
    spans = value_spans(text)
    assert {p: text[s:e] for p, (s, e) in spans.items()} == {
        "/a": '"x"', "/b/c/0": "1", "/b/c/1": "2.5", "/d": "null", "/e~1f": "true",
    }  # fmt: skip


def test_page_schema_lets_each_page_answer_null() -> None:
    relaxed = page_schema(load_schema(INVOICE_SCHEMA).resolved)
    jsonschema.validate(
        {k: ([] if k == "line_items" else None) for k in INVOICE_SCHEMA["properties"]}
        | {"customer": {"name": None, "address": None}},
        relaxed,
    )
    assert relaxed["required"] == list(INVOICE_SCHEMA["properties"])


def test_merge_pages_keeps_best_value_and_concatenates_items() -> None:
    with pymupdf.open() as pdf:
        for text in ("Invoice total 10.00, quantity 1", "Invoice total 12.00, quantity 2"):
            pdf.new_page().insert_text((72, 72), text)
        from docvlm.sources import open_source

        source = open_source(pdf.tobytes())
        first, second = list(source.pages())
        found = merge_pages([
            (first, {"total": 10.0, "items": [{"qty": 1}]}, {"/total": 0.4, "/items/0/qty": 0.9}),
            (second, {"total": 12.0, "items": [{"qty": 2}]}, {"/total": 0.8, "/items/0/qty": 0.7}),
        ])  # fmt: skip
        source.close()
    assert found["/total"].value == 12.0 and found["/total"].page == 2
    assert found["/items/0/qty"].page == 1 and found["/items/1/qty"].value == 2
    assert found["/total"].bbox is not None and found["/total"].source == "vlm"


def test_vlm_extraction_with_a_random_tiny_docvlm(tmp_path: Path) -> None:
    from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
    from docvlm.model.processing_docvlm import DocVLMProcessor

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = DocVLMConfig.from_preset(
        "tiny", image_start_token_id=259, image_end_token_id=260, image_token_id=261
    )
    model = DocVLMForConditionalGeneration(config).eval()
    model.save_pretrained(tmp_path)
    DocVLMProcessor.from_config(config).save_pretrained(tmp_path)
    schema = {
        "type": "object",
        "properties": {
            "invoice_number": {"type": "string", "maxLength": 6},
            "paid": {"type": "boolean"},
            "currency": {"enum": ["USD", "EUR"]},
            "total": {"type": "integer", "minimum": 0, "maximum": 999},
        },
        "required": ["invoice_number", "paid", "currency", "total"],
    }
    result = extract(SAMPLES / "invoice.pdf", schema, model=tmp_path)
    jsonschema.validate(result.data, {**schema, "required": []})
    assert result.fields and all(
        f.source == "vlm" and f.page == 1 and 0 <= f.confidence <= 1 for f in result.fields.values()
    )
    missing = {e["pointer"] for e in result.errors}
    assert missing == {f"/{k}" for k in schema["required"] if k not in result.data}


# ---------------------------------------------------------------- CLI


def run_cli(*args: str):
    app = typer.Typer()
    app.command()(extract_command)
    return CliRunner().invoke(app, list(args))


def test_cli_writes_extraction_json(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(INVOICE_SCHEMA))
    out = tmp_path / "out.json"
    result = run_cli(str(SAMPLES / "invoice.pdf"), "--schema", str(schema), "-o", str(out))
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["data"]["total"] == 690.93
    assert written["fields"]["/invoice_number"]["page"] == 1
    assert written["errors"] == []


@pytest.mark.parametrize(
    "schema_text", ['{"total": "number"}', '{"type": "object", "properties": {"a": {"not": {}}}}']
)
def test_cli_bad_schema_exits_2(tmp_path: Path, schema_text: str) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(schema_text)
    result = run_cli(str(SAMPLES / "invoice.pdf"), "--schema", str(schema))
    assert result.exit_code == 2
    assert "docvlm: error:" in result.output and "keyword" in result.output


@pytest.mark.parametrize("flag", [["--adapter", "lora-dir"], ["--quantize", "4bit"]])
def test_cli_model_options_without_a_model_are_a_usage_error(tmp_path: Path, flag) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(INVOICE_SCHEMA))
    result = run_cli(str(SAMPLES / "invoice.pdf"), "--schema", str(schema), *flag)
    assert result.exit_code == 2
    assert f"{flag[0]} applies to a model: add --model" in result.output
    with pytest.raises(ValueError, match="pass model"):
        extract(SAMPLES / "invoice.pdf", INVOICE_SCHEMA, adapter="lora-dir")


def test_bench_reports_the_recall_kept_at_the_target_precision() -> None:
    """bench/extract_real.py: the best confidence cut with at least 90 % (or the precision
    asked) of its values right; values tied at one confidence are kept or dropped together."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from extract_real import _kept_at_precision

    values = [(0.9, True)] * 9 + [(0.8, False), (0.8, True), (0.7, True), (0.5, False)]
    assert _kept_at_precision({"expected": 20, "values": values}) == (11 / 20, 0.7)
    tied = [(0.9, True)] * 8 + [(0.6, True), (0.6, False), (0.6, False)]
    assert _kept_at_precision({"expected": 10, "values": tied}) == (0.8, 0.9)
    assert _kept_at_precision({"expected": 4, "values": [(0.9, False)]}) == (0.0, None)
    assert _kept_at_precision({"expected": 20, "values": values}, 0.84) == (11 / 20, 0.5)
    assert _kept_at_precision({"expected": 20, "values": values}, 0.92) == (9 / 20, 0.9)


def test_bench_joins_a_questions_several_answers_as_the_page_reads_them() -> None:
    """bench/extract_real.py: FUNSD's links are unordered; the truth reads the answer boxes by
    line, and a box two lines high beside them does not merge those lines."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from extract_real import _reading_order

    def box(text: str, x0: int, y0: int, x1: int, y1: int) -> dict:
        return {"text": text, "box": [x0, y0, x1, y1]}

    grid = [box("4.2", 210, 754, 236, 769), box("3.1", 208, 742, 236, 755),
            box("(95)", 261, 753, 300, 770), box("(129)", 263, 740, 302, 755)]  # fmt: skip
    assert [e["text"] for e in _reading_order(grid)] == ["3.1", "(129)", "4.2", "(95)"]
    beside_block = [box("(#647)", 108, 479, 171, 492), box("Current VICEROY", 184, 468, 310, 490),
                    box("(#627)", 109, 468, 172, 479)]  # fmt: skip
    assert [e["text"] for e in _reading_order(beside_block)] == [
        "(#627)",
        "Current VICEROY",
        "(#647)",
    ]
