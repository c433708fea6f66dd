"""Page engines: text layer, classical OCR and the VLM, behind one interface."""

from docvlm.engines.base import Engine

__all__ = ["Engine"]
