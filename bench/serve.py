"""Load on a real `docvlm serve`: 200 requests from 16 concurrent clients on small documents.

Checks that no answer is a 5xx, that every result equals `docvlm parse -f json` of the same
file (page timings aside), and that the server's RSS after all requests is within 1.2× of its
RSS after the first 20. Prints requests/s and p50/p95 latency beside the CLI's time per
document (a fresh `docvlm parse` process per file, as a pipeline without a server runs it).

Usage: OMP_NUM_THREADS=1 python bench/serve.py [--requests 200] [--clients 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pymupdf

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from tests.serving import running_server  # noqa: E402

SAMPLES = REPOSITORY / "samples"
MAX_RSS_GROWTH = 1.2
WARM_UP_REQUESTS = 20


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(1 for status in self.statuses if status >= 500)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def without_seconds(document: dict) -> dict:
    return {**document, "pages": [{**p, "seconds": None} for p in document["pages"]]}


def small_documents(folder: Path) -> list[Path]:
    """The born-digital samples and three one-page memos written here."""
    paths = [SAMPLES / "report.pdf", SAMPLES / "invoice.pdf"]
    for number in range(3):
        pdf = pymupdf.open()
        page = pdf.new_page()
        page.insert_text((72, 72), f"Memo {number + 1}", fontsize=18)
        body = f"Item {number + 1}: the quarterly archive review is due on the 1{number}th."
        page.insert_text((72, 110), body, fontsize=11)
        paths.append(folder / f"memo{number + 1}.pdf")
        pdf.save(paths[-1])
        pdf.close()
    return paths


def cli_outputs(paths: list[Path]) -> tuple[dict[str, dict], float]:
    """`docvlm parse FILE -f json` of each file, and the mean wall time per document."""
    outputs, started = {}, time.perf_counter()
    for path in paths:
        command = [sys.executable, "-m", "docvlm.cli", "parse", path.name, "-f", "json", "-q"]
        done = subprocess.run(command, capture_output=True, text=True, cwd=path.parent, check=True)
        outputs[path.name] = json.loads(done.stdout)
    return outputs, (time.perf_counter() - started) / len(paths)


def run_load(
    url: str,
    paths: list[Path],
    expected: dict[str, dict],
    requests: int,
    clients: int,
    start: int = 0,
) -> LoadResult:
    """`requests` sync parses (files in turn from index `start`) from `clients` threads."""
    result = LoadResult()
    bodies = {path.name: path.read_bytes() for path in paths}
    order = [paths[(start + i) % len(paths)].name for i in range(requests)]
    lock = threading.Lock()
    position = iter(range(requests))

    def client() -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            while True:
                with lock:
                    index = next(position, None)
                if index is None:
                    return
                name = order[index]
                sent = time.perf_counter()
                answer = http.post("/v1/parse", files={"file": (name, bodies[name])})
                latency = time.perf_counter() - sent
                same = answer.status_code == 200 and without_seconds(
                    answer.json()
                ) == without_seconds(expected[name])
                with lock:
                    result.latencies.append(latency)
                    result.statuses.append(answer.status_code)
                    if not same:
                        result.mismatches.append(f"{name}: {answer.status_code}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--requests", type=int, default=200)
    arguments.add_argument("--clients", type=int, default=16)
    arguments.add_argument("--workers", type=int, default=2)
    options = arguments.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        paths = small_documents(Path(folder))
        expected, cli_seconds = cli_outputs(paths)
        in_process = in_process_seconds(paths)
        server_options = ("--workers", str(options.workers), "--queue-size", "64")
        with running_server(*server_options) as server:
            warm = run_load(server.url, paths, expected, WARM_UP_REQUESTS, options.clients)
            rss_warm = server.rss()
            rest = options.requests - WARM_UP_REQUESTS
            load = run_load(server.url, paths, expected, rest, options.clients, WARM_UP_REQUESTS)
            rss_after = server.rss()
            healthy = server.healthy()

    latencies = warm.latencies + load.latencies
    statuses, mismatches = warm.statuses + load.statuses, warm.mismatches + load.mismatches
    combined = LoadResult(latencies, statuses, mismatches)
    per_request = (warm.seconds + load.seconds) / len(latencies)
    p50, p95 = combined.percentile(0.5) * 1000, combined.percentile(0.95) * 1000
    growth = rss_after / rss_warm
    print(f"documents: {', '.join(p.name for p in paths)}")
    print(f"requests: {len(latencies)} from {options.clients} clients, {options.workers} workers")
    print(f"5xx answers: {combined.server_errors}; results unlike the CLI: {len(mismatches)}")
    print(f"requests/s: {1 / per_request:.1f} (after warm-up {rest / load.seconds:.1f})")
    print(f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(f"CLI time per document (one process each): {cli_seconds * 1000:.0f} ms")
    print(f"in-process Parser time per document: {in_process * 1000:.0f} ms")
    print(
        f"server time per document under load: {per_request * 1000:.0f} ms "
        f"({cli_seconds / per_request:.1f}x the CLI's throughput, "
        f"{in_process / per_request:.2f}x the in-process Parser's)"
    )
    print(
        f"RSS after {WARM_UP_REQUESTS}: {rss_warm / 2**20:.0f} MiB; after all: "
        f"{rss_after / 2**20:.0f} MiB ({growth:.2f}x, limit {MAX_RSS_GROWTH}x)"
    )
    ok = healthy and not combined.server_errors and not mismatches and growth <= MAX_RSS_GROWTH
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


def in_process_seconds(paths: list[Path], rounds: int = 5) -> float:
    """Mean time per document of one warm Parser in this process (no HTTP, no new process)."""
    from docvlm.pipeline import Parser

    parser = Parser()
    parser.parse(paths[0])
    started = time.perf_counter()
    for _ in range(rounds):
        for path in paths:
            parser.parse(path)
    return (time.perf_counter() - started) / (rounds * len(paths))


if __name__ == "__main__":
    main()
