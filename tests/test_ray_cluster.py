"""`docvlm parse --ray` on a real two-node Ray cluster (two `ray start` on this machine): a
worker killed mid-run on the second node, and the batch still gives every document its row."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import pymupdf
import pytest

from tests.serving import free_port

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RAY = str(Path(sys.executable).with_name("ray"))
DOCUMENTS = 8


@contextmanager
def two_node_cluster() -> Iterator[tuple[str, dict[str, str], int]]:
    """(address, environment for its clients, node manager port of the second node)."""
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        "RAY_USAGE_STATS_ENABLED": "0",
        "OMP_NUM_THREADS": "1",
    }
    # Ray's Unix sockets live under the temp dir, whose path must stay short (108 bytes).
    temp_dir = tempfile.mkdtemp(prefix="dvray-", dir="/tmp")
    head_port, node_port = free_port(), free_port()
    common = ["--num-cpus", "1", "--disable-usage-stats", "--node-ip-address", "127.0.0.1"]
    head = [RAY, "start", "--head", "--port", str(head_port), "--temp-dir", temp_dir]
    second = [RAY, "start", "--address", f"127.0.0.1:{head_port}", "--node-manager-port",
              str(node_port)]  # fmt: skip
    for flag in ("--object-manager-port", "--metrics-export-port", "--runtime-env-agent-port",
                 "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port"):  # fmt: skip
        second += [flag, str(free_port())]
    try:
        subprocess.run(head + ["--include-dashboard=false", *common], env=env, check=True,
                       timeout=180, capture_output=True)  # fmt: skip
        subprocess.run(second + common, env=env, check=True, timeout=180, capture_output=True)
        yield f"127.0.0.1:{head_port}", env, node_port
    finally:
        _kill_cluster(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _kill_cluster(temp_dir: str) -> None:
    """End the processes of this cluster only (never `ray stop`: it ends every Ray on the host)."""
    roots = [
        p for p in psutil.process_iter(["cmdline"]) if temp_dir in " ".join(p.info["cmdline"] or [])
    ]
    processes = {p.pid: p for root in roots for p in [root, *_children(root)]}
    for process in processes.values():
        with suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(list(processes.values()), timeout=10)


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def map_workers_on(node_port: int) -> list[psutil.Process]:
    """Ray Data's actor processes under the raylet of the node with `node_port`."""
    flag = f"--node_manager_port={node_port}"
    raylets = [p for p in psutil.process_iter(["cmdline"]) if flag in (p.info["cmdline"] or [])]
    return [
        child
        for raylet in raylets
        for child in _children(raylet)
        if "MapWorker" in " ".join(_cmdline(child))
    ]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def manifest_rows(out: Path) -> list[dict]:
    path = out / "manifest.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_batch_survives_a_killed_worker_on_the_second_node(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    with pymupdf.open(SAMPLES / "report_scanned.pdf") as scan:  # OCR: a few seconds a page
        for number in range(DOCUMENTS):
            single = pymupdf.open()
            single.insert_pdf(scan, from_page=number % 2, to_page=number % 2)
            single.save(inputs / f"doc{number}.pdf")
            single.close()

    with two_node_cluster() as (address, env, node_port):
        command = [sys.executable, "-m", "docvlm.cli", "parse", str(inputs), "-o", str(out),
                   "--ray", "--ray-address", address, "--workers", "2", "-q"]  # fmt: skip
        batch = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while len(manifest_rows(out)) < 2 and batch.poll() is None:
            assert time.monotonic() < deadline, "no document finished"
            time.sleep(0.5)
        written_before = {row["input"]: row for row in manifest_rows(out)}
        outputs_before = {p.name: p.read_text() for p in out.glob("*.md")}
        victims = map_workers_on(node_port)
        assert victims, "no Ray Data worker runs on the second node"
        victims[0].kill()
        log = batch.communicate(timeout=600)[0].decode(errors="replace")

    assert batch.returncode == 0, log
    assert 2 <= len(written_before) < DOCUMENTS  # the kill came mid-run
    rows = manifest_rows(out)
    assert sorted(Path(row["input"]).name for row in rows) == sorted(
        f"doc{n}.pdf" for n in range(DOCUMENTS)
    )
    assert all(row["status"] == "ok" and row["engine"] == "ocr" for row in rows)
    for name, row in written_before.items():
        assert row in rows, name
    for name, text in outputs_before.items():
        assert (out / name).read_text() == text
    assert sorted(p.name for p in out.glob("*.md")) == sorted(
        f"doc{n}.md" for n in range(DOCUMENTS)
    )
    assert all((out / f"doc{n}.md").read_text().strip() for n in range(DOCUMENTS))
