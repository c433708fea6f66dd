"""Real scans: docvlm's OCR engine against the plain `tesseract` command on FUNSD's training
pages (noisy scanned forms of the 1980s–90s at ~100 dpi; never its test split), scored against
the words FUNSD's annotators typed for each page: word F1 over the page's bag of lower-cased
words, so that reading order does not count (bench/scanned.py scores order, on rendered pages).
Prints mean F1 / precision / recall of both, their ratio, the pages where docvlm reads clearly
less than `tesseract`, and seconds per page (both with Tesseract on one thread).

    OMP_NUM_THREADS=1 python bench/real_scans.py --funsd /path/to/FUNSD/training_data
        [--count 40] [--skip 0]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from ocr import plain_tesseract
from scanned import blocks_text

from docvlm.engines.ocr import OCREngine
from docvlm.sources import open_source

CLEARLY_LESS = 0.05  # F1 points: a page docvlm reads this much worse is listed


def bag(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def scores(got: Counter, want: Counter) -> tuple[float, float, float]:
    """(F1, precision, recall) of the words `got` against `want`."""
    common = sum((got & want).values())
    precision = common / max(sum(got.values()), 1)
    recall = common / max(sum(want.values()), 1)
    return 2 * precision * recall / max(precision + recall, 1e-9), precision, recall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--funsd", type=Path, required=True, help="FUNSD training_data folder")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--skip", type=int, default=0)
    args = parser.parse_args()
    annotations = sorted((args.funsd / "annotations").glob("*.json"))
    engine = OCREngine()
    rows = []
    for annotation in annotations[args.skip : args.skip + args.count]:
        image = args.funsd / "images" / f"{annotation.stem}.png"
        entities = json.loads(annotation.read_text())["form"]
        truth = bag(" ".join(word["text"] for entity in entities for word in entity["words"]))
        start = time.perf_counter()
        blocks = engine.parse(open_source(image).page(1))
        ours_seconds = time.perf_counter() - start
        ours = scores(bag(blocks_text(blocks)), truth)
        start = time.perf_counter()
        theirs = scores(bag(plain_tesseract(image.read_bytes())), truth)
        rows.append((annotation.stem, ours, theirs, ours_seconds, time.perf_counter() - start))
        print(
            f"{annotation.stem:14s} docvlm F1 {ours[0]:.3f}  tesseract {theirs[0]:.3f}", flush=True
        )
    print(f"\n{len(rows)} FUNSD training pages (from {args.skip})")
    print("tool       F1     precision recall  s/page")
    for name, column, seconds in (("docvlm", 1, 3), ("tesseract", 2, 4)):
        f1, precision, recall = (statistics.mean(row[column][i] for row in rows) for i in range(3))
        time_per_page = statistics.mean(row[seconds] for row in rows)
        print(f"{name:10s} {f1:.3f}  {precision:.3f}     {recall:.3f}   {time_per_page:.2f}")
    ours_f1 = statistics.mean(row[1][0] for row in rows)
    theirs_f1 = statistics.mean(row[2][0] for row in rows)
    print(f"docvlm / tesseract F1: {ours_f1 / max(theirs_f1, 1e-9):.3f}x")
    worse = [row for row in rows if row[1][0] < row[2][0] - CLEARLY_LESS]
    print(f"pages docvlm reads clearly less ({len(worse)}):")
    for stem, ours, theirs, *_ in worse:
        print(f"  {stem}: {ours[0]:.3f} (P {ours[1]:.2f} R {ours[2]:.2f}) vs {theirs[0]:.3f}")


if __name__ == "__main__":
    main()
