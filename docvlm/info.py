"""What `docvlm info` reports: versions, devices and available engines."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _tesseract() -> str:
    binary = shutil.which("tesseract")
    if binary is None:
        return "not found (install tesseract-ocr and tesseract-ocr-eng)"
    listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, check=False)
    languages = [line for line in listed.stdout.splitlines()[1:] if line.strip()]
    return f"{binary} (languages: {', '.join(languages) or 'none'})"


def collect_info() -> dict[str, dict[str, str]]:
    """Versions, devices and engine availability, grouped by section."""
    import torch

    packages = [
        "docvlm",
        "torch",
        "transformers",
        "pymupdf",
        "rapidocr-onnxruntime",
        "onnxruntime",
        "peft",
        "bitsandbytes",
        "flash-attn",
    ]
    devices = {
        "cpu": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    }
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices[f"cuda:{index}"] = torch.cuda.get_device_name(index)
    else:
        devices["cuda"] = "not available"
    rapidocr = _version("rapidocr-onnxruntime")
    engines = {
        "text": "available (PyMuPDF text layer)",
        "ocr/tesseract": _tesseract(),
        "ocr/rapidocr": "available" if rapidocr != "not installed" else "not installed",
        "vlm": "available with --model DIR (no weights are downloaded)",
        "poppler": shutil.which("pdftoppm") or "not found (install poppler-utils)",
    }
    return {
        "versions": {"python": platform.python_version(), **{p: _version(p) for p in packages}},
        "devices": devices,
        "engines": engines,
    }
