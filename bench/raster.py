"""Rasterization speed: PyMuPDF vs pdf2image (poppler) through docvlm.sources, same run.

Renders every page of the sample PDFs at a fixed longer side (default 1024 px) with each
rasterizer and prints pages/s and PyMuPDF's speed-up over poppler.

    python bench/raster.py [--size 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from docvlm.sources import Rasterizer, open_source

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DOCUMENTS = ["report.pdf", "report_scanned.pdf", "invoice.pdf"]


def render_all(path: Path, rasterizer: Rasterizer, size: int) -> int:
    """Render every page of `path`; return the page count (after checking each image's size)."""
    count = 0
    with open_source(path, rasterizer=rasterizer, size=size) as source:
        for page in source.pages():
            image = page.render()
            if max(image.size) != size:
                raise RuntimeError(f"{path.name} p{page.number}: {image.size}, wanted {size} px")
            count += 1
    return count


def pages_per_second(path: Path, rasterizer: Rasterizer, size: int, repeats: int) -> float:
    """Best of `repeats` full passes over the document."""
    best, pages = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        pages = render_all(path, rasterizer, size)
        best = min(best, time.perf_counter() - start)
    return pages / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="longer side in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="passes per measurement")
    args = parser.parse_args()

    print(f"{'document':<20} {'pymupdf pages/s':>16} {'poppler pages/s':>16} {'speed-up':>9}")
    print("-" * 64)
    for name in DOCUMENTS:
        path = SAMPLES / name
        fast = pages_per_second(path, "pymupdf", args.size, args.repeats)
        slow = pages_per_second(path, "poppler", args.size, args.repeats)
        print(f"{name:<20} {fast:>16.1f} {slow:>16.1f} {fast / slow:>8.1f}×")


if __name__ == "__main__":
    main()
