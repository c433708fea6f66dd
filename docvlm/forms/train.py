"""`docvlm finetune --task fields`: train the form model from manifest rows (page, target JSON).

Each row's page is read into anchor words (`docvlm.anchors`), its target values are aligned to
words (`align`), and the model learns the BIO tags. Rows are held out to fit the confidence
threshold (`tagger.TARGET_ERROR`): a tenth of them, or, where the rows come from several
layouts, a fifth of those layouts whole. Training runs for `max_minutes` of CPU time (or
`epochs`), calibration included and reading the pages not, with a learning rate that decays
over that budget.

Fine-tuning a base on one layout forgets the others. `mix_base` replays the base's own data
beside the user's rows: a base whose info names its synthetic layouts (`replay`, as
docvlm-forms-tiny does) gets that many fresh forms of them per user row, trained on but never
used for calibration, which stays on the user's layout.
"""

from __future__ import annotations

import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from docvlm.anchors import AnchorWord, anchors_from_words
from docvlm.errors import DocVLMError
from docvlm.extraction.schema import load_schema
from docvlm.extraction.words import page_words, pages_read_once
from docvlm.finetune.manifest import Example, manifest_hash, read_manifest
from docvlm.metrics import normalize_field_value
from docvlm.sources import open_source

from .align import Alignment, align, target_leaves, to_key, usual_places
from .evaluate import target_schema
from .extract import fallback_values, read_fields
from .labels import learn_labels
from .legibility import UNMEASURED, ReadingFloor, reading_evidence, reading_floors, target_readings
from .model import FormModel, FormModelConfig, page_features
from .second_reading import SecondReader
from .tagger import (
    ABSTAIN,
    LEGIBLE,
    SURE_TAG,
    TARGET_ERROR,
    FormTagger,
    allowed_tags,
    batch_features,
    load_form_model,
    save_form_model,
)

# What `docvlm finetune --task fields` starts from when not told: on the W-9 (900-word pages,
# 200 rows, 5 CPU-min) it reached 99 % against 80 % from random init.
DEFAULT_START = "docvlm-forms-tiny"
MIN_CALIBRATION_ANSWERS = 50
WARMUP_STEPS = 20
LAYOUT_SPLIT = 5  # rows of this many layouts (schemas) or more: held out by whole layouts
CALIBRATION_SAMPLE = 4  # held-out pages tagged before training to price calibration
# A held-out layout whose wrong values above a floor would come from a 1 %-wrong layout less
# often than this fails that floor (one wrong of 40 passes, two do not).
LAYOUT_EVIDENCE = 0.2
# A key whose held-out values returned are wrong so often that a key wrong at TARGET_ERROR
# would show as many less often than this gets a floor of its own: a radio group whose drawn
# state no word shows is a coin toss however surely its option word is tagged (160F-2019's
# "oui"/"non": 4 of 20 test values wrong at 0.9). Lower than LAYOUT_EVIDENCE: a model has
# dozens of keys, and one held-out slip must not shut one.
KEY_EVIDENCE = 0.01


@dataclass
class FieldsConfig:
    """What `docvlm finetune --task fields` takes; stored in the card."""

    train: Path
    out: Path
    model: str | None = None  # start from this form model (folder or shipped name); None: random
    anchors: str | None = None  # override every row's anchors
    max_minutes: float | None = None
    epochs: float = 30.0
    lr: float = 2e-3
    batch_size: int = 8
    seed: int = 0
    mix_base: float = 0.0  # base replay forms per training row (needs a base with `replay`)
    command: str = ""


@dataclass
class TrainingPage:
    """One row read and aligned: its words, its tags, the pointers aligned to words, and the
    keys its target holds (its schema, null values included)."""

    words: list[AnchorWord]
    tags: torch.Tensor
    alignment: Alignment
    row: int
    schema: frozenset[str]
    example: Example


@dataclass
class FieldsResult:
    out: Path
    steps: int
    report: dict[str, Any] = field(default_factory=dict)
    held_out: list[Answer] = field(default_factory=list)  # the answers calibration was fitted on
    held_out_fallbacks: list[Answer] = field(default_factory=list)


