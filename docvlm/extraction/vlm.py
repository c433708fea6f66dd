"""Extraction with the VLM: each page is prompted with the schema and answers in JSON under a
grammar compiled from it.

Multi-page documents are read **per page, then merged**, not in one multi-page prompt: Vary/GOT
models see one page per 256 image tokens and were trained on single pages, a prompt holding many
pages would outgrow their context, and per-page answers batch across pages and carry their page
number for provenance. So that a page can say "not here", each page answers a relaxed schema in
which every scalar may be null; the merge keeps, per field, the most confident non-null value,
concatenates array items in page order, and the final `assemble` applies the user's schema.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import torch

from docvlm.extraction.constrained import (
    JSONSchemaLogitsProcessor,
    compile_grammar,
    json_generation,
)
from docvlm.extraction.result import Found
from docvlm.extraction.schema import ExtractionSchema
from docvlm.extraction.words import locate, page_words
from docvlm.model.runtime import load_runtime
from docvlm.sources import SourcePage

BATCH_SIZE = 4
MAX_NEW_TOKENS = 1024


def extraction_query(json_schema: dict[str, Any]) -> str:
    """The instruction a page is read with (fine-tuning on forms uses the same text)."""
    return f"Extract JSON matching this schema: {json.dumps(json_schema, separators=(',', ':'))}\n"


def page_schema(resolved: dict[str, Any]) -> dict[str, Any]:
    """The schema one page answers: every property required and every scalar nullable."""
    node = copy.deepcopy(resolved)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        node["properties"] = {k: page_schema(v) for k, v in node.get("properties", {}).items()}
        node["required"] = list(node["properties"])
        node.pop("anyOf", None)
        return node
    if kind == "array":
        node["items"] = page_schema(node["items"])
        node.pop("minItems", None)
        return node
    if "enum" in node and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    if "anyOf" in node:
        return node
    if isinstance(kind, str):
        node["type"] = [kind, "null"]
    return node


def extract_with_model(
    model: Any, pages: list[SourcePage], schema: ExtractionSchema
) -> dict[str, Found]:
    """Fields read by the VLM (a model folder or hub id, or a loaded `VLMEngine`), located."""
    from docvlm.engines.vlm import VLMEngine

    runtime = model.runtime if isinstance(model, VLMEngine) else load_runtime(model)
    processor = runtime.processor
    tokenizer = processor.tokenizer
    relaxed = page_schema(schema.resolved)
    query = extraction_query(schema.json_schema)
    eos = processor.end_token_id
    grammar = compile_grammar(relaxed, tokenizer, runtime.vocab_size, [eos])
    answers: list[tuple[SourcePage, Any, dict[str, float]]] = []
    for start in range(0, len(pages), BATCH_SIZE):
        batch = pages[start : start + BATCH_SIZE]
        inputs = _inputs(processor, [page.render() for page in batch], query)
        constraint = JSONSchemaLogitsProcessor(
            grammar, len(batch), inputs["input_ids"].shape[1], eos
        )
        # No n-gram ban: the grammar bounds the output, and a schema's repeated keys (one per
        # array item) are legitimate repeats a ban could leave no allowed token for.
        generations = runtime.generate(
            inputs,
            max_new_tokens=MAX_NEW_TOKENS,
            no_repeat_ngram=0,
            logits_processors=[constraint],
        )
        for row, (page, generation) in enumerate(zip(batch, generations, strict=True)):
            answer = json_generation(
                tokenizer,
                constraint,
                row,
                list(generation.token_ids),
                list(generation.token_log_probs),
                generation.ended,
            )
            if answer.complete:
                answers.append((page, answer.value, answer.confidences))
    return merge_pages(answers)


def _inputs(processor: Any, images: list, query: str) -> dict[str, torch.Tensor]:
    """Model inputs for page images with a custom query (single view per page)."""
    vision = processor.image_processor(images, return_tensors="pt", crop_to_patches=False)
    num_views = [int(n) for n in vision.pop("num_views")]
    prompts = [processor.prompt(query, views) for views in num_views]
    # The prompt spells out every special token itself: nothing may be added around it.
    text = processor.tokenizer(
        prompts,
        add_special_tokens=False,
        padding=True,
        padding_side="left",
        return_tensors="pt",
    )
    return {**text, **vision, "num_views": torch.tensor(num_views)}


def merge_pages(answers: list[tuple[SourcePage, Any, dict[str, float]]]) -> dict[str, Found]:
    """Per-page JSON answers → one value per field, with page, located bbox and confidence."""
    found: dict[str, Found] = {}
    array_lengths: dict[str, int] = {}
    for page, value, confidences in answers:
        words = None
        offsets: dict[str, int] = {}
        for pointer, leaf in pointer_leaves(value, ""):
            if leaf is None or leaf == "":
                continue
            target = _shift_arrays(pointer, array_lengths, offsets)
            confidence = confidences.get(pointer, 0.0)
            if target in found and found[target].confidence >= confidence:
                continue
            if words is None:
                words = page_words(page)
            located = locate(str(leaf), words.lines) if not isinstance(leaf, bool) else None
            bbox = located[0] if located else None
            found[target] = Found(leaf, page.number, bbox, confidence, "vlm")
        for array, count in offsets.items():
            array_lengths[array] = array_lengths.get(array, 0) + count
    return found


def _shift_arrays(pointer: str, lengths: dict[str, int], seen: dict[str, int]) -> str:
    """Renumber a top-level array index so items from later pages follow earlier ones."""
    parts = pointer.split("/")
    for depth in range(1, len(parts)):
        if parts[depth].isdigit():
            array = "/".join(parts[:depth])
            index = int(parts[depth])
            seen[array] = max(seen.get(array, 0), index + 1)
            parts[depth] = str(index + lengths.get(array, 0))
            break
    return "/".join(parts)


def pointer_leaves(value: Any, pointer: str = "") -> list[tuple[str, Any]]:
    """Leaf values of a JSON value with their JSON pointers (`/items/0/amount`)."""
    if isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, list):
        pairs = ((str(i), v) for i, v in enumerate(value))
    else:
        return [(pointer, value)]
    out = []
    for key, child in pairs:
        escaped = str(key).replace("~", "~0").replace("/", "~1")
        out += pointer_leaves(child, f"{pointer}/{escaped}")
    return out
