"""No-model extraction on generated forms: field exact-match accuracy and seconds per document,
born-digital and scanned, against a reference measured in the same run.

The reference is the floor any extractor must clear: a "label-right" baseline that takes, for
each field, the text right after the first line containing the field's title words (no fuzzy
labels, no value-below, no types, no checkboxes, no tables). Ratios are docvlm ÷ reference.

    python bench/extract.py                 # 200 born-digital + 60 scanned (OCR is ~3 s/page)
    python bench/extract.py --scanned 200   # the full scanned set, ~10 min on 2 cores
"""

from __future__ import annotations

import argparse
import time

import pymupdf

from docvlm.extraction import extract
from docvlm.extraction.schema import load_schema
from docvlm.extraction.vlm import pointer_leaves
from docvlm.finetune.synth import LAYOUTS, form_schema, synth_form


def field_at(data, pointer: str):
    node = data
    for part in pointer.strip("/").split("/"):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def reference_extract(pdf: bytes, schema: dict) -> dict:
    """Label-right baseline: first line whose text holds the field's name; value after it."""
    page = pymupdf.open(stream=pdf, filetype="pdf")[0]
    lines = [line.strip() for line in page.get_text("text").splitlines() if line.strip()]
    data = {}
    for name in load_schema(schema).root.properties:
        words = name.replace("_", " ").lower()
        for index, line in enumerate(lines):
            if words in line.lower().rstrip(":") and index + 1 < len(lines):
                data[name] = lines[index + 1]
                break
    return data


def run(count: int, scanned: bool, extractor) -> tuple[int, int, float]:
    right = total = 0
    seconds = 0.0
    for index in range(count):
        layout = LAYOUTS[index % len(LAYOUTS)]
        form = synth_form(layout, 10_000 + index, scanned=scanned)
        schema = form_schema(layout)
        start = time.perf_counter()
        data = extractor(form.pdf, schema)
        seconds += time.perf_counter() - start
        for pointer, value in pointer_leaves(form.values):
            total += 1
            right += field_at(data, pointer) == value
    return right, total, seconds / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digital", type=int, default=200, help="born-digital forms")
    parser.add_argument("--scanned", type=int, default=60, help="scanned forms")
    args = parser.parse_args()

    def docvlm_extract(pdf: bytes, schema: dict) -> dict:
        return extract(pdf, schema).data

    rows = []
    for label, count, scanned in (("born-digital", args.digital, False),
                                  ("scanned", args.scanned, True)):  # fmt: skip
        if count == 0:
            continue
        right, total, per_doc = run(count, scanned, docvlm_extract)
        row = [label, count, total, right / total, per_doc]
        if not scanned:  # the baseline reads the text layer only; scans have none
            ref_right, _, ref_per_doc = run(count, scanned, reference_extract)
            row += [ref_right / total, (right / total) / max(ref_right / total, 1e-9)]
        rows.append(row)

    print(f"{'set':<13}{'docs':>6}{'fields':>8}{'docvlm acc':>12}{'s/doc':>8}"
          f"{'ref acc':>10}{'acc ratio':>11}")  # fmt: skip
    for row in rows:
        line = f"{row[0]:<13}{row[1]:>6}{row[2]:>8}{row[3]:>12.1%}{row[4]:>8.2f}"
        if len(row) > 5:
            line += f"{row[5]:>10.1%}{row[6]:>10.2f}×"
        print(line)


if __name__ == "__main__":
    main()
