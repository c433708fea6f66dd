"""The manifest JSONL: one training example per line, an image (or PDF page) and its target.

    {"image": "forms/0001.png", "target": {"name": "Ada", "total": "12.50"}}
    {"pdf": "report.pdf", "page": 2, "prompt": "OCR with format: ", "target": "# Title ..."}

Paths are relative to the manifest's folder. `prompt` is the query after the image; without
it, text targets get GOT's `OCR: ` and JSON targets `JSON_QUERY`. Synthetic data may add
`"glyphs": [["A", x0, y0, x1, y1], ...]`, each printed character's box as a share of the
image's width and height, for the auxiliary glyph loss (`finetune.glyphs`). `"anchors": "text"`
(or "ocr", "none") records which word layer gives the page's anchors (`docvlm.anchors`): the
prompt then carries them, the same at training and inference, and the form model tags them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from docvlm.anchors import ANCHOR_SOURCES, PageAnchors, page_anchors
from docvlm.errors import DocVLMError
from docvlm.sources import DEFAULT_SIZE, open_source

JSON_QUERY = "Extract the fields as JSON: "
OCR_QUERY = "OCR: "


class ManifestError(DocVLMError):
    kind = "manifest"


# A printed character and its box (x0, y0, x1, y1) as shares of the image width and height.
Glyph = tuple[str, float, float, float, float]


@dataclass
class Example:
    """One manifest row, with its image path resolved against the manifest's folder."""

    target: str | dict[str, Any]
    image: Path | None = None
    pdf: Path | None = None
    page: int = 1
    prompt: str | None = None
    glyphs: list[Glyph] | None = None
    anchors: str | None = None  # word layer of the page's anchors: auto, text, ocr or none

    @property
    def query(self) -> str:
        """The prompt given, or the default for this target's kind."""
        if self.prompt is not None:
            return self.prompt
        return JSON_QUERY if isinstance(self.target, dict) else OCR_QUERY

    @property
    def target_text(self) -> str:
        """What the model must generate: the text, or compact JSON in the target's key order."""
        if isinstance(self.target, dict):
            return json.dumps(self.target, ensure_ascii=False, separators=(",", ":"))
        return self.target

    def load_image(self, size: int = DEFAULT_SIZE) -> Image.Image:
        """The page as RGB; PDF pages are rasterized with the longer side at `size` px."""
        if self.image is not None:
            try:
                with Image.open(self.image) as image:
                    return image.convert("RGB")
            except OSError as error:
                raise ManifestError(f"{self.image}: cannot read image ({error})") from None
        with open_source(self.pdf, pages=[self.page]) as document:
            return document.page(self.page).render(size)

    def page_anchors(self, source: str | None = None) -> PageAnchors:
        """The page's anchor words from `source` (default: the row's own `anchors`, else auto)."""
        with open_source(self.image or self.pdf, pages=[self.page]) as document:
            return page_anchors(document.page(self.page), source or self.anchors or "auto")

    def to_row(self, base_dir: Path) -> dict[str, Any]:
        """The manifest row, with paths relative to `base_dir` where they lie under it."""
        row: dict[str, Any] = {}
        if self.image is not None:
            row["image"] = _relative(self.image, base_dir)
        else:
            row["pdf"], row["page"] = _relative(self.pdf, base_dir), self.page
        if self.prompt is not None:
            row["prompt"] = self.prompt
        row["target"] = self.target
        if self.anchors is not None:
            row["anchors"] = self.anchors
        if self.glyphs is not None:
            row["glyphs"] = [[char, *(round(v, 5) for v in box)] for char, *box in self.glyphs]
        return row


def read_manifest(path: str | Path) -> list[Example]:
    """Examples of a manifest JSONL; raise ManifestError naming the line that is wrong."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ManifestError(f"{path}: cannot read manifest ({error.strerror})") from None
    examples = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            examples.append(_parse_row(line, path, number))
    if not examples:
        raise ManifestError(f"{path}: manifest has no examples")
    return examples


def write_manifest(examples: list[Example], path: str | Path) -> Path:
    """Write examples as JSONL, paths relative to the manifest's folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps(e.to_row(path.parent), ensure_ascii=False) for e in examples]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def manifest_hash(path: str | Path) -> str:
    """sha256 over the manifest and every file it names, so a training card pins its data."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes())
    for example in read_manifest(path):
        source = example.image or example.pdf
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _parse_row(line: str, path: Path, number: int) -> Example:
    where = f"{path}:{number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ManifestError(f"{where}: not valid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise ManifestError(f"{where}: each line must be a JSON object")
    target = row.get("target")
    if not isinstance(target, str | dict):
        raise ManifestError(f"{where}: 'target' must be a string or a JSON object")
    prompt = row.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise ManifestError(f"{where}: 'prompt' must be a string")
    if ("image" in row) == ("pdf" in row):
        raise ManifestError(f"{where}: give exactly one of 'image' or 'pdf'")
    source = path.parent / str(row.get("image") or row.get("pdf"))
    if not source.is_file():
        raise ManifestError(f"{where}: {source} does not exist")
    glyphs = _parse_glyphs(row.get("glyphs"), where)
    anchors = row.get("anchors")
    if anchors is not None and anchors not in ANCHOR_SOURCES:
        raise ManifestError(f"{where}: 'anchors' must be one of {', '.join(ANCHOR_SOURCES)}")
    if "image" in row:
        return Example(target=target, image=source, prompt=prompt, glyphs=glyphs, anchors=anchors)
    page = row.get("page", 1)
    if not isinstance(page, int) or page < 1:
        raise ManifestError(f"{where}: 'page' must be a page number from 1")
    return Example(
        target=target, pdf=source, page=page, prompt=prompt, glyphs=glyphs, anchors=anchors
    )


def _parse_glyphs(glyphs: Any, where: str) -> list[Glyph] | None:
    if glyphs is None:
        return None
    try:
        parsed = [(str(char), *(float(v) for v in box)) for char, *box in glyphs]
    except (TypeError, ValueError):
        parsed = []
    if len(parsed) != len(glyphs) or any(len(glyph) != 5 for glyph in parsed):
        raise ManifestError(f"{where}: 'glyphs' must be a list of [char, x0, y0, x1, y1]")
    return parsed  # type: ignore[return-value]


def _relative(path: Path, base_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(base_dir.resolve()))
    except ValueError:
        return str(path.resolve())
