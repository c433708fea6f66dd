"""Does fine-tuning learn forms on a CPU? The form model and the anchored generative loop.

    OMP_NUM_THREADS=1 python bench/finetune_forms.py            # every row (~40 CPU-minutes)
    OMP_NUM_THREADS=1 python bench/finetune_forms.py --smoke    # plumbing, ~4 minutes
    python bench/finetune_forms.py --rows unseen_layouts,base_finetune
    python bench/finetune_forms.py --work /tmp/mine   # data and models elsewhere (reused there)
    python bench/finetune_forms.py --rows scanned --seed 1   # another form model seed

Rows (budgets are training minutes of one thread; reading pages is timed apart):
- unseen_layouts: form model from random init on the fields of templates t0–t24, each form
  drawn in a look of its own (`v0`–`v24`), scored on templates t25–t29 as they are.
- scanned: the same on scanned forms, anchors from OCR.
- base_finetune / base_zero_shot: the shipped docvlm-forms-tiny on the hand-made
  `application` layout (not among its templates), fine-tuned on 200 forms (with `--mix-base`
  replay forms of its own templates per row, default 0.5) / as shipped; forgetting is the
  base's own templates scored before and after.
- real_form: a public fillable PDF form (IRS W-9), filled with random values and flattened;
  200 to train, 100 to test; trained as `docvlm finetune --task fields` trains by default
  (from docvlm-forms-tiny).
- other_forms (only when named in --rows): the real_form protocol on two more public fillable
  forms of tests/data/forms, each widget filled by `tests/forms.fill_form` (random names,
  streets, numbers, dates, amounts; check boxes, radio groups, choices), page 1: a D&D
  character sheet printing its labels under the boxes, and Luxembourg's salary certificate
  160F-2019 (58 fields, a comb field, a radio group drawn as squares). Held-out families of
  forms are trained and scored this way.
- generative: `docvlm finetune --preset tiny` on anchored toy forms (three one-word fields,
  `synth-forms --layouts toy`): field accuracy after each step budget (the learning curve).

Conditions: one thread (OMP_NUM_THREADS=1) on a 2-core machine shared with other jobs; the form
model's `--max-minutes` counts its own CPU time, so the budgets hold however busy the machine.

Every accuracy (field exact: share of target values returned exactly) is printed beside the
prior (each field's commonest training value, what a model that ignores the page scores) and
beside no-model `docvlm extract` on the same forms. `wrong_at_0.9` is the share of values
returned with confidence ≥ 0.9 that are wrong (target ≤ 1 %). The last line is JSON.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import docvlm
from docvlm.finetune.builders import synth_forms
from docvlm.finetune.evaluate import prior_accuracy
from docvlm.finetune.manifest import Example, read_manifest, write_manifest
from docvlm.finetune.synth import form_schema
from docvlm.forms.tagger import load_form_model
from docvlm.forms.train import DEFAULT_START, FieldsConfig, FieldsResult, page_answers, train_fields
from docvlm.metrics import field_scores, flatten_fields, normalize_field_value

WORK = Path("/tmp/bench_finetune_forms")
# Training forms hold the fields of templates t0–t24, each drawn in a look of its own: trained
# on the 25 templates' own looks, a model learnt their layouts and missed unseen ones (3 CPU-min,
# 50 forms of t25–t29, seeds 0 / 1: values returned 39.7 / 62.4 % against 70.6 / 73.8 %, read
# right at any confidence 70.9 / 92.9 % against 94.4 / 95.6 %).
TRAIN_TEMPLATES = [f"v{i}" for i in range(25)]
UNSEEN_TEMPLATES = [f"t{i}" for i in range(25, 30)]
ROWS = ("unseen_layouts", "scanned", "base_zero_shot", "base_finetune", "real_form", "generative")
BASE_TEMPLATES = [f"t{i}" for i in range(40)]  # what docvlm-forms-tiny was trained on
OTHER_FORMS = ("dod_character", "160F-2019")  # tests/data/forms, one page each


def score(manifest: Path, model: Any, limit: int | None = None) -> dict[str, float]:
    """Field exact, precision, recall and wrong-at-0.9 of `extract(model=…)` on a manifest."""
    correct = expected = predicted = confident = confident_wrong = 0
    for example in read_manifest(manifest)[:limit]:
        schema = bench_schema(example)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = docvlm.extract(example.pdf, schema, model=model)
        scores = field_scores(_non_null(result.data), example.target)
        correct, expected = correct + scores.correct, expected + scores.expected
        predicted += scores.predicted
        truth = flatten_fields(example.target)
        for pointer, found in result.fields.items():
            if found.confidence >= 0.9:
                confident += 1
                confident_wrong += truth.get(_path(pointer)) != normalize_field_value(found.value)
    return {
        "accuracy": round(correct / max(expected, 1), 4),
        "precision": round(correct / max(predicted, 1), 4),
        "recall": round(correct / max(expected, 1), 4),
        "wrong_at_0.9": round(confident_wrong / max(confident, 1), 4),
    }


def bench_schema(example: Example) -> dict[str, Any]:
    """The schema a bench form is extracted with: its layout's."""
    layout = example.pdf.stem.split("_", 1)[1]
    if layout in OTHER_FORMS:
        return _other_schema(layout)
    return W9_SCHEMA if layout == "fw9" else form_schema(layout)


