"""Tesseract kept loaded in the process: libtesseract's C API through ctypes.

Why: each `tesseract` command reloads its traineddata (0.15–0.2 CPU-s, more for OSD), and a
scanned page makes several reads (OSD, the page, its tables, a sample turned over). The C API
ships with the Debian/Homebrew library that the command itself uses, so this needs no compile
step and no extra package; without the library the backend runs the command instead.

A handle is loaded once per language set (and thread: a handle reads one image at a time) and
reused for every page after; its output is Tesseract's TSV, the same text the command prints
for the same image and settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from docvlm.errors import EngineUnavailableError, PageTimeoutError

# Debian/Ubuntu, Fedora/Arch/Alpine, Homebrew (Apple silicon and Intel).
LIBRARY_NAMES = (
    "libtesseract.so.5",
    "libtesseract.so.4",
    "libtesseract.so",
    "/opt/homebrew/lib/libtesseract.dylib",
    "/usr/local/lib/libtesseract.dylib",
)
OEM_DEFAULT = 3
RIL_TEXTLINE = 2  # the page iterator's level of text lines
PSM_AUTO = 3  # the command's default (the API's own is 6, one block)
PSM_OSD_ONLY = 0
LEPTONICA_SEVERITY_NONE = 7  # L_SEVERITY_NONE: no messages at all


@dataclass(frozen=True)
class OSDResult:
    """What OSD saw: degrees the page is turned (counter-clockwise), its script, confidences."""

    degrees: int
    confidence: float
    script: str | None
    script_confidence: float


@cache
def _library() -> ctypes.CDLL | None:
    """libtesseract with the C API's signatures declared, or None where it is not installed."""
    names = list(LIBRARY_NAMES)
    found = ctypes.util.find_library("tesseract")
    if found:
        names.insert(0, found)
    for name in names:
        try:
            lib = _load_one_threaded(name)
        except OSError:
            continue
        if hasattr(lib, "TessBaseAPIDetectOrientationScript"):
            _quiet_leptonica()
            return _declare(lib)
    return None


def _quiet_leptonica() -> None:
    """Leptonica's messages off: in the process they reach the user's terminal ("Error in
    boxClipToRectangle: box outside rectangle" on a sparse-text reading), where the command's
    stderr was captured and only read when it failed."""
    name = ctypes.util.find_library("lept") or ctypes.util.find_library("leptonica")
    if name is None:
        return
    try:
        leptonica = ctypes.CDLL(name)
    except OSError:
        return
    if hasattr(leptonica, "setMsgSeverity"):
        leptonica.setMsgSeverity.argtypes = [ctypes.c_int]
        leptonica.setMsgSeverity(LEPTONICA_SEVERITY_NONE)


