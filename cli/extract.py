"""`docvlm extract`: fill a JSON Schema from a PDF or image, with per-field provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer

EPILOG = (
    "Examples:\n\n"
    "  docvlm extract invoice.pdf --schema invoice.schema.json -o invoice.json\n\n"
    "  docvlm extract scan.png --schema claim.schema.json --model ./my-finetuned-docvlm\n\n"
    "  docvlm extract claim.pdf -s claim.schema.json --date-order dmy --pages 1-2\n\n"
    "Values the reader is unsure of are left null and named on stderr as warnings; a value "
    "kept with an assumption (a date like 03/04/2026) is warned about too; --min-confidence 0.4 "
    "returns the free text held back as unsure.\n\n"
    "  docvlm extract form.pdf --schema form.schema.json --model ./my-form-model\n\n"
    "Exit status: 0 all fields valid; 1 some required field not found (the JSON is still "
    "written, with the field listed under errors) or the file could not be read; 2 bad schema."
)


def extract(
    file: Path = typer.Argument(..., help="PDF or image to read."),
    schema: Path = typer.Option(..., "--schema", "-s", help="JSON Schema file of the output."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here, not stdout."),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="Checkpoint folder, Hugging Face id or form model (e.g. docvlm-forms-tiny).",
    ),
    adapter: Path | None = typer.Option(
        None, "--adapter", help="LoRA adapter folder or Hugging Face id."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, ..."),
    quantize: Literal["4bit", "8bit"] | None = typer.Option(None, "--quantize"),
    pages: str | None = typer.Option(None, "--pages", help='1-based pages, e.g. "1-3,7".'),
    password: str | None = typer.Option(None, "--password", help="Password of encrypted PDFs."),
    ocr_language: str = typer.Option(
        "eng", "--ocr-lang", help='Tesseract languages, e.g. "deu" or "rus+eng".'
    ),
    date_order: Literal["dmy", "mdy"] | None = typer.Option(
        None,
        "--date-order",
        help="How to read dates like 03/04/2026 (default: as the document's other dates).",
    ),
    anchors: str = typer.Option("auto", "--anchors", help="Form model words: auto, text, ocr."),
    min_confidence: float | None = typer.Option(
        None,
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Leave null (with a warning) any value read less surely than this (default: free "
        "text OCR read by its label needs 0.55, other values 0.4).",
    ),
) -> None:
    """Extract JSON matching SCHEMA from FILE: data, per-field page/bbox/confidence, errors."""
    from docvlm.errors import DocVLMError, SchemaError
    from docvlm.extraction import extract as run_extract
    from docvlm.output import atomic_write_text

    if model is None and (adapter is not None or quantize is not None):
        flag = "--adapter" if adapter is not None else "--quantize"
        typer.echo(f"docvlm: error: {flag} applies to a model: add --model", err=True)
        raise typer.Exit(2)
    try:
        schema_text = schema.read_text()
    except OSError as error:
        typer.echo(f"docvlm: error: cannot read schema {schema}: {error.strerror}", err=True)
        raise typer.Exit(2) from None
    try:
        result = run_extract(
            file,
            schema_text,
            model=model,
            adapter=adapter,
            device=device,
            quantize=quantize,
            pages=pages,
            password=password,
            ocr_language=ocr_language,
            date_order=date_order,
            anchors=anchors,
            min_confidence=min_confidence,
        )
    except SchemaError as error:
        typer.echo(f"docvlm: error: {schema}: {error}", err=True)
        raise typer.Exit(2) from None
    except DocVLMError as error:
        typer.echo(f"docvlm: error: {error}", err=True)
        raise typer.Exit(1) from None
    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
    for problem in result.errors:
        typer.echo(f"docvlm: {problem['pointer']}: {problem['message']}", err=True)
    for warning in result.warnings:
        typer.echo(f"docvlm: warning: {warning['pointer']}: {warning['message']}", err=True)
    raise typer.Exit(0 if result.ok else 1)