def prior_score(train: Path, test: Path) -> float:
    """Field exact of answering every field with its commonest training value."""
    return round(prior_accuracy(read_manifest(train), read_manifest(test)), 4)


def _path(pointer: str) -> str:
    """ "/items/0/amount" → "items[0].amount", as `flatten_fields` names it."""
    path = ""
    for part in pointer.strip("/").split("/"):
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path


def _non_null(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _non_null(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_non_null(v) for v in data]
    return data


def dataset(name: str, n: int, layouts: list[str], seed: int, scanned: float = 0.0) -> Path:
    out = WORK / name
    if (out / "manifest.jsonl").is_file():
        return out / "manifest.jsonl"
    shutil.rmtree(out, ignore_errors=True)
    return synth_forms(out, n, tuple(layouts), seed, scanned, anchors="auto")


def form_row(
    name: str,
    train: Path,
    test: Path,
    minutes: float,
    base: str | None = None,
    test_limit: int | None = None,
    mix_base: float = 0.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Train the form model on `train` for `minutes`, score it and the references on `test`."""
    out = WORK / f"model_{name}"
    started = time.monotonic()
    config = FieldsConfig(
        train=train, out=out, model=base, max_minutes=minutes, mix_base=mix_base, seed=seed
    )
    result = train_fields(config)
    row = {
        **score(test, out, test_limit),
        "prior": prior_score(train, test),
        "no_model": score(test, None, test_limit)["accuracy"],
        "train_cpu_minutes": round(result.report["train_cpu_seconds"] / 60, 2),
        "read_cpu_minutes": round(result.report["prepare_cpu_seconds"] / 60, 2),
        "wall_minutes": round((time.monotonic() - started) / 60, 2),
        "unaligned": len(result.report["unaligned"]),
        "replay_rows": result.report["replay_rows"],
        "steps": result.steps,
        "seed": seed,
    }
    print(name, json.dumps(row), flush=True)
    save_outputs(WORK / f"outputs_{name}.json", result, test, test_limit)
    return row


def save_outputs(path: Path, result: FieldsResult, test: Path, limit: int | None) -> None:
    """Every value the model read on the held-out and test pages, with its scores and whether
    it is right (`train.Answer`), and the floors fitted: calibration studied offline on the
    same weights."""
    tagger = load_form_model(result.out)
    test_read, test_fallbacks = [], []
    for row, example in enumerate(read_manifest(test)[:limit]):
        answers, fallbacks = page_answers(tagger, example, row, schema=bench_schema(example))
        test_read += answers
        test_fallbacks += fallbacks
    lists = {
        "held_out": result.held_out,
        "held_out_fallbacks": result.held_out_fallbacks,
        "test": test_read,
        "test_fallbacks": test_fallbacks,
    }
    floors = {
        k: getattr(tagger, k)
        for k in (
            "min_score",
            "agree_score",
            "sure_tag",
            "sure_alike",
            "legible",
            "contest_score",
            "key_floors",
            "fallback",
            "label_score",
        )
    }
    outputs = {"floors": floors, **{k: [a.record() for a in v] for k, v in lists.items()}}
    path.write_text(json.dumps(outputs, default=str) + "\n")


# IRS Form W-9 (Rev. October 2018), page 1: a US government work, public domain. Copied from
# github.com/kentros/pdfs (commit b7e7d16260687408ce0718e4d16e28eb0700f88b), file fw9.pdf.
W9_PDF = Path(__file__).parent / "data" / "fw9.pdf"
W9_CLASSES = ["C Corporation", "S Corporation", "Partnership", "Trust/estate"]
W9_TEXT_FIELDS = {"name": "f1_1[0]", "business_name": "f1_2[0]", "address": "f1_7[0]",
                  "city_state_zip": "f1_8[0]", "account_number": "f1_10[0]"}  # fmt: skip
W9_SCHEMA = {"type": "object", "properties": {
    **{key: {"type": ["string", "null"]} for key in W9_TEXT_FIELDS},
    "tax_classification": {"enum": [*W9_CLASSES, None]}}}  # fmt: skip


def w9_forms(out: Path, n: int, seed: int) -> Path:
    """`n` W-9s filled with random values through their AcroForm fields, then flattened
    (`bake`: the values become page text and the widgets go), and their targets."""
    import random

    import pymupdf

    from docvlm.finetune.templates import _CITY, _COMPANY, _FIRST, _LAST, _STREET

    if (out / "manifest.jsonl").is_file():
        return out / "manifest.jsonl"
    (out / "forms").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    examples = []
    for index in range(n):
        city, state = rng.choice(_CITY)
        values = {
            "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            "business_name": rng.choice(_COMPANY),
            "address": f"{rng.randint(1, 9999)} {rng.choice(_STREET)}",
            "city_state_zip": f"{city}, {state} {rng.randint(10000, 99999)}",
            "account_number": f"{rng.choice('ABCDEFGH')}K-{rng.randint(1000, 999999)}",
        }
        chosen = rng.randrange(len(W9_CLASSES))
        document = pymupdf.open(W9_PDF)
        for widget in document[0].widgets():
            name = widget.field_name.split(".")[-1]
            text_key = next((k for k, v in W9_TEXT_FIELDS.items() if v == name), None)
            if text_key is not None:
                widget.field_value = values[text_key]
                widget.update()
            elif name == f"c1_1[{chosen + 1}]":  # c1_1[0] is the individual / sole proprietor
                widget.field_value = widget.on_state()
                widget.update()
        document.bake()
        path = out / "forms" / f"{index:06d}_fw9.pdf"
        document.save(path, garbage=3, deflate=True)
        target = {**values, "tax_classification": W9_CLASSES[chosen]}
        examples.append(Example(target=target, pdf=path, anchors="text"))
    return write_manifest(examples, out / "manifest.jsonl")


def filled_form(form: str, seed: int) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """A tests/data/forms PDF filled by `tests.forms.fill_form`: its page 1 flattened, the
    schema of every widget filled and the values filled."""
    import pymupdf

    sys.path.append(str(Path(__file__).resolve().parents[1]))  # the tests package
    from tests.forms import FORMS, fill_form

    filled, schema, values = fill_form((FORMS / f"{form}.pdf").read_bytes(), seed)
    document = pymupdf.open(stream=filled, filetype="pdf")
    document.bake()
    document.select([0])
    return document.tobytes(garbage=3, deflate=True), schema, values


@functools.cache
def _other_schema(form: str) -> dict[str, Any]:
    return filled_form(form, 0)[1]


def other_forms(form: str, out: Path, n: int, seed: int) -> Path:
    """`n` copies of `form` filled with random values (`filled_form`) and their targets."""
    if (out / "manifest.jsonl").is_file():
        return out / "manifest.jsonl"
    (out / "forms").mkdir(parents=True, exist_ok=True)
    examples = []
    for index in range(n):
        pdf, _, values = filled_form(form, seed * 100_000 + index)
        path = out / "forms" / f"{index:06d}_{form}.pdf"
        path.write_bytes(pdf)
        examples.append(Example(target=values, pdf=path, anchors="text"))
    return write_manifest(examples, out / "manifest.jsonl")


def generative_curve(step_budgets: tuple[int, ...]) -> dict[str, Any]:
    """`finetune --preset tiny` on anchored toy forms: field accuracy after each budget.

    The settings of `tests/test_finetune_anchored.py`: 128 px pages (the values are in the
    anchors), vision frozen, anchors as text lines without positions, loss on the prompt too,
    a 128-wide decoder.
    """
    import torch

    from docvlm.finetune.evaluate import aggregate, predict, score_example
    from docvlm.finetune.train import TrainConfig, train
    from docvlm.model.configuration_docvlm import PRESETS
    from docvlm.model.runtime import load_runtime

    train_manifest = dataset("toy_train", 400, ["toy"], 10)
    test_manifest = dataset("toy_test", 50, ["toy"], 11)
    tiny = PRESETS["tiny"]()
    overrides = {"vision_config": {**tiny["vision_config"], "image_size": 128},
                 "clip_config": {**tiny["clip_config"], "image_size": 28},
                 "text_config": {**tiny["text_config"], "hidden_size": 128,
                                 "intermediate_size": 256, "num_key_value_heads": 4}}  # fmt: skip
    examples = read_manifest(test_manifest)
    curve = []
    for steps in step_budgets:
        out = WORK / f"generative_{steps}"
        started = time.process_time()
        train(TrainConfig(train=train_manifest, out=out, preset="tiny", preset_overrides=overrides,
                          freeze=("vision", "projector"), max_steps=steps, lr=3e-3, batch_size=8,
                          schedule="cosine", warmup_steps=20, render_size=128, max_length=256,
                          system_turn=False, anchor_grid=0, join_anchor_lines=True,
                          prompt_loss=True, progress=False))  # fmt: skip
        cpu_minutes = (time.process_time() - started) / 60
        runtime = load_runtime(out, device="cpu", dtype=torch.float32)
        predictions = predict(runtime, examples, 25, 48, 128)
        scored = [score_example(p, e.target) for p, e in zip(predictions, examples, strict=True)]
        accuracy = aggregate(scored)["field_accuracy"]
        curve.append({"steps": steps, "cpu_minutes": round(cpu_minutes, 2),
                      "accuracy": round(accuracy, 4)})  # fmt: skip
        print("generative", json.dumps(curve[-1]), flush=True)
    return {"accuracy": curve[-1]["accuracy"], "prior": prior_score(train_manifest, test_manifest),
            "no_model": score(test_manifest, None)["accuracy"], "curve": curve}  # fmt: skip


def main() -> None:
    global WORK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and budgets")
    parser.add_argument("--work", type=Path, help=f"data and models, reused (default {WORK})")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma list of rows to run")
    parser.add_argument("--train-per-layout", type=int, default=16)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every budget")
    parser.add_argument("--test-forms", type=int, default=100, help="forms scored per row")
    parser.add_argument("--mix-base", type=float, default=0.5,
                        help="base_finetune: base replay forms per training row")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0,
                        help="form model seed (init, batches, calibration split)")  # fmt: skip
    args = parser.parse_args()
    if args.work:
        WORK = args.work
    rows = args.rows.split(",")
    scale = 0.1 if args.smoke else args.scale
    per_layout = 2 if args.smoke else args.train_per_layout
    report: dict[str, Any] = {}
    if "unseen_layouts" in rows:
        train = dataset("layouts_train", per_layout * 25, TRAIN_TEMPLATES, 1)
        test = dataset("layouts_test", 10 if args.smoke else 100, UNSEEN_TEMPLATES, 2)
        report["unseen_layouts"] = form_row(
            "unseen_layouts", train, test, 10 * scale, seed=args.seed
        )
    if "scanned" in rows:
        train = dataset("scanned_train", per_layout * 25, TRAIN_TEMPLATES, 3, scanned=1.0)
        test = dataset("scanned_test", 10 if args.smoke else 50, UNSEEN_TEMPLATES, 4, scanned=1.0)
        report["scanned"] = form_row("scanned", train, test, 10 * scale, seed=args.seed)
    if "base_finetune" in rows or "base_zero_shot" in rows:
        train = dataset("application_train", 20 if args.smoke else 200, ["application"], 5)
        test = dataset(
            "application_test", 10 if args.smoke else args.test_forms, ["application"], 6
        )
        if "base_zero_shot" in rows:
            report["base_zero_shot"] = {
                **score(test, "docvlm-forms-tiny"),
                "prior": prior_score(train, test),
                "no_model": score(test, None)["accuracy"],
            }
            print("base_zero_shot", json.dumps(report["base_zero_shot"]), flush=True)
        if "base_finetune" in rows:
            report["base_finetune"] = form_row(
                "base_finetune",
                train,
                test,
                2 * scale,
                "docvlm-forms-tiny",
                None,
                args.mix_base,
                args.seed,
            )
            # Forgetting: the base's own templates, before and after this fine-tune.
            own = dataset("base_templates_test", 10 if args.smoke else 40, BASE_TEMPLATES, 9)
            own_limit = min(40, args.test_forms)
            report["base_finetune"]["base_templates_before"] = score(
                own, "docvlm-forms-tiny", own_limit
            )["accuracy"]
            report["base_finetune"]["base_templates_after"] = score(
                own, WORK / "model_base_finetune", own_limit
            )["accuracy"]
            print("forgetting", json.dumps(report["base_finetune"]), flush=True)
    if "real_form" in rows:
        train = w9_forms(WORK / "w9_train", 20 if args.smoke else 200, 7)
        test = w9_forms(WORK / "w9_test", 10 if args.smoke else 100, 8)
        report["real_form"] = form_row(
            "real_form", train, test, 5 * scale, DEFAULT_START, seed=args.seed
        )
    if "other_forms" in rows:
        report["other_forms"] = {}
        for seed, form in enumerate(OTHER_FORMS, start=20):
            train = other_forms(form, WORK / f"{form}_train", 20 if args.smoke else 200, seed)
            test = other_forms(form, WORK / f"{form}_test", 10 if args.smoke else 100, seed + 10)
            report["other_forms"][form] = form_row(
                form, train, test, 5 * scale, DEFAULT_START, seed=args.seed
            )
    if "generative" in rows:
        report["generative"] = generative_curve((150, 400) if args.smoke else (500, 1000, 2500))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
