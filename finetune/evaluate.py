"""`docvlm eval`: generate for every manifest example and score it against its target.

JSON targets → field precision / recall / F1 and whole-document exact match (values
normalized); text targets → CER, WER and normalized edit distance; tables in text targets →
TEDS. Scores are micro-averaged for fields and macro-averaged (per example) otherwise.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from docvlm.document import BlockType, Table
from docvlm.markup import parse_markup
from docvlm.metrics import (
    FieldScores,
    character_error_rate,
    field_scores,
    flatten_fields,
    normalized_edit_distance,
    teds,
    word_error_rate,
)
from docvlm.model.runtime import Runtime, load_runtime
from docvlm.sources import DEFAULT_SIZE

from .data import encode_example, example_anchor_text
from .manifest import Example, read_manifest

# Metrics where lower is better; `compare` flips the sign of their regressions.
LOWER_IS_BETTER = frozenset({"cer", "wer", "edit_distance"})
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def predict(
    runtime: Runtime,
    examples: Sequence[Example],
    batch_size: int = 4,
    max_new_tokens: int = 1024,
    render_size: int = DEFAULT_SIZE,
) -> list[str]:
    """What `parse` would generate for each example's image and query (prompts as in training)."""
    processor = runtime.processor
    crop = processor.image_processor.crop_to_patches
    predictions: list[str] = []
    pad_id = processor.tokenizer.pad_token_id
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        encoded = [
            encode_example(
                processor,
                e.load_image(render_size),
                e.query,
                None,
                anchors=example_anchor_text(e, processor),
            )  # fmt: skip
            for e in chunk
        ]
        length = max(len(e["input_ids"]) for e in encoded)
        # Left padding: every prompt ends at the same position, so generation starts together.
        input_ids = torch.full((len(chunk), length), pad_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        for row, item in enumerate(encoded):
            input_ids[row, length - len(item["input_ids"]) :] = item["input_ids"]
            attention_mask[row, length - len(item["input_ids"]) :] = 1
        inputs = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "pixel_values": torch.cat([e["pixel_values"] for e in encoded]),
            "num_views": torch.tensor([len(e["pixel_values"]) for e in encoded]),
        }
        if "clip_pixel_values" in encoded[0]:
            inputs["clip_pixel_values"] = torch.cat([e["clip_pixel_values"] for e in encoded])
        generations = runtime.generate(inputs, max_new_tokens=max_new_tokens, crop=crop)
        predictions += [generation.text for generation in generations]
    return predictions


def score_example(prediction: str, target: str | dict[str, Any]) -> dict[str, float]:
    """The metrics that apply to this target's kind, for one prediction."""
    if isinstance(target, dict):
        parsed = parse_json_prediction(prediction)
        fields = field_scores(parsed if parsed is not None else {}, target)
        return {
            "json_valid": float(parsed is not None),
            "exact_match": float(fields.exact_match),
            "correct": fields.correct,
            "predicted": fields.predicted,
            "expected": fields.expected,
        }
    scores = {
        "cer": character_error_rate(prediction, target),
        "wer": word_error_rate(prediction, target),
        "edit_distance": normalized_edit_distance(prediction, target),
    }
    reference_tables = _tables(target)
    if reference_tables:
        predicted_tables = _tables(prediction)
        pairs = [
            teds(predicted_tables[i], table) if i < len(predicted_tables) else 0.0
            for i, table in enumerate(reference_tables)
        ]
        scores["teds"] = sum(pairs) / len(pairs)
    return scores


def prior_accuracy(train: Sequence[Example], test: Sequence[Example]) -> float:
    """Field accuracy of answering every field with its commonest training value: what a model
    that ignores the page scores."""
    counts: dict[str, Counter] = {}
    for example in train:
        for path, value in flatten_fields(example.target).items():
            counts.setdefault(path, Counter())[value] += 1
    hits = [
        path in counts and counts[path].most_common(1)[0][0] == value
        for example in test
        for path, value in flatten_fields(example.target).items()
    ]
    return sum(hits) / max(len(hits), 1)


def parse_json_prediction(text: str) -> Any | None:
    """The JSON object in a generation, or None when there is none that parses."""
    for candidate in (text, *_JSON_OBJECT.findall(text)):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    return None


def aggregate(per_example: list[dict[str, float]]) -> dict[str, float]:
    """Micro-averaged field P/R/F1 and accuracy, and the mean of every other metric."""
    metrics: dict[str, float] = {}
    fields = [s for s in per_example if "expected" in s]
    if fields:
        total = FieldScores(0, 0, 0)
        for s in fields:
            total = total + FieldScores(int(s["correct"]), int(s["predicted"]), int(s["expected"]))
        metrics.update(
            field_precision=total.precision,
            field_recall=total.recall,
            field_f1=total.f1,
            field_accuracy=total.correct / max(total.expected, 1),
        )
    counts = {"correct", "predicted", "expected"}
    names = sorted({k for s in per_example for k in s} - counts)
    for name in names:
        values = [s[name] for s in per_example if name in s]
        metrics[name] = sum(values) / len(values)
    return metrics


def evaluate(
    manifest: str | Path,
    model_dir: str | Path,
    adapter_dir: str | Path | None = None,
    batch_size: int = 4,
    max_new_tokens: int = 1024,
    limit: int | None = None,
) -> dict[str, Any]:
    """The eval report of a model (and adapter) on a manifest: metrics and every prediction.

    The model runs as `parse` runs it: the default device and dtype, the same decoding.
    """
    examples = read_manifest(manifest)[:limit]
    runtime = load_runtime(model_dir, adapter=adapter_dir)
    predictions = predict(runtime, examples, batch_size, max_new_tokens)
    per_example = [score_example(p, e.target) for p, e in zip(predictions, examples, strict=True)]
    return {
        "manifest": str(manifest),
        "model": str(model_dir),
        "adapter": str(adapter_dir) if adapter_dir else None,
        "examples": len(examples),
        "metrics": aggregate(per_example),
        "per_example": [
            {"prediction": p, "scores": s} for p, s in zip(predictions, per_example, strict=True)
        ],
    }


def metrics_table(metrics: dict[str, float]) -> str:
    """A two-column terminal table of aggregate metrics."""
    width = max(len(name) for name in metrics) if metrics else 6
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  ------"]
    lines += [f"{name:<{width}}  {value:.4f}" for name, value in metrics.items()]
    return "\n".join(lines)


def compare(baseline: dict[str, Any], candidate: dict[str, Any], tolerance: float = 0.0) -> str:
    """Regression table of two eval reports: each shared metric, both values, delta, verdict."""
    base, new = baseline["metrics"], candidate["metrics"]
    names = [name for name in base if name in new]
    width = max([len(n) for n in names] + [6])
    lines = [f"{'metric':<{width}}  baseline  candidate     delta  verdict"]
    for name in names:
        delta = new[name] - base[name]
        gain = -delta if name in LOWER_IS_BETTER else delta
        verdict = "same" if abs(gain) <= tolerance else ("better" if gain > 0 else "REGRESSED")
        lines.append(
            f"{name:<{width}}  {base[name]:8.4f}  {new[name]:9.4f}  {delta:+8.4f}  {verdict}"
        )
    return "\n".join(lines)


def _tables(text: str) -> list[Table]:
    return [
        block.table
        for block in parse_markup(text, page=1)
        if block.type == BlockType.TABLE and block.table is not None
    ]
