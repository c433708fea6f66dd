from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
import pytest

from docvlm.batch import MANIFEST_NAME, collect_inputs, run_batch
from tests.test_pipeline import RecordingEngine

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).open()]


def test_collect_inputs_walks_safely(tmp_path):
    root = tmp_path / "docs"
    (root / "a" / "deep").mkdir(parents=True)
    shutil.copy(SAMPLES / "report.pdf", root / "a" / "deep" / "x.pdf")
    shutil.copy(SAMPLES / "invoice.pdf", root / "x.PDF")
    shutil.copy(SAMPLES / "invoice.pdf", root / "x.png")  # same stem as x.PDF: names keep suffixes
    (root / "readme.txt").write_text("skip me")
    os.symlink(root, root / "a" / "loop")  # a symlink loop back to the top
    weird = os.fsencode(root) + b"/caf\xe9.pdf"  # a file name that is not UTF-8
    with open(weird, "wb") as handle:
        handle.write((SAMPLES / "report.pdf").read_bytes())

    items = collect_inputs([root])
    stems = sorted(str(i.output_stem) for i in items)
    assert len(items) == 4
    assert "a/deep/x" in stems and "x.PDF" in stems and "x.png" in stems
    assert any(s.startswith("caf") for s in stems)


def test_resume_skips_done_pages_and_force_redoes_them(tmp_path):
    engine = RecordingEngine("text")
    options = {"engine": "text", "engines": {"text": engine}}
    items = collect_inputs([SAMPLES / "report.pdf", SAMPLES / "invoice.pdf"])
    run_batch(items, tmp_path, options)
    first = (tmp_path / "report.md").read_text()
    assert len(engine.batches) == 3

    run_batch(items, tmp_path, options)
    assert len(engine.batches) == 3  # nothing parsed again
    assert (tmp_path / "report.md").read_text() == first
    rows = _manifest(tmp_path)
    assert len(rows) == 3 and len({(r["input"], r["page"]) for r in rows}) == 3

    run_batch(items, tmp_path, options, force=True)
    assert len(engine.batches) == 6
    assert len(_manifest(tmp_path)) == 3


def test_changed_options_or_content_are_not_reused(tmp_path):
    engine = RecordingEngine("text")
    items = collect_inputs([SAMPLES / "report.pdf"])
    run_batch(items, tmp_path, {"engine": "text", "engines": {"text": engine}})
    run_batch(items, tmp_path, {"engine": "text", "size": 1280, "engines": {"text": engine}})
    assert len(engine.batches) == 4


def test_unreadable_inputs_get_a_manifest_row(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "report.pdf", folder / "good.pdf")
    os.symlink(tmp_path / "missing.pdf", folder / "dangling.pdf")
    outcomes = run_batch(collect_inputs([folder]), tmp_path / "out", {"engine": "text"})
    errors = {o.input.path.name: o.errors for o in outcomes}
    assert errors["good.pdf"] == []
    assert "cannot read" in errors["dangling.pdf"][0]
    kinds = {Path(r["input"]).name: r["error_kind"] for r in _manifest(tmp_path / "out")}
    assert kinds["dangling.pdf"] == "unreadable"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_permission_denied(tmp_path):
    path = tmp_path / "locked.pdf"
    shutil.copy(SAMPLES / "report.pdf", path)
    path.chmod(0)
    outcome = run_batch(collect_inputs([path]), tmp_path / "out", {"engine": "text"})[0]
    assert "cannot read" in outcome.errors[0]


def test_workers_give_the_same_outputs(tmp_path):
    items = collect_inputs([SAMPLES / "report.pdf", SAMPLES / "invoice.pdf", SAMPLES / "mixed.pdf"])
    run_batch(items, tmp_path / "one", {"engine": "text"})
    run_batch(items, tmp_path / "two", {"engine": "text"}, workers=2)
    for name in ("report.md", "invoice.md", "mixed.md"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()
    assert len(_manifest(tmp_path / "two")) == 5


@pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork", reason="the crash is planted before forking"
)
def test_a_crashed_worker_costs_one_document_and_the_batch_goes_on(tmp_path, monkeypatch):
    import docvlm.batch.pool as pool

    inbox = tmp_path / "in"
    inbox.mkdir()
    for name in ("a.pdf", "crash.pdf", "b.pdf", "c.pdf"):
        shutil.copy(SAMPLES / "report.pdf", inbox / name)
    parse = pool.parse_input

    def crash_on_one(parser, item, *args, **kwargs):
        if item.path.name == "crash.pdf":
            os._exit(9)  # as a worker killed for memory or crashed in native code dies
        return parse(parser, item, *args, **kwargs)

    monkeypatch.setattr(pool, "parse_input", crash_on_one)
    outcomes = run_batch(collect_inputs([inbox]), tmp_path / "out", {"engine": "text"}, workers=2)
    errors = {o.input.path.name: o.errors for o in outcomes}
    assert sorted(errors) == ["a.pdf", "b.pdf", "c.pdf", "crash.pdf"]
    assert errors["a.pdf"] == errors["b.pdf"] == errors["c.pdf"] == []
    assert "worker process died" in errors["crash.pdf"][0]
    assert {p.name for p in (tmp_path / "out").glob("*.md")} == {"a.md", "b.md", "c.md"}
    [row] = [r for r in _manifest(tmp_path / "out") if r["input"].endswith("crash.pdf")]
    assert row["error_kind"] == "worker_crashed"


