"""The form model: trained from (document, JSON) rows, it fills a schema with provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import docvlm
from cli.app import app
from docvlm.finetune.builders import synth_forms
from docvlm.finetune.evaluate import prior_accuracy
from docvlm.finetune.manifest import read_manifest
from docvlm.finetune.synth import form_schema
from docvlm.forms.evaluate import evaluate_fields
from docvlm.forms.tagger import is_form_model, load_form_model
from docvlm.forms.train import FieldsConfig, train_fields
from docvlm.metrics import field_scores

LAYOUT = "t3"
# Training for half a CPU-minute is the point of the first test; the others reuse that model.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("fields")
    train = synth_forms(root / "train", 40, (LAYOUT,), seed=1, anchors="auto")
    test = synth_forms(root / "test", 8, (LAYOUT,), seed=2, anchors="auto")
    out = root / "model"
    # A step budget (150 passes, ~700 steps), not a time one: a busy machine must not starve it.
    train_fields(FieldsConfig(train=train, out=out, epochs=150, lr=5e-3))
    return train, test, out


def _accuracy(manifest: Path, model) -> float:
    correct = expected = 0
    for example in read_manifest(manifest):
        result = docvlm.extract(example.pdf, form_schema(LAYOUT), model=model)
        scores = field_scores(result.data, example.target)
        correct, expected = correct + scores.correct, expected + scores.expected
    return correct / expected


def _prior(train: Path, test: Path) -> float:
    return prior_accuracy(read_manifest(train), read_manifest(test))


def test_learns_a_layout_far_above_the_prior(trained) -> None:
    train, test, model = trained
    accuracy, prior = _accuracy(test, model), _prior(train, test)
    assert accuracy >= 0.9 and accuracy > prior + 0.5, (accuracy, prior)


def test_values_carry_page_box_and_calibrated_confidence(trained) -> None:
    _, test, model = trained
    example = read_manifest(test)[0]
    result = docvlm.extract(example.pdf, form_schema(LAYOUT), model=model)
    assert result.fields, "no field answered"
    for found in result.fields.values():
        assert found.page == 1 and found.source == "form-model"
        assert 0.9 <= found.confidence <= 1.0
        x0, y0, x1, y1 = found.bbox
        assert 0 <= x0 < x1 <= 612 and 0 <= y0 < y1 <= 792
    card = (model / "card.md").read_text()
    assert "docvlm finetune --task fields" in card and "calibration" in card


def test_a_key_the_model_never_learned_is_null_with_a_warning(trained) -> None:
    _, test, model = trained
    schema = form_schema(LAYOUT)
    schema["properties"]["passport_number"] = {"type": ["string", "null"]}
    result = docvlm.extract(read_manifest(test)[0].pdf, schema, model=model)
    assert result.data["passport_number"] is None
    reasons = {w["pointer"]: w["message"] for w in result.warnings}
    assert "never learned" in reasons["/passport_number"]


def test_cli_trains_and_extracts(tmp_path: Path, trained) -> None:
    train, test, _ = trained
    runner = CliRunner()
    out = tmp_path / "cli-model"
    done = runner.invoke(
        app,
        [
            "finetune",
            "--task",
            "fields",
            "--train",
            str(train),
            "--out",
            str(out),
            "--max-minutes",
            "0.05",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "values aligned" in done.output and is_form_model(out)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(form_schema(LAYOUT)))
    example = read_manifest(test)[0]
    extracted = runner.invoke(
        app, ["extract", str(example.pdf), "--schema", str(schema), "--model", str(out)]
    )
    assert extracted.exit_code in (0, 1), extracted.output
    written = json.loads(extracted.stdout)
    assert {f["source"] for f in written["fields"].values()} <= {"form-model"}


def test_fine_tuning_from_a_model_keeps_its_keys(tmp_path: Path, trained) -> None:
    _, _, base = trained
    other = synth_forms(tmp_path / "other", 12, ("t1",), seed=3, anchors="auto")
    out = tmp_path / "tuned"
    train_fields(FieldsConfig(train=other, out=out, model=str(base), max_minutes=0.05))
    keys = load_form_model(out).keys
    assert keys[: len(load_form_model(base).keys)] == load_form_model(base).keys
    assert set(keys) > set(load_form_model(base).keys)


def test_eval_reports_precision_and_recall_per_field(trained) -> None:
    _, test, model = trained
    done = CliRunner().invoke(app, ["eval", "--manifest", str(test), "--model", str(model)])
    assert done.exit_code == 0, done.output
    assert "/amount\tprecision" in done.output and "field_recall" in done.output
    report = evaluate_fields(test, model)
    assert report["metrics"]["field_exact"] >= 0.9
    assert all(
        0 <= s["precision"] <= 1 and 0 <= s["recall"] <= 1 for s in report["per_field"].values()
    )


def test_scanned_forms_close_the_loop_with_ocr_anchors(tmp_path: Path) -> None:
    runner = CliRunner()
    for name, n, seed in (("train", 24, 5), ("test", 4, 6)):
        done = runner.invoke(
            app,
            [
                "dataset",
                "synth-forms",
                "--out",
                str(tmp_path / name),
                "--n",
                str(n),
                "--layouts",
                LAYOUT,
                "--scanned",
                "1",
                "--anchors",
                "auto",
                "--seed",
                str(seed),
            ],
        )
        assert done.exit_code == 0, done.output
    rows = read_manifest(tmp_path / "train" / "manifest.jsonl")
    assert {row.anchors for row in rows} == {"ocr"}
    model = tmp_path / "model"
    done = runner.invoke(
        app,
        [
            "finetune",
            "--task",
            "fields",
            "--train",
            str(tmp_path / "train" / "manifest.jsonl"),
            "--out",
            str(model),
            "--epochs",
            "150",
            "--lr",
            "5e-3",
        ],
    )
    assert done.exit_code == 0, done.output
    report = evaluate_fields(tmp_path / "test" / "manifest.jsonl", model)
    prior = _prior(tmp_path / "train" / "manifest.jsonl", tmp_path / "test" / "manifest.jsonl")
    assert report["metrics"]["field_exact"] > prior + 0.4, (report["metrics"], prior)
