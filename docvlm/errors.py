"""Typed errors: each carries a one-line message a user can act on."""

from __future__ import annotations


class DocVLMError(Exception):
    """Base class; `kind` is the short name written to manifests and stderr."""

    kind = "error"


class EmptyFileError(DocVLMError):
    kind = "empty"


class UnreadableFileError(DocVLMError):
    kind = "unreadable"


class CorruptFileError(DocVLMError):
    kind = "corrupt"


class EncryptedPDFError(DocVLMError):
    kind = "encrypted"


class UnsupportedFileError(DocVLMError):
    kind = "unsupported"


class PageTooLargeError(DocVLMError):
    kind = "too_large"


class TooManyPagesError(DocVLMError):
    kind = "too_many_pages"


class PageRangeError(DocVLMError):
    kind = "page_range"


class PageTimeoutError(DocVLMError):
    kind = "timeout"


class DegenerateOutputError(DocVLMError):
    kind = "degenerate"


class WorkerCrashedError(DocVLMError):
    """A worker process died (killed for memory, a crash in native code) on this document."""

    kind = "worker_crashed"


class EngineUnavailableError(DocVLMError):
    kind = "engine_unavailable"


class ModelNotFoundError(DocVLMError):
    kind = "model_not_found"


class CheckpointError(DocVLMError):
    kind = "checkpoint"


class SchemaError(DocVLMError):
    kind = "schema"
