from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.badinputs import broken_xref_pdf, write_bad_inputs

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def docvlm(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "docvlm.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_parse_one_file_to_stdout():
    result = docvlm("parse", SAMPLES / "report.pdf")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Document Understanding at Scale\n")
    assert "| Engine | Pages |" in result.stdout
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_parse_to_a_file_and_json_validates_against_the_schema(tmp_path):
    out = tmp_path / "report.json"
    result = docvlm("parse", SAMPLES / "report.pdf", "-o", out, "--format", "json", "--pages", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    document = json.loads(out.read_text())
    schema = json.loads(docvlm("schema").stdout)
    jsonschema.validate(document, schema)
    assert [p["number"] for p in document["pages"]] == [2]
    assert not list(tmp_path.rglob(".*.docvlm-tmp"))  # atomic write left no temp file


def test_parse_a_directory_writes_one_output_per_input(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "report.pdf", inbox / "report.pdf")
    shutil.copy(SAMPLES / "invoice.pdf", inbox / "sub" / "invoice.pdf")
    (inbox / "notes.txt").write_text("not a document: skipped when walking a folder")
    result = docvlm("parse", inbox, "-o", tmp_path / "out", "--format", "html", "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "out" / "sub" / "invoice.html").exists()
    rows = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").open()]
    assert sorted((Path(r["input"]).name, r["page"]) for r in rows) == [
        ("invoice.pdf", 1),
        ("report.pdf", 1),
        ("report.pdf", 2),
    ]
    assert all(r["status"] == "ok" and r["engine"] == "text" for r in rows)


def test_bad_inputs_fail_alone_with_one_line_each(tmp_path):
    folder = tmp_path / "in"
    bad = write_bad_inputs(folder)
    shutil.copy(SAMPLES / "report.pdf", folder / "good.pdf")
    (folder / "repaired.pdf").write_bytes(broken_xref_pdf())
    with open(os.fsencode(folder) + b"/r\xe9sum\xe9.pdf", "wb") as handle:  # not UTF-8
        handle.write((SAMPLES / "invoice.pdf").read_bytes())
    os.symlink(folder, folder / "loop")  # a symlink loop: walked once
    os.symlink(tmp_path / "gone.pdf", folder / "dangling.pdf")  # unreadable
    bad["dangling.pdf"] = folder / "dangling.pdf"

    result = docvlm("parse", folder, "-o", tmp_path / "out")
    assert result.returncode == 1
    *lines, summary = result.stderr.strip().splitlines()
    [warning] = [line for line in lines if line.startswith("docvlm: warning:")]
    assert "repaired.pdf" in warning and "repaired by MuPDF" in warning  # once, not per page
    lines.remove(warning)
    assert len(lines) == len(bad) and all(line.startswith("docvlm: error: ") for line in lines)
    # 11 files, 7 of which never open; huge_page.pdf opens but its one page fails.
    assert summary.startswith("docvlm: 11 files (7 failed), 5 pages: 4 ok, 0 fallback, 1 error; ")
    expected = {
        "empty.pdf": "empty",
        "truncated.pdf": "corrupt",
        "encrypted.pdf": "--password",
        "not_a_pdf.pdf": "not a PDF",
        "zero_pages.pdf": "no pages",
        "bomb.png": "pixel limit",
        "huge_page.pdf": "200×200 in",
        "dangling.pdf": "cannot read",
    }
    for name, fragment in expected.items():
        assert any(name in line and fragment in line for line in lines), (name, lines)
    assert "Document Understanding" in (tmp_path / "out" / "good.md").read_text()
    assert "INV-2024-0173" in next((tmp_path / "out").glob("r*sum*.md")).read_text()
    rows = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").open()]
    by_name = {Path(r["input"]).name: r for r in rows}
    # One row per page (good.pdf has two), nothing walked twice through the loop.
    assert len(by_name) == len(bad) + 3 and len(rows) == len(bad) + 4
    assert by_name["good.pdf"]["status"] == "ok"
    assert all(by_name[name]["status"] == "error" for name in bad)
    assert by_name["repaired.pdf"]["status"] == "ok"
    assert "repaired" in by_name["repaired.pdf"]["warnings"][0]


def test_folder_run_summarises_respects_the_umask_and_refuses_a_file_output(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SAMPLES / "report.pdf", inbox / "report.pdf")
    shutil.copy(SAMPLES / "invoice.pdf", inbox / "invoice.pdf")
    result = subprocess.run(
        [sys.executable, "-m", "docvlm.cli", "parse", str(inbox), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(0o027),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [summary] = result.stderr.splitlines()  # piped: no progress bar, just the summary
    assert summary.startswith("docvlm: 2 files, 3 pages: 3 ok, 0 fallback, 0 error; ")
    assert summary.endswith(" s")
    modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "out").iterdir()}
    assert modes["report.md"] == modes["manifest.jsonl"] == 0o640
    quiet = docvlm("parse", inbox, "-o", tmp_path / "quiet", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    refused = docvlm(
        "parse", inbox / "report.pdf", inbox / "invoice.pdf", "-o", tmp_path / "two.md"
    )
    message = " ".join(refused.stderr.replace("│", " ").split())  # typer wraps it in a box
    assert refused.returncode == 2 and "give -o a folder" in message
    assert not (tmp_path / "two.md").exists()


def test_a_repaired_pdf_warns_once_on_stderr(tmp_path):
    (tmp_path / "repaired.pdf").write_bytes(broken_xref_pdf())
    result = docvlm("parse", tmp_path / "repaired.pdf")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"docvlm: warning: {tmp_path / 'repaired.pdf'}: damaged PDF (broken xref) was repaired "
        "by MuPDF"
    ]


def test_encrypted_pdf_with_the_right_password(tmp_path):
    path = write_bad_inputs(tmp_path)["encrypted.pdf"]
    result = docvlm("parse", path, "--password", "secret")
    assert result.returncode == 0, result.stderr
    assert "born-digital page" in result.stdout
    wrong = docvlm("parse", path, "--password", "guess")
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["parse", "x.pdf", "--format", "xml"],
        ["parse", "a.pdf", "b.pdf"],
        ["parse", "a.pdf", "b.pdf", "-o", "two.md"],
        ["parse", "x.pdf", "--engine", "vlm"],
        ["parse", "x.pdf", "--pages"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args):
    assert docvlm(*args).returncode == 2


def test_help_has_examples_and_info_lists_engines():
    assert "Examples" in docvlm("parse", "--help").stdout
    info = docvlm("info")
    assert info.returncode == 0
    assert "tesseract" in info.stdout and "rapidocr" in info.stdout and "torch" in info.stdout


def test_extract_end_to_end(tmp_path):
    schema = {
        "type": "object",
        "properties": {
            "invoice_number": {"type": "string"},
            "invoice_date": {"type": "string", "format": "date"},
            "paid": {"type": "boolean"},
        },
        "required": ["invoice_number", "invoice_date", "paid"],
    }
    (tmp_path / "s.json").write_text(json.dumps(schema))
    out = tmp_path / "out.json"
    result = docvlm("extract", SAMPLES / "invoice.pdf", "--schema", tmp_path / "s.json", "-o", out)
    assert result.returncode == 0, result.stderr
    extracted = json.loads(out.read_text())
    expected = json.loads((SAMPLES / "expected" / "invoice.json").read_text())
    assert extracted["data"] == {k: expected[k] for k in schema["properties"]}
    jsonschema.validate(extracted["data"], schema)
    field = extracted["fields"]["/invoice_number"]
    assert field["page"] == 1 and field["source"] == "text" and len(field["bbox"]) == 4


@pytest.mark.parametrize(
    "schema_text",
    ['{"type": "object", "properties": {"a": {"type": "strnig"}}}', "[1, 2]", "not json"],
)
def test_extract_bad_schema_exits_2(tmp_path, schema_text):
    (tmp_path / "s.json").write_text(schema_text)
    result = docvlm("extract", SAMPLES / "invoice.pdf", "--schema", tmp_path / "s.json")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_extract_min_confidence_out_of_range_exits_2(tmp_path):
    (tmp_path / "s.json").write_text('{"type": "object", "properties": {"a": {"type": "string"}}}')
    schema = tmp_path / "s.json"
    result = docvlm("extract", SAMPLES / "invoice.pdf", "-s", schema, "--min-confidence", "1.5")
    assert result.returncode == 2 and "--min-confidence" in result.stderr


def test_layout_ranges_spell_out_templates_and_their_restyled_forms():
    from docvlm.cli.finetune import _layouts

    assert _layouts("t0-t2,v3-v4,claim") == ("t0", "t1", "t2", "v3", "v4", "claim")
