"""A trained form model folder: load, save, and read tagged spans off a page.

    config.json        {"model_type": "docvlm-forms", "config": {...}, "min_score": 0.97, ...}
    model.safetensors  fp16 weights
    card.md            training command, data and scores

A span's raw score is its weakest word's tag probability (times the chance that no rival span
holds the key). `min_score` is fitted on held-out pages at training time so that at most
`TARGET_ERROR` of the values scoring above it are wrong (`ABSTAIN` where no score is: then
every value is null); the confidence reported maps that score to 0.9, so returned values have
confidence ≥ 0.9 and the rest are null. `agree_score`, fitted the same way, is the lower floor
of values that no-model extraction (label–value pairing) reads alike: two readers that fail
differently rarely agree on a wrong value. `sure_tag` (models of several layouts: `SURE_TAG`,
raised where a held-out layout has more than `TARGET_ERROR` wrong above it) is the tag score
a value needs where no-model extraction does not read it alike; `sure_alike`, fitted the
same way on values that look like another field's value on their page (`extract.value_shape`:
a claim and a policy number, two dates), is that floor for them, since those are what a
model swaps, and as surely as it reads them; a value printed under a label its key's values
had on the training pages (`labels`) is no look-alike, and needs only `label_score`, fitted
as `agree_score` is (the label is a second reading of which field it fills). `contest_score`,
fitted on held-out values that no-model extraction gives to another field, is the score such
a contested value needs
(`ABSTAIN`: none is returned): on a layout whose labels sit under their boxes the pairing
is the one that is wrong, every time. `key_floors` holds, for the keys whose held-out values
were too often wrong for a key wrong at `TARGET_ERROR` (a radio group whose drawn state no
word shows), the lowest score above which their own held-out values are within
`TARGET_ERROR` wrong (`ABSTAIN`: shut). `fallback`, also
fitted there, says whether no-model extraction's own values of confidence ≥ 0.9 may fill the
fields the model leaves null. `legible`, fitted on every training page (`legibility`), is the
OCR confidence a value's words need.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from docvlm.anchors import AnchorWord
from docvlm.errors import CheckpointError

from .model import FormModel, FormModelConfig, PageFeatures, page_features, windows

MODEL_TYPE = "docvlm-forms"
CONFIG_FILE, WEIGHTS_FILE, CARD_FILE = "config.json", "model.safetensors", "card.md"
TARGET_ERROR = 0.01
RETURN_CONFIDENCE = 0.9
ABSTAIN = 1.5  # a min_score above every span score: calibration vouched for none
# The least tag score a model of several layouts needs to return a value alone (no-model
# extraction not reading it alike), whatever its held-out layouts say: they are few, and
# on unseen layouts unlike them the model was sure and wrong (check boxes read for their
# neighbour's label at 0.998), while no value both readers read alike was wrong.
SURE_TAG = 1 - TARGET_ERROR / 10
# The least OCR confidence a value's least legible word needs for the model to return the
# value (training raises it where its pages show misreads above it: `legibility`): the tagger
# and no-model extraction read the same OCR words, so neither a sure tag nor their agreement
# catches a misread character. Set on the scanned bench's 168 values at >= 0.9: its 4 wrong
# ones ("ionas" for "jonas"...) had a word under 0.87, 3 of them under 0.85; at 0.9 no value
# was wrong but a one-layout scanned model fell from over 0.65 to 0.58 field exact.
LEGIBLE = 0.85
SHIPPED = Path(__file__).parent / "models"


@dataclass
class Span:
    """Words tagged with one key, and how sure the model is of them."""

    key: str
    words: list[int]
    score: float


@dataclass
class FormTagger:
    """A form model with its keys and calibration, ready to tag pages."""

    model: FormModel
    min_score: float = 0.99
    info: dict[str, Any] | None = None
    agree_score: float = ABSTAIN  # the min_score of values no-model extraction reads alike
    sure_tag: float = 0.0  # the tag score a value alone needs (several layouts)
    fallback: bool = False  # calibration vouched for no-model values where the model abstains
    sure_alike: float | None = None  # `sure_tag` of values that look like another's (None: same)
    legible: float = LEGIBLE  # the OCR confidence a value's words need (`legibility.fit_legible`)
    contest_score: float = ABSTAIN  # the min_score of values no-model extraction gives elsewhere
    key_floors: dict[str, float] = field(default_factory=dict)  # keys held out too often wrong
    labels: dict[str, str] = field(default_factory=dict)  # phrase → key it labels (`labels`)
    label_score: float = ABSTAIN  # the min_score of values under their key's label

    def sure_floor(self, alike: bool) -> float:
        """The tag score a value alone needs: `sure_alike` where it looks like another field's
        value on the page, else `sure_tag`."""
        return self.sure_alike if alike and self.sure_alike is not None else self.sure_tag

    @property
    def keys(self) -> list[str]:
        return self.model.config.keys

    def confidence(self, score: float, agrees: bool = False, labelled: bool = False) -> float:
        """The raw span score mapped so that the calibrated floor reads as RETURN_CONFIDENCE:
        `min_score`, or the lower `agree_score` where no-model extraction read the same value,
        or `label_score` where the value sits under a label of its key's (`labels`); a score
        under the floor stays under RETURN_CONFIDENCE, however close (rounded, 0.99986 under a
        floor of 0.99991 read 0.9 and was returned: 10 dod_character test values)."""
        floor = min(
            self.min_score,
            self.agree_score if agrees else ABSTAIN,
            self.label_score if labelled else ABSTAIN,
        )
        if score >= floor:
            share = (score - floor) / max(1 - floor, 1e-6)
            return round(RETURN_CONFIDENCE + (1 - RETURN_CONFIDENCE) * share, 4)
        return min(round(RETURN_CONFIDENCE * score / max(floor, 1e-6), 4), RETURN_CONFIDENCE - 1e-4)

    @torch.no_grad()
    def tag_probabilities(
        self,
        pages: list[list[AnchorWord]],
        asked: list[Collection[str]] | None = None,
        batch_size: int = 16,
    ) -> list[torch.Tensor]:
        """(N, num_tags) tag probabilities for each page's words, over the keys `asked` of
        that page (its schema's; every key when None). A page longer than the
        model's window is read in overlapping windows; each word keeps the reading of the
        window where it sits farthest from a cut edge."""
        self.model.eval()
        masks = [
            allowed_tags(self.keys, None if asked is None else asked[page])
            for page in range(len(pages))
        ]
        size = self.model.config.max_words
        features = [page_features(words, self.model.config) for words in pages]
        pieces = [
            (page, start, end)
            for page, feature in enumerate(features)
            for start, end in windows(len(feature.lines), size)
        ]
        out = [torch.zeros(len(f.lines), self.model.config.num_tags) for f in features]
        room = [torch.full((len(f.lines),), -1.0) for f in features]
        for first in range(0, len(pieces), batch_size):
            chunk = pieces[first : first + batch_size]
            inputs = batch_features([features[p].window(s, e) for p, s, e in chunk])
            logits = self.model(**inputs)
            for row, (page, start, end) in enumerate(chunk):
                logits[row] = logits[row].masked_fill(~masks[page], -math.inf)
                position = torch.arange(start, end, dtype=torch.float32)
                after = position - start if start > 0 else torch.full_like(position, math.inf)
                before = end - 1 - position if end < len(out[page]) else math.inf
                edge = torch.minimum(after, torch.as_tensor(before).expand_as(after))
                better = edge > room[page][start:end]
                out[page][start:end][better] = logits[row, : end - start][better].softmax(-1)
                room[page][start:end][better] = edge[better]
        return out

    def spans(self, probabilities: torch.Tensor) -> dict[str, list[Span]]:
        """Spans per key from argmax tags: B starts one; I extends the span of the word just
        before it when that word holds the same key, and otherwise starts one."""
        best = probabilities.argmax(-1).tolist()
        found: dict[str, list[Span]] = {}
        scores: dict[int, float] = {}
        for index, tag in enumerate(best):
            if tag == 0:
                continue
            key = self.keys[(tag - 1) // 2]
            previous = best[index - 1] if index else 0
            continues = (
                (tag - 1) % 2 == 1 and previous != 0 and (previous - 1) // 2 == (tag - 1) // 2
            )
            if not continues:
                found.setdefault(key, []).append(Span(key, [], 1.0))
            span = found[key][-1]
            span.words.append(index)
            scores[index] = float(probabilities[index, tag])
            span.score = min(span.score, scores[index])
        for key, spans in found.items():
            if "*" not in key and len(spans) > 1:
                spans.sort(key=lambda s: -s.score)
                spans[0].score *= 1 - spans[1].score
                del spans[1:]
        return found

    def best_span(self, probabilities: torch.Tensor, key: str) -> Span:
        """The key's likeliest span where no word's argmax tag holds it: the word likeliest
        to begin it, extended over the next words while inside it is likelier than beginning
        it anew and at least as likely as the span so far (its score, its least likely tag,
        never drops: outside wins every word of an untagged key)."""
        begin = 1 + 2 * self.keys.index(key)
        start = int(probabilities[:, begin].argmax())
        span = Span(key, [start], float(probabilities[start, begin]))
        for index in range(start + 1, len(probabilities)):
            inside = float(probabilities[index, begin + 1])
            if inside < span.score or inside <= float(probabilities[index, begin]):
                break
            span.words.append(index)
        return span


def allowed_tags(keys: list[str], asked: Collection[str] | None) -> torch.Tensor:
    """(num_tags,) True for O and for the B and I tags of the keys `asked` (all when None).

    A schema says which keys a page can hold: telling the model so turns "which of the 30
    keys is this value" into "which of the schema's 7", and a key no schema asks for never
    takes a value from the key it resembles (monthly rent from an annual income)."""
    mask = torch.ones(1 + 2 * len(keys), dtype=torch.bool)
    if asked is not None:
        for index, key in enumerate(keys):
            mask[1 + 2 * index : 3 + 2 * index] = key in asked
    return mask


def batch_features(features: list[PageFeatures]) -> dict[str, torch.Tensor]:
    """Pad pages to the longest one; `mask` marks real words."""
    length = max(max(len(f.lines) for f in features), 1)
    size = len(features)
    ngrams = torch.full((size, length, features[0].ngrams.shape[1]), -1, dtype=torch.long)
    shapes = torch.zeros((size, length, features[0].shapes.shape[1]))
    boxes = torch.zeros((size, length, 4))
    lines = torch.full((size, length), -1, dtype=torch.long)
    segments = torch.full((size, length), -1, dtype=torch.long)
    mask = torch.zeros((size, length), dtype=torch.bool)
    for row, page in enumerate(features):
        count = len(page.lines)
        ngrams[row, :count], shapes[row, :count], boxes[row, :count] = (
            page.ngrams,
            page.shapes,
            page.boxes,
        )
        lines[row, :count], segments[row, :count] = page.lines, page.segments
        mask[row, :count] = True
    mask[:, 0] = True  # an empty page still attends somewhere
    return {
        "ngrams": ngrams,
        "shapes": shapes,
        "boxes": boxes,
        "lines": lines,
        "segments": segments,
        "mask": mask,
    }


def is_form_model(path: Any) -> bool:
    """Whether `path` names a form-model folder (or a shipped one by name)."""
    if isinstance(path, FormTagger):
        return True
    if not isinstance(path, str | Path):
        return False
    folder = resolve_form_model(path)
    if folder is None:
        return False
    config = json.loads((folder / CONFIG_FILE).read_text())
    return config.get("model_type") == MODEL_TYPE


def resolve_form_model(path: str | Path) -> Path | None:
    """The folder of `path`, or of the shipped model of that name, if it holds a config."""
    for folder in (Path(path), SHIPPED / str(path)):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def load_form_model(path: str | Path | FormTagger) -> FormTagger:
    """The form model in folder `path` (or shipped under that name, e.g. docvlm-forms-tiny)."""
    if isinstance(path, FormTagger):
        return path
    folder = resolve_form_model(path)
    if folder is None:
        raise CheckpointError(f"{path}: no form model here (no {CONFIG_FILE})")
    saved = json.loads((folder / CONFIG_FILE).read_text())
    if saved.get("model_type") != MODEL_TYPE:
        raise CheckpointError(f"{path}: {CONFIG_FILE} is not a {MODEL_TYPE} model")
    model = FormModel(FormModelConfig(**saved["config"]))
    state = {name: tensor.float() for name, tensor in load_file(folder / WEIGHTS_FILE).items()}
    model.load_state_dict(state)
    model.eval()
    agree_score, sure_tag = saved.get("agree_score", ABSTAIN), saved.get("sure_tag", 0.0)
    fallback, sure_alike = saved.get("fallback", False), saved.get("sure_alike")
    contest_score = saved.get("contest_score", ABSTAIN)
    key_floors = saved.get("key_floors", {})
    labels, label_score = saved.get("labels", {}), saved.get("label_score", ABSTAIN)
    return FormTagger(
        model,
        saved["min_score"],
        saved.get("info"),
        agree_score,
        sure_tag,
        fallback,
        sure_alike,
        saved.get("legible", LEGIBLE),
        contest_score,
        key_floors,
        labels,
        label_score,
    )


def save_form_model(tagger: FormTagger, out: str | Path, card: str) -> Path:
    """Write the folder: config with calibration, fp16 weights, and the card."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "model_type": MODEL_TYPE,
        "config": tagger.model.config.to_dict(),
        "min_score": tagger.min_score,
        "agree_score": tagger.agree_score,
        "sure_tag": tagger.sure_tag,
        "fallback": tagger.fallback,
        "sure_alike": tagger.sure_alike,
        "legible": tagger.legible,
        "contest_score": tagger.contest_score,
        "key_floors": tagger.key_floors,
        "labels": tagger.labels,
        "label_score": tagger.label_score,
        "info": tagger.info,
    }
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n")
    state = {name: t.detach().half().contiguous() for name, t in tagger.model.state_dict().items()}
    save_file(state, out / WEIGHTS_FILE)
    (out / CARD_FILE).write_text(card)
    return out
