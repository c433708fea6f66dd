"""`docvlm finetune | dataset | eval | merge-adapter`: the fine-tuning loop from the terminal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from docvlm.errors import DocVLMError

dataset_app = typer.Typer(
    help="Build and convert training manifests.", no_args_is_help=True, add_completion=False
)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Typed errors become one line on stderr and exit status 1."""
    try:
        yield
    except DocVLMError as error:
        typer.echo(f"docvlm: error: {error}", err=True)
        raise typer.Exit(1) from None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _numbers(value: str, count: int, option: str, kind: type = float) -> tuple[Any, ...]:
    try:
        numbers = tuple(kind(part) for part in _split(value))
    except ValueError:
        numbers = ()
    if len(numbers) != count:
        raise DocVLMError(f"{option} {value!r}: give {count} comma-separated numbers")
    return numbers


def _layouts(value: str) -> tuple[str, ...]:
    """Layout names, with template ranges "t0-t29" (or restyled "v0-v29") spelled out."""
    names: list[str] = []
    for part in _split(value):
        first, dash, last = part.partition("-")
        kind = first[:1]
        if dash and kind in ("t", "v") and first[1:].isdigit() and last.lstrip(kind).isdigit():
            names += [f"{kind}{i}" for i in range(int(first[1:]), int(last.lstrip(kind)) + 1)]
        else:
            names.append(part)
    return tuple(names)


def _check_anchors(anchors: str | None) -> None:
    from docvlm.anchors import ANCHOR_SOURCES

    if anchors is not None and anchors not in ANCHOR_SOURCES:
        raise DocVLMError(f"--anchors {anchors!r}: use one of {', '.join(ANCHOR_SOURCES)}")


