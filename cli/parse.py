"""`docvlm parse`: one file to stdout or a file; folders and several files to an output folder."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import typer
from tqdm import tqdm

from docvlm.batch import (
    FORMAT_SUFFIX,
    DocumentOutcome,
    InputFile,
    PageCache,
    collect_inputs,
    display_path,
    parse_input,
    run_batch,
)
from docvlm.document import Page
from docvlm.errors import DocVLMError
from docvlm.output import atomic_write_text
from docvlm.pipeline import DEFAULT_MAX_PAGES, Parser
from docvlm.sources import DEFAULT_SIZE

OUTPUT_SUFFIXES = {*FORMAT_SUFFIX.values(), ".txt"}


def parse(
    inputs: list[Path] = typer.Argument(..., help="PDF or image files, or folders of them."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Output file (one input) or folder (several inputs)."
    ),
    output_format: Literal["md", "json", "html"] = typer.Option("md", "--format", "-f"),
    pages: str | None = typer.Option(None, "--pages", help='1-based pages, e.g. "1-3,7".'),
    engine: Literal["auto", "text", "ocr", "vlm"] = typer.Option(
        "auto",
        "--engine",
        help="auto: text layer when trustworthy, else the VLM (with --model) or OCR.",
    ),
    ocr: Literal["auto", "tesseract", "rapidocr"] = typer.Option("auto", "--ocr"),
    ocr_language: str = typer.Option(
        "eng", "--ocr-lang", help='Tesseract languages, e.g. "deu" or "rus+eng".'
    ),
    password: str | None = typer.Option(None, "--password", help="Password of encrypted PDFs."),
    rasterizer: Literal["pymupdf", "poppler"] = typer.Option("pymupdf", "--rasterizer"),
    size: int = typer.Option(DEFAULT_SIZE, "--size", min=896, help="Raster size (longer side)."),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="Checkpoint folder or Hugging Face id (e.g. stepfun-ai/GOT-OCR-2.0-hf).",
    ),
    adapter: Path | None = typer.Option(
        None, "--adapter", help="LoRA adapter folder or Hugging Face id."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, ..."),
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = typer.Option("auto", "--dtype"),
    quantize: Literal["4bit", "8bit"] | None = typer.Option(None, "--quantize"),
    attn: Literal["eager", "sdpa", "flash_attention_2"] | None = typer.Option(None, "--attn"),
    max_new_tokens: int = typer.Option(4096, "--max-new-tokens", min=1),
    crop: bool = typer.Option(False, "--crop/--no-crop", help="Multi-crop tiles for dense pages."),
    max_tiles: int = typer.Option(6, "--max-tiles", min=1, help="Most tiles per page with --crop."),
    task: Literal["ocr", "format"] = typer.Option(
        "ocr", "--task", help="ocr: plain text; format: markdown/LaTeX with structure."
    ),
    batch_size: int = typer.Option(1, "--batch-size", min=1, help="Pages per VLM batch."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (or Ray actors)."),
    ray: bool = typer.Option(False, "--ray", help="Run over Ray Data (pip install docvlm[ray])."),
    ray_address: str = typer.Option(
        "local", "--ray-address", help='Ray cluster address, or "local" to start one.'
    ),
    num_gpus: float = typer.Option(0.0, "--num-gpus", min=0.0, help="GPUs per Ray actor."),
    force: bool = typer.Option(False, "--force", help="Redo pages already done in OUT."),
    page_timeout: float | None = typer.Option(None, "--page-timeout", min=0.1, help="Seconds."),
    max_pages: int = typer.Option(DEFAULT_MAX_PAGES, "--max-pages", min=1),
    include_furniture: bool = typer.Option(
        False, "--furniture", help="Keep page headers and footers in markdown."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summary line."),
) -> None:
    """Parse PDFs and page images into markdown, JSON or HTML."""
    parser_options: dict[str, Any] = dict(
        engine=engine,
        model=model,
        adapter=adapter,
        ocr_backend=ocr,
        ocr_languages=ocr_language,
        rasterizer=rasterizer,
        size=size,
        batch_size=batch_size,
        max_pages=max_pages,
        page_timeout=page_timeout,
        device=device,
        dtype=dtype,
        quantize=quantize,
        attn=attn,
        max_new_tokens=max_new_tokens,
        crop=crop,
        max_tiles=max_tiles,
        task=task,
    )  # the VLM options apply only with a model (Parser decides)
    if engine == "vlm" and model is None:
        raise typer.BadParameter("--engine vlm needs --model DIR", param_hint="--model")

    batch_mode = (
        len(inputs) > 1
        or inputs[0].is_dir()
        or (output is not None and (output.is_dir() or str(output).endswith(("/", "\\"))))
    )
    show_progress = not quiet and sys.stderr.isatty()
    if not batch_mode:
        ok = _parse_one(
            inputs[0],
            output,
            parser_options,
            output_format,
            include_furniture,
            pages,
            password,
            show_progress,
        )
        raise typer.Exit(0 if ok else 1)
    if output is None:
        raise typer.BadParameter("several inputs or a folder need -o OUT_DIR", param_hint="-o")
    if not output.is_dir() and (output.exists() or output.suffix.lower() in OUTPUT_SUFFIXES):
        raise typer.BadParameter(
            f"{output} names a file, but several inputs or a folder write one output each: "
            "give -o a folder",
            param_hint="-o",
        )

    started = time.perf_counter()
    items = collect_inputs(inputs)
    documents_bar = tqdm(total=len(items), unit="doc", disable=not show_progress, position=0)
    pages_bar = tqdm(unit="page", disable=not show_progress, position=1, leave=False)

    def on_document(outcome: DocumentOutcome) -> None:
        for message in _messages(outcome):
            tqdm.write(message, file=sys.stderr)
        documents_bar.update(1)

    def on_page(page: Page) -> None:
        pages_bar.update(1)

    outcomes = run_batch(
        items,
        output,
        parser_options,
        output_format=output_format,
        include_furniture=include_furniture,
        pages=pages,
        password=password,
        force=force,
        workers=workers,
        ray_address=ray_address if ray else None,
        num_gpus=num_gpus,
        on_document=on_document,
        on_page=on_page,
    )
    pages_bar.close()
    documents_bar.close()
    if not quiet:
        typer.echo(summary(outcomes, time.perf_counter() - started), err=True)
    raise typer.Exit(1 if any(o.errors for o in outcomes) else 0)


def summary(outcomes: list[DocumentOutcome], seconds: float) -> str:
    """One line for the end of a folder run: files, pages by status, and time."""
    statuses = Counter(row["status"] for o in outcomes for row in o.rows if row["page"])
    failed = sum(1 for o in outcomes if any(row["page"] is None for row in o.rows))
    files = f"{len(outcomes)} file{'s' * (len(outcomes) != 1)}"
    if failed:
        files += f" ({failed} failed)"
    counts = [f"{statuses.pop(name, 0)} {name}" for name in ("ok", "fallback", "error")]
    counts += [f"{count} {name}" for name, count in sorted(statuses.items())]
    pages = sum(1 for o in outcomes for row in o.rows if row["page"])
    return f"docvlm: {files}, {pages} pages: {', '.join(counts)}; {seconds:.1f} s"


def _messages(outcome: DocumentOutcome) -> list[str]:
    """A document's warnings (once) and errors, as stderr lines."""
    name = display_path(outcome.input.path)
    warnings = [f"docvlm: warning: {name}: {warning}" for warning in outcome.warnings]
    return warnings + [f"docvlm: error: {message}" for message in outcome.errors]


def _parse_one(
    path: Path,
    output: Path | None,
    parser_options: dict[str, Any],
    output_format: str,
    include_furniture: bool,
    pages: str | None,
    password: str | None,
    show_progress: bool,
) -> bool:
    """Parse a single input to stdout or to one file; print its errors; return success."""
    try:
        parser = Parser(**parser_options)
    except DocVLMError as error:
        typer.echo(f"docvlm: error: {error}", err=True)
        return False
    bar = tqdm(unit="page", disable=not show_progress, desc=path.name)
    outcome = parse_input(
        parser,
        InputFile(path, Path(path.stem)),
        PageCache(None, parser.options()),
        output_format=output_format,
        include_furniture=include_furniture,
        pages=pages,
        password=password,
        on_page=lambda _page: bar.update(1),
    )
    bar.close()
    for message in _messages(outcome):
        typer.echo(message, err=True)
    if outcome.rendered is not None:
        if output is None:
            sys.stdout.write(outcome.rendered)
        else:
            atomic_write_text(output, outcome.rendered)
    return not outcome.errors and outcome.rendered is not None
