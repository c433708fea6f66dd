"""The generative loop learns an anchored toy form: `finetune --preset tiny` reads the anchors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from docvlm.finetune.builders import synth_forms
from docvlm.finetune.evaluate import aggregate, predict, score_example
from docvlm.finetune.manifest import read_manifest
from docvlm.finetune.modeling import load_for_inference
from docvlm.finetune.train import TrainConfig, train
from docvlm.model.configuration_docvlm import PRESETS

STEPS = 1500


@pytest.mark.slow
def test_tiny_generative_model_copies_values_from_the_anchors(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    train_manifest = synth_forms(tmp_path / "train", 400, ("toy",), seed=1, anchors="text")
    test_manifest = synth_forms(tmp_path / "test", 30, ("toy",), seed=2, anchors="text")
    tiny = PRESETS["tiny"]()
    overrides = {  # 128 px pages: 4 visual tokens; the values are in the anchors
        "vision_config": {**tiny["vision_config"], "image_size": 128},
        "clip_config": {**tiny["clip_config"], "image_size": 28},
    }
    train(TrainConfig(train=train_manifest, out=tmp_path / "model", preset="tiny",
                      preset_overrides=overrides, max_steps=STEPS, lr=3e-3, batch_size=8,
                      schedule="cosine", warmup_steps=20, render_size=128, max_length=512,
                      system_turn=False, progress=False))  # fmt: skip
    model, processor = load_for_inference(tmp_path / "model")
    examples = read_manifest(test_manifest)
    predictions = predict(model, processor, examples, batch_size=10, max_new_tokens=48,
                          render_size=128)  # fmt: skip
    scored = [score_example(p, e.target) for p, e in zip(predictions, examples, strict=True)]
    accuracy = aggregate(scored)
    prior = prior_accuracy(read_manifest(train_manifest), examples)
    assert accuracy["field_accuracy"] >= 0.6 and accuracy["field_accuracy"] > 3 * prior, (
        accuracy,
        prior,
        predictions[:3],
    )


def prior_accuracy(train_examples, test_examples) -> float:
    """Field accuracy of answering each field with its commonest training value."""
    counts: dict[str, Counter] = {}
    for example in train_examples:
        for key, value in example.target.items():
            counts.setdefault(key, Counter())[value] += 1
    hits = [counts[k].most_common(1)[0][0] == v for e in test_examples for k, v in e.target.items()]
    return sum(hits) / len(hits)
