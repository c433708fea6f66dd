"""Batch throughput: 200 generated documents (born-digital and scanned), 1 vs 2 workers.

Prints pages/s, peak RSS of the whole process tree, and the resume overhead (a second run of
the same command with nothing left to do). Usage: python bench/batch.py [--docs 200]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pymupdf

WORDS = [
    "archive",
    "invoice",
    "report",
    "scan",
    "review",
    "table",
    "column",
    "page",
    "total",
    "amount",
    "customer",
    "order",
    "document",
    "engine",
    "model",
    "layer",
    "text",
    "vision",
    "batch",
    "worker",
    "result",
    "value",
    "field",
    "record",
]


def make_documents(folder: Path, count: int, seed: int = 0) -> int:
    """Write `count` PDFs, every third one image-only; return the number of pages."""
    rng = random.Random(seed)
    pages = 0
    for index in range(count):
        pdf = pymupdf.open()
        for _ in range(rng.randint(1, 3)):
            page = pdf.new_page()
            text = "\n".join(
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) for _ in range(25)
            )
            page.insert_textbox(pymupdf.Rect(72, 72, 540, 720), text, fontsize=11)
            pages += 1
        if index % 3 == 2:  # scanned: replace each page by its 150-dpi picture
            scanned = pymupdf.open()
            for page in pdf:
                pixmap = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
                image_page = scanned.new_page(width=page.rect.width, height=page.rect.height)
                image_page.insert_image(image_page.rect, pixmap=pixmap)
            pdf = scanned
        pdf.save(folder / f"doc{index:03d}.pdf")
    return pages


def run(command: list[str]) -> tuple[float, float, int]:
    """Seconds, peak RSS (MiB) of the process tree, and exit code."""
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = process.wait()
    sampler.join()
    return time.perf_counter() - started, peak / 2**20, code


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--docs", type=int, default=200)
    options = arguments.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        inbox = Path(temp) / "in"
        inbox.mkdir()
        pages = make_documents(inbox, options.docs)
        print(f"{options.docs} documents, {pages} pages (every third document scanned)")
        print(f"{'workers':>8} {'seconds':>8} {'pages/s':>8} {'peak MiB':>9} {'resume s':>9}")
        baseline = None
        for workers in (1, 2):
            out = Path(temp) / f"out{workers}"
            command = [sys.executable, "-m", "docvlm.cli", "parse", str(inbox), "-o", str(out)]
            command += ["-q", "--workers", str(workers)]
            seconds, peak, code = run(command)
            resume_seconds, _, resume_code = run(command)
            assert code in (0, 1) and resume_code in (0, 1)
            baseline = baseline or seconds
            print(
                f"{workers:>8} {seconds:>8.1f} {pages / seconds:>8.2f} {peak:>9.0f} "
                f"{resume_seconds:>9.2f}   speed-up vs 1 worker: {baseline / seconds:.2f}x"
            )


if __name__ == "__main__":
    main()
