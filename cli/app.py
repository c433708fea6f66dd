"""The `docvlm` command line: parse, schema, info, convert (more commands register here)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from docvlm.cli.extract import EPILOG as EXTRACT_EPILOG
from docvlm.cli.extract import extract
from docvlm.cli.finetune import register as register_finetune
from docvlm.cli.parse import parse
from docvlm.cli.serve import register as register_serve

app = typer.Typer(
    name="docvlm",
    help="Document understanding OCR: PDFs and page images → markdown, tables and JSON.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command(
    epilog=(
        "Examples:\n\n"
        "  docvlm parse report.pdf                      # markdown to stdout\n\n"
        "  docvlm parse scans/ -o out/ --format json    # a folder, one JSON per file\n\n"
        "  docvlm parse form.pdf --pages 1-3,7 --engine ocr\n\n"
        "  docvlm parse archive/ -o out/ --workers 2      # resumable: rerun to finish\n\n"
        "  docvlm parse s3-mount/ -o out/ --ray --ray-address auto --num-gpus 1\n\n"
        "  docvlm parse page.png --engine vlm --model stepfun-ai/GOT-OCR-2.0-hf"
    )
)(parse)


app.command(epilog=EXTRACT_EPILOG)(extract)


@app.command()
def schema() -> None:
    """Print the JSON Schema of `docvlm parse --format json` output."""
    from docvlm.document import schema_json

    typer.echo(schema_json())


@app.command()
def info() -> None:
    """Print versions, devices and which engines are available."""
    from docvlm.info import collect_info

    for section, entries in collect_info().items():
        typer.echo(f"{section}:")
        for key, value in entries.items():
            typer.echo(f"  {key}: {value}")


@app.command(
    epilog="Example:\n\n  docvlm convert --from got ./GOT_weights ./got-docvlm "
    "--tokenizer stepfun-ai/GOT-OCR-2.0-hf"
)
def convert(
    source: Path = typer.Argument(..., help="Folder of the original checkpoint."),
    destination: Path = typer.Argument(..., help="Folder to write the docvlm checkpoint to."),
    origin: Literal["got", "vary", "vary-toy"] = typer.Option(
        ...,
        "--from",
        help="Layout of the original checkpoint.",
    ),
    tokenizer: str | None = typer.Option(
        None,
        "--tokenizer",
        help="Folder or Hugging Face id of a transformers tokenizer for the model, when the "
        "source's own needs remote code (GOT: stepfun-ai/GOT-OCR-2.0-hf).",
    ),
) -> None:
    """Convert an original GOT-OCR2.0 / Vary / Vary-toy checkpoint into a docvlm folder
    (model, tokenizer and processor: ready for parse, finetune and eval)."""
    from docvlm.errors import DocVLMError
    from docvlm.model.convert import convert_checkpoint

    try:
        written = convert_checkpoint(source, destination, source=origin, tokenizer=tokenizer)
    except DocVLMError as error:
        typer.echo(f"docvlm: error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {written}")


register_finetune(app)
register_serve(app)


def main() -> None:
    """Console-script entry point."""
    app()