def read_pages(
    examples: list[Example], anchors: str | None = None
) -> list[tuple[Example, list[AnchorWord], Alignment]]:
    """Anchor words and target alignment of every example (targets must be JSON objects). A
    value printed more than once on its page is aligned again, nearest where its key's values
    sat on the other pages of its layout (`usual_places`): taken by the neighbouring words alone,
    a form printing its labels under the boxes swapped 171 of 2,600 character-sheet values
    (a name drawn for two fields), and the model learnt to swap names."""
    read = []
    for example in examples:
        if not isinstance(example.target, dict):
            raise DocVLMError("--task fields needs JSON object targets in the manifest")
        words = example.page_anchors(anchors).words
        read.append((example, words, align(example.target, words)))
    layouts: dict[frozenset[str], list[tuple[list[AnchorWord], Alignment]]] = {}
    for example, words, alignment in read:
        layouts.setdefault(_layout(example), []).append((words, alignment))
    places = {layout: usual_places(pages) for layout, pages in layouts.items()}
    return [
        (example, words, align(example.target, words, places[_layout(example)]))
        if alignment.repeated
        else (example, words, alignment)
        for example, words, alignment in read
    ]


def _layout(example: Example) -> frozenset[str]:
    """The keys of the example's target: rows of one schema stand for one layout."""
    return frozenset(key for key, _, _ in target_leaves(example.target))


def alignment_report(pages: list[tuple[Example, list[AnchorWord], Alignment]]) -> dict[str, Any]:
    """How many values were aligned, and every one that was not, with its reason."""
    aligned = sum(len(a.spans) for _, _, a in pages)
    missing = [
        {
            "row": row,
            "source": str(example.pdf or example.image),
            "pointer": pointer,
            "reason": reason,
        }
        for row, (example, _, a) in enumerate(pages, start=1)
        for pointer, reason in a.missing
    ]
    ambiguous = sum(len(a.ambiguous) for _, _, a in pages)
    return {"aligned": aligned, "unaligned": missing, "ambiguous": ambiguous}


def tag_tensor(words: list[AnchorWord], alignment: Alignment, keys: list[str]) -> torch.Tensor:
    """(N,) tags: 0 for O, 1 + 2k for B-key k, 2 + 2k for I-key k."""
    tags = torch.zeros(len(words), dtype=torch.long)
    for span in alignment.spans:
        index = keys.index(span.key)
        for position, word in enumerate(sorted(span.words)):
            tags[word] = 1 + 2 * index + (position > 0)
    return tags


def training_pages(
    pages: list[tuple[Example, list[AnchorWord], Alignment]],
    keys: list[str],
    first_row: int = 0,
) -> list[TrainingPage]:
    """Read pages with their tags over `keys`, numbered from `first_row`."""
    return [
        TrainingPage(
            words,
            tag_tensor(words, alignment, keys),
            alignment,
            row,
            _layout(example),
            example,
        )
        for row, (example, words, alignment) in enumerate(pages, start=first_row)
    ]


def train_fields(config: FieldsConfig) -> FieldsResult:
    """Read, align, train, calibrate and save a form model; return where it went. Each scan
    is OCRed once, though calibration reads its held-out pages again."""
    with pages_read_once():
        return _train_fields(config)


def _train_fields(config: FieldsConfig) -> FieldsResult:
    started = time.process_time()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    examples = read_manifest(config.train)
    pages = read_pages(examples, config.anchors)
    report = alignment_report(pages)
    floors = reading_floors([item for page in pages for item in reading_evidence(*page)])
    for problem in report["unaligned"]:
        print(
            f"docvlm: warning: row {problem['row']} {problem['pointer']}: {problem['reason']}",
            file=sys.stderr,
        )
    base = load_form_model(config.model) if config.model else None
    recipe = replay_recipe(base, config.mix_base)
    replayed = replay_pages(recipe, config, len(examples)) if recipe else []
    keys = list(base.keys) if base else []
    keys = list(dict.fromkeys(keys + [s.key for _, _, a in pages + replayed for s in a.spans]))
    if not keys:
        raise DocVLMError(f"{config.train}: no target value was found on any page")
    model = _model_for(keys, base)
    data = training_pages(pages, keys)
    replay_data = training_pages(replayed, keys, first_row=len(pages))
    held, trained = split_for_calibration(data, rng)
    several_layouts = len({page.schema for page in data}) >= LAYOUT_SPLIT
    trained = trained + replay_data
    prepared = time.process_time() - started
    spans = ((p.words, [(s.key, s.words) for s in p.alignment.spans]) for p in trained)
    tagger = FormTagger(model, labels=learn_labels(spans))
    budget = None
    if config.max_minutes:
        # The budget covers training and calibration, not reading the pages: OCR of scans
        # (Tesseract runs in this process) can take longer than the whole budget, which would
        # leave a model that never took a step.
        budget = config.max_minutes * 60 - _calibration_seconds(tagger, held)
    steps = _fit(model, trained, config, rng, budget)
    answers, fallbacks = held_out_answers(tagger, held, config.anchors)
    if len(answers) < MIN_CALIBRATION_ANSWERS and held is not data:
        # Too few held-out answers to vouch for 1 %: fit on every row (optimistic; the card
        # says so) rather than return nothing.
        answers, fallbacks = held_out_answers(tagger, data, config.anchors)
        held = data
    fits = [calibrate(tagger, answers, fallbacks, floor, several_layouts) for floor in floors]
    # The reading floor under which the held-out pages get the most values right.
    tagger, calibration = max(fits, key=lambda fit: (_returned_right(fit[1]), fit[0].legible))
    calibration["held_out_pages"] = len(held)
    if held is data:
        calibration["on"] = "all rows (too few held out)"
    train_seconds = time.process_time() - started - prepared
    report.update(
        {
            "rows": len(pages),
            "keys": keys,
            "steps": steps,
            "replay_rows": len(replay_data),
            "prepare_cpu_seconds": round(prepared, 1),
            "train_cpu_seconds": round(train_seconds, 1),
            "calibration": calibration,
        }
    )
    tagger.info = {
        "keys_learned": keys,
        "train_manifest": str(config.train),
        "report": {k: v for k, v in report.items() if k != "unaligned"},
    }
    if base is not None and (base.info or {}).get("replay"):
        tagger.info["replay"] = base.info["replay"]  # a fine-tune can replay the same forms
    save_form_model(tagger, config.out, _card(config, report))
    (Path(config.out) / "alignment_report.json").write_text(json.dumps(report, indent=1) + "\n")
    return FieldsResult(Path(config.out), steps, report, answers, fallbacks)


