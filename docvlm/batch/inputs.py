"""What a batch run reads: files named directly and documents found under folders."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from docvlm.sources import IMAGE_SUFFIXES, PDF_SUFFIXES

DOCUMENT_SUFFIXES = PDF_SUFFIXES | IMAGE_SUFFIXES


@dataclass(frozen=True)
class InputFile:
    path: Path
    output_stem: Path  # where its output goes, relative to the output folder, no suffix


def display_path(path: Path | str) -> str:
    """A path printable on any terminal (undecodable bytes in file names are escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def collect_inputs(arguments: Sequence[str | Path]) -> list[InputFile]:
    """Files named directly plus documents found under directories (recursively, loop-safe)."""
    found: list[tuple[Path, Path]] = []
    for argument in map(Path, arguments):
        if argument.is_dir():
            prefix = Path(argument.resolve().name) if len(arguments) > 1 else Path()
            found += [(path, prefix / path.relative_to(argument)) for path in _walk(argument)]
        else:
            found.append((argument, Path(argument.name)))

    seen: set[Path] = set()
    unique: list[tuple[Path, Path]] = []
    for path, relative in found:
        key = path.resolve() if path.exists() else path.absolute()
        if key not in seen:
            seen.add(key)
            unique.append((path, relative))

    stems = [relative.with_suffix("") for _, relative in unique]
    clashing = {stem for stem in stems if stems.count(stem) > 1}
    return [
        InputFile(path, relative if stem in clashing else stem)
        for (path, relative), stem in zip(unique, stems, strict=True)
    ]


def _walk(root: Path) -> Iterator[Path]:
    visited: set[tuple[int, int]] = set()
    for directory, subdirectories, files in os.walk(root, followlinks=True):
        stat = os.stat(directory)
        if (stat.st_dev, stat.st_ino) in visited:  # a symlink loop: this folder was walked
            subdirectories.clear()
            continue
        visited.add((stat.st_dev, stat.st_ino))
        subdirectories.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in DOCUMENT_SUFFIXES:
                yield Path(directory) / name
