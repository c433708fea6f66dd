"""A real `docvlm serve` subprocess on a free loopback port, for tests and bench/serve.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def healthy(self) -> bool:
        """The process is up and /health answers 200."""
        try:
            return self.alive() and httpx.get(f"{self.url}/health", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss


@contextmanager
def running_server(*arguments: str, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """`docvlm serve ARGUMENTS` on 127.0.0.1:<free port>, stopped (and waited for) on exit."""
    port = free_port()
    command = [sys.executable, "-m", "docvlm.cli", "serve", "--port", str(port), *arguments]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    log = Path(tempfile.mkstemp(prefix="docvlm-serve-", suffix=".log")[1])
    with log.open("wb") as log_handle:
        process = subprocess.Popen(
            command, stdout=log_handle, stderr=subprocess.STDOUT, env=environment
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.healthy():
            if not server.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"docvlm serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)
