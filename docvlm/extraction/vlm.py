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
from pathlib import Path
from typing import Any

import torch

from docvlm.extraction.constrained import compile_grammar, generate_json
from docvlm.extraction.pairing import Found
from docvlm.extraction.schema import ExtractionSchema
from docvlm.extraction.words import locate, page_words
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
    """Fields read by the VLM (a model directory or a loaded `VLMEngine`), located on the page."""
    from docvlm.engines.vlm import VLMEngine

    engine = model if isinstance(model, VLMEngine) else VLMEngine(Path(model))
    processor = engine.processor
    tokenizer = processor.tokenizer
    relaxed = page_schema(schema.resolved)
    query = extraction_query(schema.json_schema)
    eos = processor.end_token_id
    vocab = engine.model.get_output_embeddings().weight.shape[0]
    grammar = compile_grammar(relaxed, tokenizer, vocab, [eos])
    answers: list[tuple[SourcePage, Any, dict[str, float]]] = []
    for start in range(0, len(pages), BATCH_SIZE):
        batch = pages[start : start + BATCH_SIZE]
        inputs = _inputs(processor, [page.render() for page in batch], query)
        inputs = {k: v.to(engine.device) for k, v in inputs.items()}
        generations = generate_json(
            engine.model,
            inputs,
            grammar,
            tokenizer,
            eos_token_id=eos,
            pad_token_id=tokenizer.pad_token_id,
            max_new_tokens=MAX_NEW_TOKENS,
            do_sample=False,
        )
        for page, generation in zip(batch, generations, strict=True):
            if generation.complete:
                answers.append((page, generation.value, generation.confidences))
    return merge_pages(answers)


def _inputs(processor: Any, images: list, query: str) -> dict[str, torch.Tensor]:
    """Model inputs for page images with a custom query (single view per page)."""
    vision = processor.image_processor(images, return_tensors="pt", crop_to_patches=False)
    num_views = [int(n) for n in vision.pop("num_views")]
    prompts = [processor.prompt(query, views) for views in num_views]
    text = processor.tokenizer(prompts, padding=True, padding_side="left", return_tensors="pt")
    return {**text, **vision}


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
