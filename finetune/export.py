"""`docvlm dataset export`: a manifest as the `messages` + `images` JSONL of other trainers.

- swift (ms-swift) and llamafactory (ShareGPT style): string contents, `<image>` marks where
  the image goes in the user turn; LLaMA-Factory also gets a `dataset_info.json` entry.
- trl: content lists of `{"type": "image"}` / `{"type": "text"}` parts, as TRL's vision SFT
  collators expect.
PDF pages are rasterized to PNG next to the output; image paths are absolute.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from docvlm.errors import DocVLMError
from docvlm.sources import DEFAULT_SIZE

from .manifest import Example, read_manifest

ExportFormat = Literal["swift", "llamafactory", "trl"]
FORMATS: tuple[str, ...] = ("swift", "llamafactory", "trl")
IMAGE_TAG = "<image>"


def export_manifest(
    manifest: str | Path,
    out: str | Path,
    export_format: ExportFormat,
    render_size: int = DEFAULT_SIZE,
) -> Path:
    """Write `out` (JSONL) in `export_format`; returns its path."""
    if export_format not in FORMATS:
        raise DocVLMError(f"unknown export format {export_format!r}: use {', '.join(FORMATS)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image_dir = out.parent / f"{out.stem}_images"
    rows = []
    for index, example in enumerate(read_manifest(manifest)):
        image = _image_path(example, index, image_dir, render_size)
        rows.append(_row(example, str(image.resolve()), export_format))
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    if export_format == "llamafactory":
        _write_dataset_info(out)
    return out


def _row(example: Example, image: str, export_format: ExportFormat) -> dict[str, Any]:
    if export_format == "trl":
        user = [{"type": "image"}, {"type": "text", "text": example.query}]
        assistant = [{"type": "text", "text": example.target_text}]
    else:
        user, assistant = IMAGE_TAG + example.query, example.target_text
    return {
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ],
        "images": [image],
    }


def _image_path(example: Example, index: int, image_dir: Path, render_size: int) -> Path:
    if example.image is not None:
        return example.image
    image_dir.mkdir(parents=True, exist_ok=True)
    path = image_dir / f"{index:06d}_{example.pdf.stem}_p{example.page}.png"
    example.load_image(render_size).save(path)
    return path


def _write_dataset_info(out: Path) -> None:
    """Register the file in LLaMA-Factory's dataset_info.json (kept entries are preserved)."""
    info_path = out.parent / "dataset_info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info[out.stem] = {
        "file_name": out.name,
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
