"""Builders for the bad inputs every entry point must survive (shared by several tests)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pymupdf


def text_pdf(text: str = "A born-digital page with enough characters to be trusted.") -> bytes:
    pdf = pymupdf.open()
    page = pdf.new_page()
    page.insert_text((72, 72), text, fontsize=11)
    data = pdf.tobytes()
    pdf.close()
    return data


def encrypted_pdf(password: str) -> bytes:
    pdf = pymupdf.open(stream=text_pdf(), filetype="pdf")
    data = pdf.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner"
    )
    pdf.close()
    return data


def huge_page_pdf(inches: float = 200) -> bytes:
    pdf = pymupdf.open()
    page = pdf.new_page(width=inches * 72, height=inches * 72)
    page.insert_text((72, 72), "A very large page.", fontsize=11)
    data = pdf.tobytes()
    pdf.close()
    return data


def zero_page_pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def broken_xref_pdf() -> bytes:
    """A valid PDF whose startxref points nowhere: MuPDF repairs it by scanning objects."""
    data = text_pdf()
    head, _, _ = data.rpartition(b"startxref")
    return head + b"startxref\n999999\n%%EOF\n"


def bomb_png(side: int = 30000) -> bytes:
    """A PNG header claiming side×side pixels; readers must refuse it before decoding."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * side
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * 4))
        + chunk(b"IEND", b"")
    )


def write_bad_inputs(folder: Path) -> dict[str, Path]:
    """Write one file per kind of bad input into `folder`; returns name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "empty.pdf": b"",
        "truncated.pdf": text_pdf()[:300],
        "encrypted.pdf": encrypted_pdf("secret"),
        "not_a_pdf.pdf": b"PK\x03\x04 this is a zip archive, not a PDF at all",
        "zero_pages.pdf": zero_page_pdf(),
        "bomb.png": bomb_png(),
        "huge_page.pdf": huge_page_pdf(),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths
