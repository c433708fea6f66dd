"""`docvlm serve --model DIR`: the VLM loads once at start-up and answers as the CLI does."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests.serving import running_server
from tests.test_vlm import REPORT_TEXT, light_page, reader_dir  # noqa: F401  (a fixture)


@pytest.mark.slow
def test_vlm_engine_is_loaded_at_start_and_parses_like_the_cli(reader_dir, tmp_path) -> None:  # noqa: F811
    page = tmp_path / "page.png"
    light_page().save(page)
    with running_server("--model", str(reader_dir), "--device", "cpu") as server:
        health = httpx.get(f"{server.url}/health").json()
        assert health["engines"]["vlm"] == "VLMEngine"  # before any request
        answer = httpx.post(
            f"{server.url}/v1/parse",
            files={"file": ("page.png", page.read_bytes())},
            data={"engine": "vlm", "format": "json"},
            timeout=300,
        )
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["pages"][0]["engine"] == "vlm"
    command = [sys.executable, "-m", "docvlm.cli", "parse", "page.png", "-f", "json",
               "--engine", "vlm", "--model", str(reader_dir), "--device", "cpu"]  # fmt: skip
    expected = json.loads(subprocess.run(command, capture_output=True, cwd=tmp_path).stdout)
    for pages in (document["pages"], expected["pages"]):
        for entry in pages:
            entry["seconds"] = None
    assert document == expected
    assert "Annual Report" in REPORT_TEXT and "Annual Report" in json.dumps(document)
