"""The shipped base form model docvlm-forms-tiny: it loads by name and reads its kind of form."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import docvlm
from cli.app import app
from docvlm.errors import DocVLMError
from docvlm.finetune.builders import synth_forms
from docvlm.finetune.synth import form_schema, synth_form
from docvlm.forms.tagger import SHIPPED, is_form_model, load_form_model
from docvlm.forms.train import FieldsConfig, train_fields
from docvlm.metrics import field_scores

BASE = "docvlm-forms-tiny"


def test_base_resolves_by_name_within_size() -> None:
    assert is_form_model(BASE)
    tagger = load_form_model(BASE)
    assert "/date_of_birth" in tagger.keys and 0.5 <= tagger.min_score < 1
    size = sum(path.stat().st_size for path in (SHIPPED / BASE).iterdir())
    assert size <= 15 * 2**20
    card = (SHIPPED / BASE / "card.md").read_text()
    assert "docvlm dataset synth-forms" in card and "docvlm finetune --task fields" in card


def test_base_smoke_extraction_reads_a_template_it_knows() -> None:
    correct = expected = 0
    for seed in (101, 102):
        form = synth_form("t7", seed)
        result = docvlm.extract(form.pdf, form_schema("t7"), model=BASE)
        scores = field_scores({k: v for k, v in result.data.items() if v is not None}, form.values)
        correct, expected = correct + scores.correct, expected + scores.expected
        assert all(found.source == "form-model" for found in result.fields.values())
    # The prior (commonest value per field) gets none of these names, numbers and addresses.
    assert correct / expected >= 0.4, (correct, expected)


def test_mix_base_replays_the_bases_own_templates(tmp_path: Path) -> None:
    train = synth_forms(tmp_path / "mine", 12, ("application",), seed=3, anchors="auto")
    out = tmp_path / "tuned"
    result = train_fields(
        FieldsConfig(train=train, out=out, model=BASE, max_minutes=0.01, mix_base=0.5)
    )
    assert result.report["replay_rows"] == 6
    tuned = load_form_model(out)
    assert tuned.info["replay"] == load_form_model(BASE).info["replay"]  # replayable again
    assert "replayed base forms (mix_base 0.5): 6" in (out / "card.md").read_text()
    with pytest.raises(DocVLMError, match="--mix-base"):
        train_fields(FieldsConfig(train=train, out=tmp_path / "x", max_minutes=0.01, mix_base=1))


def test_cli_fields_start_from_the_base_unless_told(tmp_path: Path) -> None:
    train = synth_forms(tmp_path / "mine", 4, ("application",), seed=4, anchors="auto")
    for start, expected in ((None, BASE), ("none", "random init")):
        out = tmp_path / f"model-{start}"
        args = ["finetune", "--task", "fields", "--train", str(train), "--out", str(out)]
        args += ["--max-minutes", "0.01"] + (["--model", start] if start else [])
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 0, done.output
        assert f"start: {expected};" in (out / "card.md").read_text()
        # A claim-form key only the base knows: kept from it, absent from random init.
        assert ("/police_report" in load_form_model(out).keys) == (start is None)


def test_reading_the_pages_is_not_taken_from_the_training_budget(tmp_path, monkeypatch) -> None:
    # Reading scans (OCR in this process) can take longer than the whole budget; the model
    # must still train for its minutes.
    import docvlm.forms.train as train_module

    read, fit, budgets = train_module.read_pages, train_module._fit, []

    def slow_read(*args, **kwargs):
        started = time.process_time()
        while time.process_time() - started < 3.0:
            pass
        return read(*args, **kwargs)

    def fit_seen(model, pages, config, rng, budget):
        budgets.append(budget)
        return fit(model, pages, config, rng, budget)

    monkeypatch.setattr(train_module, "read_pages", slow_read)
    monkeypatch.setattr(train_module, "_fit", fit_seen)
    train = synth_forms(tmp_path / "mine", 6, ("application",), seed=4, anchors="auto")
    config = FieldsConfig(train=train, out=tmp_path / "m", model=None, max_minutes=0.05)
    assert train_fields(config).report["prepare_cpu_seconds"] >= 3.0
    assert budgets[0] >= 2.0  # its 3 s less calibration's share, not what reading left
