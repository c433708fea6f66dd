"""`docvlm eval` scoring, aggregation, regression tables, and the fine-tuning CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from docvlm.cli.app import app
from docvlm.finetune.evaluate import (
    aggregate,
    compare,
    metrics_table,
    parse_json_prediction,
    score_example,
)

TABLE = "| Item | Qty |\n|---|---|\n| Paper | 2 |\n| Toner | 1 |"


def test_json_target_scores_fields() -> None:
    target = {"name": "Aiko Patel", "amount": "26,195.44", "filed": True}
    scores = score_example('{"name": "AIKO PATEL", "amount": 26195.44, "filed": false}', target)
    assert scores["json_valid"] == 1.0
    assert (scores["correct"], scores["expected"]) == (2, 3)
    assert scores["exact_match"] == 0.0


def test_unparseable_json_scores_zero_fields() -> None:
    scores = score_example('{"name": "Aiko', {"name": "Aiko"})
    assert scores["json_valid"] == 0.0 and scores["correct"] == 0 and scores["predicted"] == 0


def test_json_is_found_inside_chatter() -> None:
    assert parse_json_prediction('Here: {"a": 1} done') == {"a": 1}
    assert parse_json_prediction("no json") is None


def test_text_target_with_table_gets_teds() -> None:
    perfect = score_example(f"Invoice\n\n{TABLE}", f"Invoice\n\n{TABLE}")
    assert perfect["cer"] == 0.0 and perfect["teds"] == 1.0
    no_table = score_example("Invoice", f"Invoice\n\n{TABLE}")
    assert no_table["teds"] == 0.0 and no_table["cer"] > 0.5
    plain = score_example("helo world", "hello world")
    assert "teds" not in plain and plain["wer"] == 0.5


def test_aggregate_micro_averages_fields() -> None:
    per_example = [
        score_example('{"a": "1", "b": "2"}', {"a": "1", "b": "2"}),
        score_example('{"a": "9"}', {"a": "1", "b": "2", "c": "3", "d": "4"}),
    ]
    metrics = aggregate(per_example)
    assert metrics["field_accuracy"] == pytest.approx(2 / 6)
    assert metrics["field_precision"] == pytest.approx(2 / 3)
    assert metrics["exact_match"] == 0.5
    assert "correct" not in metrics


def test_compare_flags_regressions_by_direction() -> None:
    baseline = {"metrics": {"field_f1": 0.80, "cer": 0.10, "teds": 0.9}}
    candidate = {"metrics": {"field_f1": 0.85, "cer": 0.20, "teds": 0.9}}
    rows = {line.split()[0]: line for line in compare(baseline, candidate).splitlines()[1:]}
    assert rows["field_f1"].endswith("better")
    assert rows["cer"].endswith("REGRESSED")  # CER went up: worse
    assert rows["teds"].endswith("same")
    assert "field_f1" in metrics_table(candidate["metrics"])


@pytest.mark.slow
def test_cli_synth_train_eval_compare_export(tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run("dataset", "synth-text", "--out", str(tmp_path / "text"), "--n", "4",
        "--width", "128", "--height", "64", "--max-chars", "6", "--font-px", "12,14",
        "--fonts", "helv,cour", "--glyphs")  # fmt: skip
    manifest = str(tmp_path / "text" / "manifest.jsonl")
    rows = [json.loads(line) for line in Path(manifest).read_text().splitlines()]
    heights = [(g[4] - g[2]) * 64 for row in rows for g in row["glyphs"]]
    assert max(heights) <= 20  # 12–14 px fonts
    bad = runner.invoke(app, ["dataset", "synth-text", "--out", str(tmp_path), "--font-px", "9"])
    assert bad.exit_code == 1 and "--font-px" in bad.output
    bad = runner.invoke(app, ["dataset", "synth-text", "--out", str(tmp_path), "--fonts", "x.ttf"])
    assert bad.exit_code == 1 and "unknown font x.ttf" in bad.output
    run("finetune", "--train", manifest, "--preset", "tiny", "--out", str(tmp_path / "model"),
        "--max-steps", "2", "--batch-size", "2", "--lr", "1e-3", "--glyph-weight", "1",
        "--no-system-turn")  # fmt: skip
    assert (tmp_path / "model" / "training_card.json").is_file()
    log = [json.loads(line) for line in (tmp_path / "model" / "train_log.jsonl").open()]
    assert all(record["glyph_loss"] > 0 for record in log)
    processor_config = json.loads((tmp_path / "model" / "processor_config.json").read_text())
    assert processor_config["system_prompt"] == ""
    dual = runner.invoke(app, ["finetune", "--train", manifest, "--model", str(tmp_path / "model"),
                               "--out", str(tmp_path / "m2"), "--image-size", "512"])  # fmt: skip
    assert dual.exit_code == 1 and "CLIP" in dual.output
    forms = tmp_path / "forms"
    run("dataset", "synth-forms", "--out", str(forms), "--n", "1", "--layouts", "claim",
        "--png", "270", "--crop", "40,40,580,340", "--glyphs")  # fmt: skip
    row = json.loads((forms / "manifest.jsonl").read_text())
    assert Image.open(forms / row["image"]).size == (270, 150) and row["glyphs"]
    bad = runner.invoke(app, ["dataset", "synth-forms", "--out", str(forms), "--crop", "1,2,3"])
    assert bad.exit_code == 1 and "--crop" in bad.output
    report = tmp_path / "report.json"
    table = run("eval", "--manifest", manifest, "--model", str(tmp_path / "model"),
                "--report", str(report), "--max-new-tokens", "4")  # fmt: skip
    assert "cer" in table
    saved = json.loads(report.read_text())
    assert saved["examples"] == 4 and len(saved["per_example"]) == 4
    assert "same" in run("eval", "--compare", str(report), str(report))
    out = run("dataset", "export", manifest, "--out", str(tmp_path / "x.jsonl"), "--format", "trl")
    assert "x.jsonl" in out

    missing = runner.invoke(app, ["eval", "--manifest", manifest, "--model", str(tmp_path)])
    assert missing.exit_code == 1 and "config.json" in missing.output
