"""A smaller run of bench/serve.py: concurrent sync parses, no 5xx, CLI-equal, flat memory."""

from __future__ import annotations

import json
from pathlib import Path

import docvlm
from bench.serve import MAX_RSS_GROWTH, run_load, small_documents
from tests.serving import running_server


def local_outputs(paths: list[Path]) -> dict[str, dict]:
    """What `docvlm parse NAME -f json` prints (bench/serve.py runs the CLI itself)."""
    outputs = {}
    for path in paths:
        document = docvlm.parse(path)
        document.source = path.name
        outputs[path.name] = json.loads(document.to_json())
    return outputs


def test_concurrent_parses_equal_the_cli_and_memory_stays_flat(tmp_path: Path) -> None:
    paths = small_documents(tmp_path)
    expected = local_outputs(paths)
    with running_server("--workers", "2", "--queue-size", "16") as server:
        warm = run_load(server.url, paths, expected, requests=20, clients=8)
        rss_warm = server.rss()
        load = run_load(server.url, paths, expected, requests=40, clients=8, start=20)
        rss_after = server.rss()
        assert server.healthy()
    statuses = warm.statuses + load.statuses
    assert len(statuses) == 60 and set(statuses) == {200}
    assert warm.mismatches + load.mismatches == []
    assert rss_after <= MAX_RSS_GROWTH * rss_warm