def calibrate(
    tagger: FormTagger,
    answers: list[Answer],
    fallbacks: list[Answer],
    reading: ReadingFloor,
    several_layouts: bool,
) -> tuple[FormTagger, dict[str, Any]]:
    """`tagger` with the floors fitted on the held-out answers (`fit_sure_tag`,
    `fit_threshold`, `fit_contest`, `fit_key_floors`, `fit_fallback`) under the `reading`
    floor, and what they return there."""
    fitted = replace(tagger, legible=reading.legible)
    if several_layouts:
        fitted.sure_tag = fit_sure_tag([a for a in answers if not a.alike], reading)
        fitted.sure_alike = fit_sure_tag([a for a in answers if a.alike], reading)
    sure = (fitted.sure_tag, fitted.sure_alike)
    fitted.min_score, fitted.agree_score, calibration = fit_threshold(answers, *sure, reading)
    floors = (fitted.min_score, fitted.agree_score, *sure, reading.legible)
    fitted.label_score = fit_label_score(answers, floors, reading)
    accepted = [
        a
        for a in _legible(answers, reading.legible)
        if a.returned(*floors, label_score=fitted.label_score)
    ]
    calibration["label_threshold"] = round(fitted.label_score, 5)
    calibration["returned_labelled"] = len(accepted) - calibration["returned"]
    calibration["returned"] = len(accepted)
    calibration["returned_wrong"] = sum(not a.correct for a in accepted)
    calibration["returned_misread"] = sum(a.misread for a in accepted)
    fitted.contest_score = fit_contest(answers, fitted.min_score, *sure, reading)
    floors = (*floors, fitted.contest_score)
    fitted.key_floors = fit_key_floors(
        answers, lambda answer: answer.returned(*floors, label_score=fitted.label_score)
    )

    def returns(answer: Answer) -> bool:
        return answer.returned(*floors, fitted.key_floors, fitted.label_score)

    fitted.fallback, fallback_summary = fit_fallback(answers, fallbacks, returns)
    calibration.update(fallback_summary)
    calibration["contest_score"] = round(fitted.contest_score, 5)
    calibration["key_floors"] = {k: round(v, 5) for k, v in fitted.key_floors.items()}
    calibration["returned_contested"] = sum(a.contested and returns(a) for a in answers)
    calibration["reading"] = reading.summary()
    calibration["sure_tag"] = round(fitted.sure_tag, 5)
    calibration["sure_alike"] = fitted.sure_alike and round(fitted.sure_alike, 5)
    return fitted, calibration


def _returned_right(calibration: dict[str, Any]) -> int:
    right = calibration["returned"] - calibration["returned_wrong"]
    if calibration["fallback"]:
        right += calibration["fallback_added"] - calibration["fallback_added_wrong"]
    return right


def replay_recipe(base: FormTagger | None, mix_base: float) -> dict[str, Any] | None:
    """The base's replay data (synthetic layouts) when `mix_base` asks for it."""
    if not mix_base:
        return None
    recipe = (base.info or {}).get("replay") if base is not None else None
    if not recipe:
        raise DocVLMError(
            "--mix-base replays a base's own forms: give --model docvlm-forms-tiny or another "
            "base whose config.json info names its synthetic layouts ('replay')"
        )
    return recipe