def _box(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    x0, y0, x1, y1 = _numbers(value, 4, "--crop")
    if x1 <= x0 or y1 <= y0:
        raise DocVLMError(f"--crop {value!r}: x1 and y1 must exceed x0 and y0")
    return x0, y0, x1, y1


def finetune(
    train: Path = typer.Option(..., help="Training manifest (JSONL)."),
    out: Path = typer.Option(..., help="Folder for the model or adapter, processor and card."),
    task: str = typer.Option(
        "generate",
        help="generate (the VLM writes the target) or fields (the form model tags page words "
        "with the target's keys; it starts from the shipped docvlm-forms-tiny unless --model "
        "names another form model, or none for random init).",
    ),
    anchors: str | None = typer.Option(
        None,
        help="--task fields: read every page's words from auto, text or ocr (default: "
        "what each manifest row records).",
    ),
    eval_manifest: Path | None = typer.Option(None, "--eval", help="Eval manifest (JSONL)."),
    model: Path | None = typer.Option(None, help="Start from this saved model folder."),
    preset: str | None = typer.Option(None, help="Start from random init: tiny, got-ocr2…"),
    mode: str = typer.Option("full", help="full, lora or qlora (4-bit base + LoRA)."),
    freeze: str | None = typer.Option(None, help="Comma list: vision,projector,llm."),
    lora_r: int = typer.Option(16, help="LoRA rank."),
    lora_alpha: int = typer.Option(32, help="LoRA alpha."),
    lora_targets: str | None = typer.Option(None, help="Comma list of LLM linear names."),
    epochs: float | None = typer.Option(None, help="Passes over the training set [1; fields: 30]."),
    max_steps: int | None = typer.Option(None, help="Stop after this many optimizer steps."),
    max_minutes: float | None = typer.Option(None, help="Stop after this many minutes."),
    lr: float | None = typer.Option(None, help="Peak learning rate [1e-4; fields: 2e-3]."),
    schedule: str = typer.Option("constant", help="constant, cosine or wsd."),
    warmup_steps: int = typer.Option(0, help="Linear warmup steps."),
    batch_size: int | None = typer.Option(None, help="Examples per micro-batch [4; fields: 8]."),
    grad_accum: int = typer.Option(1, help="Micro-batches per optimizer step."),
    max_length: int = typer.Option(2048, help="Longest sequence; targets are cut to fit."),
    bf16: bool = typer.Option(False, help="bf16 mixed precision."),
    gradient_checkpointing: bool = typer.Option(False, help="Trade compute for memory."),
    eval_steps: int = typer.Option(0, help="Eval loss every N steps (0: at the end only)."),
    save_steps: int = typer.Option(0, help="Checkpoint every N steps for --resume."),
    ctc_weight: float = typer.Option(0.0, help="Auxiliary CTC loss on the visual tokens."),
    glyph_weight: float = typer.Option(
        0.0, help="Auxiliary glyph loss on examples with glyph boxes (synthetic --glyphs data)."
    ),
    glyph_slots: int = typer.Option(8, help="Characters one visual token names (glyph loss)."),
    image_size: int | None = typer.Option(
        None, help="Run the page view at this size (a reader trained on crops moves to pages)."
    ),
    positions: str = typer.Option(
        "interpolate",
        help="How --image-size moves the position table: interpolate, or tile (a whole multiple "
        "of an all-windowed encoder's grid: each block of the page is encoded like a crop).",
    ),
    system_turn: bool = typer.Option(
        True, help="--no-system-turn: prompts without GOT's system turn (--preset only)."
    ),
    anchor_grid: int = typer.Option(
        1000, help="Anchor positions on a 0–N grid; 0 drops them (--preset only)."
    ),
    join_anchor_lines: bool = typer.Option(
        False, help="One anchor line per page line, not per segment (--preset only)."
    ),
    prompt_loss: bool = typer.Option(
        False, help="Predict the prompt's text (anchors, query) too, not only the target."
    ),
    resume: bool = typer.Option(False, help="Continue from the last checkpoint in --out."),
    seed: int = typer.Option(0, help="Seed for init and data order."),
    mix_base: float = typer.Option(
        0.0,
        help="--task fields with --model docvlm-forms-tiny: train on this many of the base's "
        "own synthetic forms per row too, so the fine-tune keeps the base's layouts.",
    ),
) -> None:
    """Fine-tune a model (full, LoRA or QLoRA) on a manifest; runs under `accelerate launch`."""
    if task == "fields":
        _finetune_fields(
            train, out, model, anchors, max_minutes, epochs, lr, batch_size, seed, mix_base
        )
        return
    if task != "generate":
        typer.echo(f"docvlm: error: unknown --task {task!r}: use generate or fields", err=True)
        raise typer.Exit(1)
    from docvlm.finetune.modeling import DEFAULT_LORA_TARGETS
    from docvlm.finetune.train import TrainConfig
    from docvlm.finetune.train import train as run_training

    config = TrainConfig(
        train=train,
        out=out,
        eval=eval_manifest,
        model=model,
        preset=preset,
        mode=mode,  # type: ignore[arg-type]
        freeze=_split(freeze),
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        lora_targets=_split(lora_targets) or DEFAULT_LORA_TARGETS,
        epochs=epochs or 1.0,
        max_steps=max_steps,
        max_minutes=max_minutes,
        lr=lr or 1e-4,
        schedule=schedule,  # type: ignore[arg-type]
        warmup_steps=warmup_steps,
        batch_size=batch_size or 4,
        grad_accum=grad_accum,
        max_length=max_length,
        bf16=bf16,
        gradient_checkpointing=gradient_checkpointing,
        eval_steps=eval_steps,
        save_steps=save_steps,
        ctc_weight=ctc_weight,
        glyph_weight=glyph_weight,
        glyph_slots=glyph_slots,
        image_size=image_size,
        positions=positions,  # type: ignore[arg-type]
        system_turn=system_turn,
        anchor_grid=anchor_grid,
        join_anchor_lines=join_anchor_lines,
        prompt_loss=prompt_loss,
        resume=resume,
        seed=seed,
    )
    with _user_errors():
        result = run_training(config)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
    typer.echo(f"saved {result.out} ({summary})")


def _finetune_fields(
    train: Path, out: Path, model: Path | None, anchors: str | None, max_minutes: float | None,
    epochs: float | None, lr: float | None, batch_size: int | None, seed: int, mix_base: float,
) -> None:  # fmt: skip
    import sys

    from docvlm.forms.train import FieldsConfig, train_fields

    with _user_errors():
        _check_anchors(anchors)
        config = FieldsConfig(
            train=train, out=out, model=_fields_start(model), anchors=anchors,
            max_minutes=max_minutes, epochs=epochs or FieldsConfig.epochs,
            lr=lr or FieldsConfig.lr, batch_size=batch_size or FieldsConfig.batch_size, seed=seed,
            mix_base=mix_base,
            command="docvlm " + " ".join(sys.argv[1:]),
        )  # fmt: skip
        result = train_fields(config)
    report = result.report
    typer.echo(
        f"saved {result.out} ({report['aligned']} values aligned, {len(report['unaligned'])} "
        f"not found, {result.steps} steps, {report['train_cpu_seconds']} CPU-s)"
    )


def _fields_start(model: Path | None) -> str | None:
    """The form model `--task fields` starts from: the shipped base unless told otherwise."""
    from docvlm.forms.train import DEFAULT_START

    if model is None:
        return DEFAULT_START
    return None if str(model) == "none" else str(model)


@dataset_app.command("export")
def dataset_export(
    manifest: Path = typer.Argument(..., help="Manifest to convert."),
    out: Path = typer.Option(..., help="Output JSONL."),
    export_format: str = typer.Option(..., "--format", help="swift, llamafactory or trl."),
) -> None:
    """Write the manifest as ms-swift / LLaMA-Factory / TRL `messages` + `images` JSONL."""
    from docvlm.finetune.export import export_manifest

    with _user_errors():
        typer.echo(f"wrote {export_manifest(manifest, out, export_format)}")  # type: ignore[arg-type]


@dataset_app.command("synth-forms")
def dataset_synth_forms(
    out: Path = typer.Option(..., help="Output folder (forms + manifest.jsonl)."),
    n: int = typer.Option(2000, help="Number of forms."),
    layouts: str = typer.Option(
        "invoice,claim,application",
        help="Comma list of layouts: invoice, claim, application, templates t0, t1, … or a "
        "range of templates t0-t29; v0-v29: those templates' fields, each form in a look of "
        "its own.",
    ),
    scanned: float = typer.Option(0.0, help="Share of forms with scan noise (0–1)."),
    png: int | None = typer.Option(None, help="Write PNGs with this longer side, not PDFs."),
    crop: str | None = typer.Option(None, help="PNG of this page box only: x0,y0,x1,y1 in pt."),
    glyphs: bool = typer.Option(False, help="Add character boxes (PNG only) for --glyph-weight."),
    anchors: str | None = typer.Option(
        None, help="Record the page words to anchor on: auto, text, ocr or none (docvlm.anchors)."
    ),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Synthetic forms with random realistic values and their JSON targets."""
    from docvlm.finetune.builders import synth_forms

    with _user_errors():
        box = _box(crop)
        if (box or glyphs) and png is None:
            raise DocVLMError("--crop and --glyphs describe PNGs: add --png SIZE")
        _check_anchors(anchors)
        manifest = synth_forms(
            out, n, _layouts(layouts), seed, scanned, png, box, glyphs, anchors=anchors
        )
        typer.echo(f"wrote {manifest}")


@dataset_app.command("synth-text")
def dataset_synth_text(
    out: Path = typer.Option(..., help="Output folder (images + manifest.jsonl)."),
    n: int = typer.Option(10000, help="Number of images."),
    width: int = typer.Option(256, help="Image width in px."),
    height: int = typer.Option(256, help="Image height in px."),
    max_lines: int = typer.Option(4, help="Most lines per image."),
    max_chars: int = typer.Option(16, help="Most characters per line."),
    font_px: str = typer.Option("16,24", help="Smallest,largest font size in px."),
    fonts: str | None = typer.Option(
        None,
        help="Comma-separated faces to draw with: DejaVu .ttf files or PDF base-14 names "
        "(helv, hebo, tiro, cour); default: ten of both kinds.",
    ),
    glyphs: bool = typer.Option(False, help="Add character boxes for --glyph-weight."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Prior-free random text (characters, words, numbers) in several fonts, for reading."""
    from docvlm.finetune.builders import FONT_FILES, synth_text

    with _user_errors():
        smallest, largest = _numbers(font_px, 2, "--font-px", int)
        if not 0 < smallest <= largest:
            raise DocVLMError(f"--font-px {font_px!r}: give smallest,largest sizes above 0")
        manifest = synth_text(
            out, n, seed, (width, height), lines=(1, max_lines), chars=(1, max_chars),
            font_sizes=(smallest, largest), glyphs=glyphs, fonts=_split(fonts) or FONT_FILES,
        )  # fmt: skip
        typer.echo(f"wrote {manifest}")


@dataset_app.command("from-pdfs")
def dataset_from_pdfs(
    pdf_dir: Path = typer.Argument(..., help="Folder searched for born-digital PDFs."),
    out: Path = typer.Option(..., help="Output folder (page images + manifest.jsonl)."),
) -> None:
    """Page image + text-layer markdown pairs, for page-OCR training."""
    from docvlm.finetune.builders import from_pdfs

    with _user_errors():
        typer.echo(f"wrote {from_pdfs(pdf_dir, out)}")


def eval_command(
    manifest: Path | None = typer.Option(None, help="Test manifest (JSONL)."),
    model: Path | None = typer.Option(None, help="Saved model folder."),
    adapter: Path | None = typer.Option(None, help="LoRA adapter folder."),
    report: Path | None = typer.Option(None, help="Write the JSON report here."),
    compare: tuple[Path, Path] | None = typer.Option(
        None, help="Two reports (baseline, candidate): print a regression table instead."
    ),
    batch_size: int = typer.Option(4, help="Pages per generation batch."),
    max_new_tokens: int = typer.Option(1024, help="Longest generation."),
    anchors: str | None = typer.Option(
        None, help="Form models: read page words from auto, text or ocr (default: per row)."
    ),
) -> None:
    """Score a model on a manifest: fields (JSON), CER/WER (text), TEDS (tables); a form model
    also gets precision and recall per field."""
    from docvlm.finetune.evaluate import compare as compare_reports
    from docvlm.finetune.evaluate import evaluate, metrics_table

    with _user_errors():
        if compare:
            baseline, candidate = (json.loads(path.read_text()) for path in compare)
            typer.echo(compare_reports(baseline, candidate))
            return
        if manifest is None or model is None:
            raise DocVLMError("eval needs --manifest and --model (or --compare A B)")
        _check_anchors(anchors)
        from docvlm.forms.tagger import is_form_model

        if is_form_model(model):
            from docvlm.forms.evaluate import evaluate_fields

            result = evaluate_fields(manifest, model, anchors)
            for key, scores in result["per_field"].items():
                typer.echo(
                    f"{key}\tprecision {scores['precision']:.3f}\t"
                    f"recall {scores['recall']:.3f}\t({scores['expected']} values)"
                )
        else:
            result = evaluate(manifest, model, adapter, batch_size, max_new_tokens)
    if report is not None:
        report.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    typer.echo(metrics_table(result["metrics"]))


def merge_adapter(
    model: Path = typer.Option(..., help="Base model folder."),
    adapter: Path = typer.Option(..., help="LoRA adapter folder."),
    out: Path = typer.Option(..., help="Folder for the merged model."),
) -> None:
    """Fold a LoRA adapter into its base model: a plain checkpoint, no PEFT at inference."""
    from docvlm.finetune.modeling import merge_adapter as merge

    with _user_errors():
        typer.echo(f"wrote {merge(model, adapter, out)}")


def register(app: typer.Typer) -> None:
    """Add finetune, dataset, eval and merge-adapter to the `docvlm` app."""
    command: Callable[..., object] = app.command
    command(
        "finetune",
        epilog=(
            "Examples:\n\n"
            "  docvlm finetune --train forms.jsonl --model ./base --out ./lora --mode lora\n\n"
            "  accelerate launch -m docvlm.cli finetune --train m.jsonl --preset tiny --out m/"
        ),
    )(finetune)
    app.add_typer(dataset_app, name="dataset")
    command(
        "eval",
        epilog=(
            "Examples:\n\n"
            "  docvlm eval --manifest t.jsonl --model ./base --adapter ./lora --report r.json\n\n"
            "  docvlm eval --compare before.json after.json"
        ),
    )(eval_command)
    command("merge-adapter")(merge_adapter)