def _load_one_threaded(name: str) -> ctypes.CDLL:
    """The library loaded with its OpenMP runtime capped at one thread (see ocr_tesseract on
    why). OpenMP reads the cap from the environment as it loads; the cap is lifted again so
    that libraries loaded later (torch's own OpenMP) keep their threads."""
    previous = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        return ctypes.CDLL(name)
    finally:
        if previous is None:
            del os.environ["OMP_THREAD_LIMIT"]
        else:
            os.environ["OMP_THREAD_LIMIT"] = previous


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    handle, text = ctypes.c_void_p, ctypes.c_char_p
    signatures = {
        "TessBaseAPICreate": (handle, []),
        "TessBaseAPIDelete": (None, [handle]),
        "TessBaseAPIInit2": (ctypes.c_int, [handle, text, text, ctypes.c_int]),
        "TessBaseAPISetVariable": (ctypes.c_int, [handle, text, text]),
        "TessBaseAPISetPageSegMode": (None, [handle, ctypes.c_int]),
        "TessBaseAPISetImage": (
            None,
            [handle, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int],
        ),
        "TessBaseAPIRecognize": (ctypes.c_int, [handle, ctypes.c_void_p]),
        "TessBaseAPIAnalyseLayout": (handle, [handle]),
        "TessPageIteratorBoundingBox": (
            ctypes.c_int,
            [handle, ctypes.c_int, *[ctypes.POINTER(ctypes.c_int)] * 4],
        ),
        "TessPageIteratorNext": (ctypes.c_int, [handle, ctypes.c_int]),
        "TessPageIteratorDelete": (None, [handle]),
        "TessBaseAPIGetTsvText": (ctypes.c_void_p, [handle, ctypes.c_int]),
        "TessBaseAPIDetectOrientationScript": (
            ctypes.c_int,
            [
                handle,
                ctypes.POINTER(ctypes.c_int),
                ctypes.POINTER(ctypes.c_float),
                ctypes.POINTER(ctypes.c_char_p),
                ctypes.POINTER(ctypes.c_float),
            ],
        ),
        "TessBaseAPIClear": (None, [handle]),
        "TessDeleteText": (None, [ctypes.c_void_p]),
        "TessMonitorCreate": (ctypes.c_void_p, []),
        "TessMonitorDelete": (None, [ctypes.c_void_p]),
        "TessMonitorSetDeadlineMSecs": (None, [ctypes.c_void_p, ctypes.c_int]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


def available() -> bool:
    """Whether libtesseract's C API can be loaded in this process."""
    return _library() is not None


class LoadedTesseract:
    """One libtesseract handle with `languages` loaded from `tessdata`."""

    def __init__(self, tessdata: str, languages: str) -> None:
        lib = _library()
        if lib is None:
            raise EngineUnavailableError("libtesseract is not installed")
        self._lib = lib
        self._handle = lib.TessBaseAPICreate()
        # Init2 with no config files: the command's `tsv` config only asks for TSV output.
        if lib.TessBaseAPIInit2(self._handle, tessdata.encode(), languages.encode(), OEM_DEFAULT):
            lib.TessBaseAPIDelete(self._handle)
            raise EngineUnavailableError(f"libtesseract could not load {languages!r}")
        # Its notes ("Estimating resolution as 241") went to the command's stderr, unread.
        lib.TessBaseAPISetVariable(self._handle, b"debug_file", os.devnull.encode())

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self._lib.TessBaseAPIDelete(self._handle)

    def _set_image(self, gray: np.ndarray) -> None:
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        height, width = gray.shape
        self._image = gray  # Tesseract keeps a pointer to the pixels until the next image
        pixels = gray.ctypes.data_as(ctypes.c_void_p)
        self._lib.TessBaseAPISetImage(self._handle, pixels, width, height, 1, width)

    def tsv(
        self,
        gray: np.ndarray,
        psm: int | None,
        timeout: float,
        unless: Callable[[list[tuple[int, int, int, int]]], bool] | None = None,
    ) -> str | None:
        """Tesseract's TSV of a grayscale image (page segmentation `psm`, the command's default
        when None); PageTimeoutError past `timeout` seconds. None, unread, where `unless` holds
        for the boxes of the text lines its layout analysis found (the reading then reuses
        that analysis: asking costs next to nothing)."""
        lib = self._lib
        lib.TessBaseAPISetPageSegMode(self._handle, PSM_AUTO if psm is None else psm)
        self._set_image(gray)
        try:
            if unless is not None and unless(self._line_boxes()):
                return None
            return self._recognized(timeout)
        finally:
            lib.TessBaseAPIClear(self._handle)

    def _line_boxes(self) -> list[tuple[int, int, int, int]]:
        """Boxes of the text lines in the image set, from Tesseract's layout analysis."""
        lib = self._lib
        iterator = lib.TessBaseAPIAnalyseLayout(self._handle)
        if not iterator:
            return []  # nothing on the page
        boxes = []
        corners = [ctypes.c_int() for _ in range(4)]
        try:
            while True:
                if lib.TessPageIteratorBoundingBox(
                    iterator, RIL_TEXTLINE, *(ctypes.byref(v) for v in corners)
                ):
                    boxes.append(tuple(v.value for v in corners))
                if not lib.TessPageIteratorNext(iterator, RIL_TEXTLINE):
                    return boxes
        finally:
            lib.TessPageIteratorDelete(iterator)

    def _recognized(self, timeout: float) -> str:
        """The TSV of the image set."""
        lib = self._lib
        monitor = lib.TessMonitorCreate()
        lib.TessMonitorSetDeadlineMSecs(monitor, round(timeout * 1000))
        start = time.monotonic()
        try:
            failed = lib.TessBaseAPIRecognize(self._handle, monitor)
            if time.monotonic() - start >= timeout:
                raise PageTimeoutError(f"tesseract took over {timeout:.0f} s on a page")
            if failed:
                raise EngineUnavailableError("tesseract failed to read the page")
            pointer = lib.TessBaseAPIGetTsvText(self._handle, 0)
            try:
                return ctypes.string_at(pointer).decode("utf-8", errors="replace")
            finally:
                lib.TessDeleteText(pointer)
        finally:
            lib.TessMonitorDelete(monitor)

    def osd(self, gray: np.ndarray, characters: int) -> OSDResult | None:
        """OSD of a grayscale image from `characters` blobs, None where it found too little."""
        lib = self._lib
        lib.TessBaseAPISetVariable(self._handle, b"min_characters_to_try", str(characters).encode())
        lib.TessBaseAPISetPageSegMode(self._handle, PSM_OSD_ONLY)
        self._set_image(gray)
        degrees, confidence = ctypes.c_int(), ctypes.c_float()
        script, script_confidence = ctypes.c_char_p(), ctypes.c_float()
        try:
            found = lib.TessBaseAPIDetectOrientationScript(
                self._handle,
                ctypes.byref(degrees),
                ctypes.byref(confidence),
                ctypes.byref(script),
                ctypes.byref(script_confidence),
            )
            name = script.value.decode() if found and script.value else None
        finally:
            lib.TessBaseAPIClear(self._handle)
        if not found:
            return None
        return OSDResult(degrees.value, confidence.value, name, script_confidence.value)