def replay_pages(
    recipe: dict[str, Any], config: FieldsConfig, rows: int
) -> list[tuple[Example, list[AnchorWord], Alignment]]:
    """`mix_base` forms per row of the base's synthetic layouts, born-digital, read and aligned."""
    from docvlm.finetune.builders import synth_forms

    count = max(1, round(config.mix_base * rows))
    with tempfile.TemporaryDirectory(prefix="docvlm-replay-") as folder:
        layouts = tuple(recipe["layouts"])
        manifest = synth_forms(folder, count, layouts, seed=config.seed + 1, anchors="text")
        return read_pages(read_manifest(manifest))


def split_for_calibration(
    data: list[TrainingPage], rng: random.Random
) -> tuple[list[TrainingPage], list[TrainingPage]]:
    """(held out, trained): a tenth of the rows; where the rows come from five layouts or more
    (rows with one schema stand for one layout), a fifth of them, whole layouts at a time, so
    the threshold is fitted on layouts the model has not seen, as new layouts will be. Errors
    vary more between layouts than within one: with a tenth (two or three layouts) the
    threshold fitted on easy ones let 12 % wrong answers through on others. Under ten rows:
    all of both."""
    if len(data) < 10:
        return data, data
    groups: dict[frozenset, list[TrainingPage]] = {}
    for page in data:
        groups.setdefault(page.schema, []).append(page)
    order = list(groups.values())
    rng.shuffle(order)
    held: list[TrainingPage] = []
    if len(order) >= LAYOUT_SPLIT:
        while len(held) < len(data) // 5:
            held += order.pop()
    else:
        shuffled = list(data)
        rng.shuffle(shuffled)
        held = shuffled[: len(data) // 10]
    held_rows = {page.row for page in held}
    return held, [page for page in data if page.row not in held_rows]


def _model_for(keys: list[str], base: FormTagger | None) -> FormModel:
    """A new model, or the base model with tag rows added for keys it has not seen."""
    if base is None:
        return FormModel(FormModelConfig(keys=keys))
    old = base.model
    # The window (words attended together) is no weight: the base reads with today's default.
    window = FormModelConfig.max_words
    config = FormModelConfig(**{**old.config.to_dict(), "keys": keys, "max_words": window})
    model = FormModel(config)
    state = old.state_dict()
    rows = old.config.num_tags
    weight, bias = model.tags.weight.data.clone(), model.tags.bias.data.clone()
    weight[:rows], bias[:rows] = state.pop("tags.weight"), state.pop("tags.bias")
    model.load_state_dict({**state, "tags.weight": weight, "tags.bias": bias})
    return model


def _calibration_seconds(tagger: FormTagger, held: list[TrainingPage]) -> float:
    """CPU seconds tagging the held-out pages will take: a few of them tagged now, scaled."""
    sample = held[:CALIBRATION_SAMPLE]
    if not sample:
        return 0.0
    started = time.process_time()
    held_out_answers(tagger, sample)
    return (time.process_time() - started) * len(held) / len(sample)


def _fit(
    model: FormModel,
    pages: list[TrainingPage],
    config: FieldsConfig,
    rng: random.Random,
    budget_seconds: float | None,
) -> int:
    """Adam over shuffled batches until the budget is spent, with cosine decay over it.

    The time budget counts this process's CPU time, so a busy shared machine buys the same
    training as an idle one. The n-gram table gets sparse updates: a step touches only the
    rows its words hash to.
    """
    table = [model.ngrams.weight]
    rest = [p for name, p in model.named_parameters() if name != "ngrams.weight"]
    optimizers = [
        torch.optim.SparseAdam(table, lr=config.lr),
        torch.optim.AdamW(rest, lr=config.lr, weight_decay=0.01),
    ]
    started = time.process_time()
    features = [page_features(p.words, model.config) for p in pages]
    size = model.config.max_words
    total_steps = max(1, int(config.epochs * len(pages) / config.batch_size))
    step = 0
    model.train()
    while True:
        order = list(range(len(pages)))
        rng.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            elapsed = time.process_time() - started
            if budget_seconds is not None:
                progress = elapsed / max(budget_seconds, 1.0)
            else:
                progress = step / total_steps
            if progress >= 1:
                model.eval()
                return step
            batch = order[start : start + config.batch_size]
            chosen = [(i, *_window(pages[i].tags, size, rng)) for i in batch]
            inputs = batch_features([features[i].window(s, e) for i, s, e in chosen])
            inputs["boxes"] = _moved(inputs["boxes"], rng)
            tags = torch.full(inputs["mask"].shape, -100, dtype=torch.long)
            for row, (index, s, e) in enumerate(chosen):
                tags[row, : e - s] = pages[index].tags[s:e]
            asked = torch.stack([allowed_tags(model.config.keys, pages[i].schema) for i in batch])
            logits = model(**inputs).masked_fill(~asked[:, None, :], -math.inf)
            loss = F.cross_entropy(logits.flatten(0, 1), tags.flatten(), ignore_index=-100)
            rate = (
                config.lr
                * min(1.0, (step + 1) / WARMUP_STEPS)
                * (1 + math.cos(progress * math.pi))
                / 2
            )
            for optimizer in optimizers:
                optimizer.zero_grad()
                for group in optimizer.param_groups:
                    group["lr"] = rate
            loss.backward()
            torch.nn.utils.clip_grad_norm_(rest, 1.0)
            for optimizer in optimizers:
                optimizer.step()
            step += 1


def _window(tags: torch.Tensor, size: int, rng: random.Random) -> tuple[int, int]:
    """`size` words of a longer page (the whole of a shorter one): half the time around a
    word that holds a value, since most windows of a long form hold none."""
    count = len(tags)
    if count <= size:
        return 0, count
    tagged = tags.nonzero().flatten().tolist()
    if tagged and rng.random() < 0.5:
        center = rng.choice(tagged) + rng.randint(-size // 4, size // 4)
        start = min(max(center - size // 2, 0), count - size)
    else:
        start = rng.randint(0, count - size)
    return start, start + size


def _moved(boxes: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """Each page shifted and scaled at random (a layout is not its absolute position)."""
    out = boxes.clone()
    for row in range(len(out)):
        scale = rng.uniform(0.85, 1.15)
        shift_x, shift_y = rng.uniform(-120, 120), rng.uniform(-120, 120)
        out[row, :, 0::2] = (out[row, :, 0::2] * scale + shift_x).clamp(0, 1000)
        out[row, :, 1::2] = (out[row, :, 1::2] * scale + shift_y).clamp(0, 1000)
    return out


@dataclass
class Answer:
    """One value the model read on a held-out page: its score, whether it is the target's
    value, whether no-model extraction read the same, its span's tag score (what
    `FormTagger.sure_tag` is held against), and where it was read."""

    score: float
    correct: bool
    agrees: bool
    tag: float = 1.0
    where: tuple[int, str] = (0, "")  # the page's row and the value's JSON pointer
    layout: frozenset[str] = frozenset()  # the page's schema: rows of one schema, one layout
    legibility: float = 1.0  # OCR's confidence in the value's least legible word
    contested: bool = False  # no-model extraction gives the value to another field
    alike: bool = False  # another field's value on the page looks the same
    value: Any = None  # the value read
    truth: Any = None  # the target's value there
    misread: bool = False  # wrong only as the target's own words read (`legibility`)
    labelled: bool = False  # printed under a label of its key's (`labels.labelled`)

    @property
    def model_wrong(self) -> bool:
        """Wrong, and not only because the words that print the target value read wrong."""
        return not self.correct and not self.misread

    @property
    def key(self) -> str:
        return to_key(self.where[1])

    def record(self) -> dict[str, Any]:
        """The answer as JSON (to study calibration offline on the same weights)."""
        return {
            **{k: v for k, v in vars(self).items() if k != "layout"},
            "layout": sorted(self.layout),
        }

    def sure(self, sure_tag: float, sure_alike: float | None = None) -> bool:
        """Whether its tag reaches the sure-tag floor of its kind (`FormTagger.sure_floor`)."""
        alike = self.alike and sure_alike is not None
        return self.tag >= (sure_alike if alike else sure_tag)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Answer:
        return cls(
            **{
                **record,
                "where": tuple(record["where"]),
                "layout": frozenset(record["layout"]),
            }
        )

    def returned(
        self,
        min_score: float,
        agree_score: float,
        sure_tag: float = 0.0,
        sure_alike: float | None = None,
        legible: float = LEGIBLE,
        contest_score: float = ABSTAIN,
        key_floors: dict[str, float] | None = None,
        label_score: float = ABSTAIN,
    ) -> bool:
        """Whether extraction returns this value under these floors (`FormTagger`'s)."""
        if self.legibility < legible or self.score < (key_floors or {}).get(self.key, 0.0):
            return False
        if self.contested:
            return self.sure(sure_tag, sure_alike) and self.score >= max(min_score, contest_score)
        return (
            (self.sure(sure_tag, sure_alike) and self.score >= min_score)
            or (self.agrees and self.score >= agree_score)
            or (self.labelled and self.score >= label_score)
        )


def held_out_answers(
    tagger: FormTagger, pages: list[TrainingPage], anchors: str | None = None
) -> tuple[list[Answer], list[Answer]]:
    """`page_answers` of every page."""
    answers, fallbacks = [], []
    for page in pages:
        page_read, page_fallbacks = page_answers(tagger, page.example, page.row, anchors)
        answers += page_read
        fallbacks += page_fallbacks
    return answers, fallbacks


def page_answers(
    tagger: FormTagger,
    example: Example,
    row: int,
    anchors: str | None = None,
    schema: dict[str, Any] | None = None,
) -> tuple[list[Answer], list[Answer]]:
    """Every value the model reads on a row's page for `schema` (by default the one its
    target implies), through extraction's own path, judged against the target by value (OCR
    splits and merges words differently from page to page; the value is what a user gets),
    and no-model extraction's values that could stand in for them (`fallback_values`),
    judged alike. A value read where the target holds none is wrong; one read as the words
    that print the target value read is `misread`."""
    schema = load_schema(schema or target_schema(example.target))
    truth = {pointer: value for _, pointer, value in target_leaves(example.target)}
    layout = frozenset(key for key, _, _ in target_leaves(example.target))
    source_name = anchors or example.anchors or "auto"
    with open_source(example.image or example.pdf, pages=[example.page]) as document:
        source = document.page(example.page)
        layers = [page_words(source, source=source_name)] if source_name != "none" else []
        readings, no_model = read_fields(tagger, [source], schema, source_name, True, layers)
        words = anchors_from_words(layers[0]).words if layers else []
        alignment = align(example.target, words)
        own = target_readings(example.target, words, alignment, SecondReader(source))
    answers = [
        Answer(
            reading.score,
            _is_value(truth.get(pointer), reading.found.value),
            reading.agrees,
            reading.tag_score,
            (row, pointer),
            layout,
            reading.legibility,
            reading.contested,
            reading.alike,
            reading.found.value,
            truth.get(pointer),
            _is_misread(truth.get(pointer), reading.found.value, own.get(pointer)),
            reading.labelled,
        )
        for pointer, reading in readings.items()
    ]
    fallbacks = [
        Answer(
            found.confidence,
            _is_value(truth.get(pointer), found.value),
            False,
            where=(row, pointer),
            layout=layout,
            value=found.value,
            truth=truth.get(pointer),
        )
        for pointer, found in fallback_values(no_model, ()).items()
    ]
    return answers, fallbacks


def _is_value(expected: Any, value: Any) -> bool:
    return expected is not None and normalize_field_value(expected) == normalize_field_value(value)


def _is_misread(expected: Any, value: Any, own: tuple[float, Any] | None) -> bool:
    """Whether `value` is wrong but what the target's own words (`own`) read as."""
    return (
        own is not None
        and own[1] is not None
        and not _is_value(expected, value)
        and normalize_field_value(own[1]) == normalize_field_value(value)
    )


def fit_fallback(
    answers: list[Answer], fallbacks: list[Answer], returns: Callable[[Answer], bool]
) -> tuple[bool, dict]:
    """Whether no-model extraction's values may fill the fields the model leaves null: only
    where, on the held-out pages, the values then returned (those the model `returns`, and
    the fallbacks for the rest) stay within TARGET_ERROR wrong (counting half a
    pseudo-error, as the floors do) and some were added at all."""
    returned = [a for a in answers if returns(a)]
    taken = {a.where for a in returned}
    added = [f for f in fallbacks if f.where not in taken]
    wrong = sum(not a.correct for a in returned + added)
    safe = bool(added) and (wrong + 0.5) / (len(returned) + len(added) + 1) <= TARGET_ERROR
    summary = {
        "fallback": safe,
        "fallback_added": len(added),
        "fallback_added_wrong": sum(not f.correct for f in added),
    }
    return safe, summary


def fit_sure_tag(answers: list[Answer], reading: ReadingFloor = UNMEASURED) -> float:
    """The tag score a value no-model extraction does not read alike needs (a model of
    several layouts): SURE_TAG, or higher where such held-out values are not within
    TARGET_ERROR wrong above it, pooled and on each held-out layout alone (pooled, one
    layout's errors hide among another's right answers). Never lower: a floor fitted on
    five held-out templates (0.869) let 1.2 % wrong through on five unseen ones, check
    boxes read for their neighbour's label at 0.998. Values OCR read under the `reading`
    floor are left out: extraction never returns them, so their errors say nothing of this
    floor; values wrong only as their right words read (`Answer.misread`) are the reading's
    share of the budget, not the model's."""
    alone = [a for a in _legible(answers, reading.legible) if not a.agrees]
    fitted = _lowest_safe(
        {a.tag for a in alone},
        lambda tag: [a for a in alone if a.tag >= tag],
        reading.model_error,
        each_layout=True,
    )
    return max(fitted, SURE_TAG)


def fit_threshold(
    answers: list[Answer],
    sure_tag: float = 0.0,
    sure_alike: float | None = None,
    reading: ReadingFloor = UNMEASURED,
) -> tuple[float, float, dict]:
    """(min_score, agree_score): the lowest scores above which at most the model's share of
    TARGET_ERROR (`reading.model_error`) of the held-out answers returned are the model's
    errors, first over the answers whose tags reach `sure_tag`, then over the answers
    no-model extraction read alike, added to those (the union stays within it). Values OCR
    read under the `reading` floor are left out, as extraction leaves them out. Where every
    agreeing answer is safe, agreement needs no score at all: a floor at the lowest one held
    out would turn away agreeing values scored lower only because no held-out page had one
    (scanned row, seed 0, same weights: 8 test values, all right, scored 0.07-0.35 under a
    floor of 0.356; the held-out pages' lowest of 207 was 0.356)."""
    answers = _legible(answers, reading.legible)
    sure = [a for a in answers if a.sure(sure_tag, sure_alike)]
    min_score = _lowest_safe(
        {a.score for a in sure},
        lambda score: [a for a in sure if a.score >= score],
        reading.model_error,
    )
    agreeing = {0.0} | {a.score for a in answers if a.agrees}

    def returned(floor: float) -> list[Answer]:
        floors = (min_score, floor, sure_tag, sure_alike, reading.legible)
        return [a for a in answers if a.returned(*floors)]

    agree_score = min(_lowest_safe(agreeing, returned, reading.model_error), min_score)
    accepted = returned(agree_score)
    summary = {
        "answers": len(answers),
        "threshold": round(min_score, 5),
        "agree_threshold": round(agree_score, 5),
        "returned": len(accepted),
        "returned_agreeing": sum(
            not a.sure(sure_tag, sure_alike) or a.score < min_score for a in accepted
        ),
        "returned_wrong": sum(not a.correct for a in accepted),
        "returned_misread": sum(a.misread for a in accepted),
    }
    return min_score, agree_score, summary


def fit_label_score(
    answers: list[Answer], floors: tuple, reading: ReadingFloor = UNMEASURED
) -> float:
    """The score a value under its key's label (`labels`) needs: the lowest held-out such
    score at which the values returned, those the other `floors` (min_score, agree_score,
    sure_tag, sure_alike, legible) return and the labelled ones added, are within the model's
    share of TARGET_ERROR wrong, pooled and on each layout (`ABSTAIN` where none is, or none
    was held out). The label is a second reading of which field a value fills: of the scanned
    row's held-out values printed under a label of their key's and tagged under the sure-tag
    floor, 64 of 64 were right (two seeds), as were 46 of 46 test values."""
    answers = _legible(answers, reading.legible)

    def returned(floor: float) -> list[Answer]:
        return [a for a in answers if a.returned(*floors, label_score=floor)]

    labelled = {a.score for a in answers if a.labelled}
    return _lowest_safe(labelled, returned, reading.model_error, each_layout=True)


def fit_contest(
    answers: list[Answer],
    min_score: float,
    sure_tag: float = 0.0,
    sure_alike: float | None = None,
    reading: ReadingFloor = UNMEASURED,
) -> float:
    """The score a value needs where no-model extraction gives it to another field: the
    lowest at which the held-out contested values reaching the sure-tag and reading floors
    are within the model's share of TARGET_ERROR wrong, pooled and on each layout, never
    under `min_score` (`ABSTAIN` where none is, or none was held out). The two readers'
    disagreement decides nothing by itself:
    on swapped look-alike dates the model is the one wrong, but where a form prints its
    labels under the boxes (a caption under each line) the pairing takes every value for the
    field below it, and a flat veto lost all three such fields of a character sheet (61 of
    61 contested test values right, 73 % field exact)."""
    contested = [
        a
        for a in answers
        if a.contested and a.legibility >= reading.legible and a.sure(sure_tag, sure_alike)
    ]
    fitted = _lowest_safe(
        {a.score for a in contested},
        lambda score: [a for a in contested if a.score >= score],
        reading.model_error,
        each_layout=True,
    )
    return max(fitted, min_score)


def fit_key_floors(answers: list[Answer], returned: Callable[[Answer], bool]) -> dict[str, float]:
    """Floors of their own for the keys whose held-out values `returned` are wrong more often
    than a key wrong at TARGET_ERROR would show with KEY_EVIDENCE: the lowest score above
    which the key's own held-out values are within TARGET_ERROR wrong, counting half a
    pseudo-error as the pooled floors do (`ABSTAIN` where none is: a key held out a few dozen
    times is shut). A floor just above its last wrong value did not hold for a coin toss:
    160F-2019's radio group `R_CM`, 5 of 20 held-out values wrong up to 0.256 and its floor
    at 0.2586, let 13 of 100 test values through wrong (0.23 % of all at 0.9; shut: 0, field
    exact 98.29 → 98.14 %, the same weights)."""
    keys: dict[str, list[Answer]] = {}
    for answer in answers:
        if returned(answer):
            keys.setdefault(answer.key, []).append(answer)
    floors = {}
    for key, group in keys.items():
        wrong = sum(not a.correct for a in group)
        if _at_least(len(group), wrong, TARGET_ERROR) >= KEY_EVIDENCE:
            continue
        floors[key] = _lowest_safe(
            {a.score for a in group},
            lambda score, group=group: [a for a in group if a.score >= score],
            TARGET_ERROR,
        )
    return floors


def _legible(answers: list[Answer], legible: float) -> list[Answer]:
    """The answers extraction may return: words OCR read at `legible` or above, and no
    field contested by no-model extraction."""
    return [a for a in answers if a.legibility >= legible and not a.contested]


def _lowest_safe(
    scores: Iterable[float],
    returned: Callable[[float], list[Answer]],
    error: float,
    each_layout: bool = False,
) -> float:
    """The lowest of `scores` whose returned answers are at most `error` the model's errors,
    counting half a pseudo-error (fewer than 50 clean answers cannot vouch for 1 %), and
    with `each_layout` at most that on each layout alone."""
    threshold = ABSTAIN
    for score in sorted(scores, reverse=True):
        kept = returned(score)
        wrong = sum(a.model_wrong for a in kept)
        if (wrong + 0.5) / (len(kept) + 1) <= error and (
            not each_layout or _each_layout_safe(kept, error)
        ):
            threshold = score
    return threshold


def _each_layout_safe(kept: list[Answer], error: float) -> bool:
    """Whether no one layout's answers among `kept` show the model more than `error` wrong on
    it: its errors are not so many that a layout wrong at `error` would give as many less
    than `LAYOUT_EVIDENCE` of the time. A layout holds a few dozen values: asking each for at
    most 1 % wrong outright let none be wrong at all, and one legible wrong date at 0.99989
    raised the floor to 0.9999 (scanned row: 60.6 % field exact; 68.8 % from 0.999, the same
    weights, 1 of 235 returned wrong)."""
    layouts: dict[frozenset[str], list[Answer]] = {}
    for answer in kept:
        layouts.setdefault(answer.layout, []).append(answer)
    return all(
        _at_least(len(group), sum(a.model_wrong for a in group), error) >= LAYOUT_EVIDENCE
        for group in layouts.values()
    )


def _at_least(count: int, wrong: int, error: float) -> float:
    """The chance of `wrong` or more wrong among `count` values each wrong at `error`."""
    below = sum(math.comb(count, k) * error**k * (1 - error) ** (count - k) for k in range(wrong))
    return max(0.0, 1 - below)


def _card(config: FieldsConfig, report: dict[str, Any]) -> str:
    lines = [
        "# docvlm form model",
        "",
        "A word-tagging form model (`docvlm.forms`): BIO tags over the schema keys below, on the",
        "page's anchor words (text layer or OCR).",
        "",
        "## Training command",
        "",
        f"    {config.command or 'docvlm finetune --task fields ...'}",
        "",
        "## Data",
        "",
        f"- manifest: `{config.train}` (sha256 {manifest_hash(config.train)[:16]}…), "
        f"{report['rows']} rows",
        f"- start: {config.model or 'random init'}; anchors: {config.anchors or 'per row'}",
        f"- replayed base forms (mix_base {config.mix_base}): {report['replay_rows']}",
        f"- values aligned to words: {report['aligned']}; unaligned: {len(report['unaligned'])}"
        f" (see alignment_report.json); ambiguous: {report['ambiguous']}",
        "",
        "## Keys",
        "",
        *(f"- `{key}`" for key in report["keys"]),
        "",
        "## Scores",
        "",
        f"- steps {report['steps']}, training {report['train_cpu_seconds']} CPU-s (reading pages "
        f"{report['prepare_cpu_seconds']} CPU-s)",
        f"- calibration on held-out rows: {json.dumps(report['calibration'])}",
        "",
    ]
    return "\n".join(lines)
