"""`docvlm serve`: the HTTP service (FastAPI on uvicorn) with its review page at `/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from docvlm.pipeline import DEFAULT_MAX_PAGES
from docvlm.serve.settings import (
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_TASK_TTL,
    DEFAULT_TIMEOUT,
)

EPILOG = (
    "Examples:\n\n"
    "  docvlm serve                     # http://127.0.0.1:8000, review page at /\n\n"
    "  DOCVLM_API_KEY=s3cret docvlm serve --host 0.0.0.0 --port 8080 --workers 2\n\n"
    "  docvlm serve --model ./GOT-OCR-2.0-hf --device cuda --max-upload-mb 20\n\n"
    "  curl -F file=@report.pdf -F format=markdown http://127.0.0.1:8000/v1/parse"
)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0: all)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, help="Parse threads sharing the engines."),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="DOCVLM_API_KEY", help="Require this key on /v1 requests."
    ),
    max_upload_mb: float = typer.Option(DEFAULT_MAX_UPLOAD_MB, "--max-upload-mb", min=0.001),
    max_pages: int = typer.Option(DEFAULT_MAX_PAGES, "--max-pages", min=1),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", min=0.1, help="Seconds a job."),
    queue_size: int = typer.Option(
        DEFAULT_QUEUE_SIZE, "--queue-size", min=1, help="Jobs waiting or running; then 429."
    ),
    task_ttl: float = typer.Option(DEFAULT_TASK_TTL, "--task-ttl", help="Seconds results stay."),
    model: Path | None = typer.Option(None, "--model", help="Local docvlm / GOT checkpoint."),
    adapter: Path | None = typer.Option(None, "--adapter", help="LoRA adapter folder."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, ..."),
    quantize: Literal["4bit", "8bit"] | None = typer.Option(None, "--quantize"),
    ocr_lang: str = typer.Option("eng", "--ocr-lang", help="Tesseract languages, e.g. eng+deu."),
) -> None:
    """Serve parse / extract over HTTP, with tasks, an API key, limits and a review page."""
    try:
        import uvicorn

        from docvlm.serve.app import create_app
    except ImportError as error:
        typer.echo(
            f"docvlm: error: serve needs {error.name}: pip install 'docvlm[serve]'", err=True
        )
        raise typer.Exit(1) from None
    from docvlm.errors import DocVLMError
    from docvlm.serve.engines import check_languages
    from docvlm.serve.settings import ServeSettings

    parser_options: dict[str, Any] = {"engine": "auto", "model": model, "adapter": adapter}
    if model is not None:
        parser_options.update(device=device, quantize=quantize)
    settings = ServeSettings(
        api_key=api_key or None,
        workers=workers,
        max_upload_mb=max_upload_mb,
        max_pages=max_pages,
        timeout=timeout,
        queue_size=queue_size,
        task_ttl=task_ttl,
        ocr_lang=ocr_lang,
        model=model,
        parser_options=parser_options,
    )
    try:
        check_languages(ocr_lang)
        app = create_app(settings)
    except DocVLMError as error:
        typer.echo(f"docvlm: error: {error}", err=True)
        raise typer.Exit(1) from None
    if host not in ("127.0.0.1", "localhost", "::1") and api_key is None:
        typer.echo("docvlm: warning: serving beyond loopback without --api-key", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


def register(app: typer.Typer) -> None:
    """Add `docvlm serve` to the command line."""
    app.command(epilog=EPILOG)(serve)