def _docvlm(*args) -> list[str]:
    return [sys.executable, "-m", "docvlm.cli", *map(str, args)]


def test_kill_and_resume_gives_complete_outputs(tmp_path):
    # A text page parses in ~6 ms: enough documents that the run outlasts the poll below by
    # far (24 were all done before the kill on a fast, otherwise busy CI run).
    documents = 120
    inbox = tmp_path / "in"
    inbox.mkdir()
    for index in range(documents):
        shutil.copy(SAMPLES / "report.pdf", inbox / f"doc{index:03d}.pdf")
    reference = subprocess.run(_docvlm("parse", inbox, "-o", tmp_path / "ref", "-q"), timeout=600)
    assert reference.returncode == 0

    out = tmp_path / "out"
    process = subprocess.Popen(_docvlm("parse", inbox, "-o", out, "-q"))
    deadline = time.time() + 120
    while time.time() < deadline:
        manifest = out / MANIFEST_NAME
        if manifest.exists() and manifest.read_text().count("\n") >= 6:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(list(out.glob("*.md")))
    assert done_before < documents, "the run finished before it could be killed"

    rerun = subprocess.run(_docvlm("parse", inbox, "-o", out, "-q"), timeout=600)
    assert rerun.returncode == 0
    for reference_file in sorted((tmp_path / "ref").glob("*.md")):
        assert (out / reference_file.name).read_text() == reference_file.read_text()
    rows = _manifest(out)
    keys = [(r["input"], r["page"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * documents  # report.pdf has two pages
    assert not list(out.rglob(".*.docvlm-tmp"))


@pytest.mark.slow
def test_500_page_pdf_stays_under_1_gib(tmp_path):
    pdf = pymupdf.open()
    source = pymupdf.open(SAMPLES / "report.pdf")
    for _ in range(250):
        pdf.insert_pdf(source)
    pdf.save(tmp_path / "long.pdf")
    code = (
        "import resource, docvlm; d = docvlm.Parser(engine='text');"
        f"n = sum(1 for _ in d.iter_pages({str(tmp_path / 'long.pdf')!r}));"
        "print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    pages, max_rss_kib = map(int, result.stdout.split())
    assert pages == 500
    assert max_rss_kib < 1024 * 1024


@pytest.mark.slow
def test_ray_local_instance_writes_the_same_outputs(tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        items = collect_inputs([SAMPLES / "report.pdf", SAMPLES / "invoice.pdf", SAMPLES / "x.pdf"])
        run_batch(items, tmp_path / "local", {"engine": "text"})
        outcomes = run_batch(
            items, tmp_path / "ray", {"engine": "text"}, ray_address="local", workers=2
        )
    finally:
        ray.shutdown()
    errors = {o.input.path.name: o.errors for o in outcomes}
    assert errors["report.pdf"] == errors["invoice.pdf"] == []
    assert "cannot read" in errors["x.pdf"][0]
    for name in ("report.md", "invoice.md"):
        assert (tmp_path / "ray" / name).read_text() == (tmp_path / "local" / name).read_text()
    rows = _manifest(tmp_path / "ray")
    assert sorted((Path(r["input"]).name, r["page"] or 0) for r in rows) == [
        ("invoice.pdf", 1),
        ("report.pdf", 1),
        ("report.pdf", 2),
        ("x.pdf", 0),
    ]


def test_temp_files_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / "sub").mkdir()
    stale = tmp_path / "sub" / ".report.md.abc123.docvlm-tmp"
    stale.write_text("half a docu")
    keep = tmp_path / ".notes.tmp"
    keep.write_text("not ours")
    run_batch(collect_inputs([SAMPLES / "report.pdf"]), tmp_path, {"engine": "text"})
    assert not stale.exists() and keep.exists()


def test_vlm_batches_span_documents_and_match_single_page_runs(tmp_path):
    items = collect_inputs(
        [SAMPLES / "invoice.pdf", SAMPLES / "report.pdf", SAMPLES / "x.pdf", SAMPLES / "mixed.pdf"]
    )
    batched = RecordingEngine("vlm")
    outcomes = run_batch(
        items, tmp_path / "batched", {"engine": "vlm", "batch_size": 4, "engines": {"vlm": batched}}
    )
    # Four documents form one group; its five pages go out as a batch of four, then one.
    assert batched.batches == [[1, 1, 2, 1], [2]]
    assert "cannot read" in outcomes[2].errors[0]
    single = RecordingEngine("vlm")
    run_batch(items, tmp_path / "single", {"engine": "vlm", "engines": {"vlm": single}})
    assert single.batches == [[1], [1], [2], [1], [2]]
    for name in ("invoice.md", "report.md", "mixed.md"):
        batched_text = (tmp_path / "batched" / name).read_text()
        assert batched_text == (tmp_path / "single" / name).read_text()
    assert len(_manifest(tmp_path / "batched")) == len(_manifest(tmp_path / "single")) == 6

    run_batch(
        items, tmp_path / "batched", {"engine": "vlm", "batch_size": 4, "engines": {"vlm": batched}}
    )
    assert len(batched.batches) == 2  # resumed: every page came from the cache
