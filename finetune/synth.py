"""Synthetic forms with known values: invoice, claim and application layouts and the procedural
templates `t0`, `t1`, … (`finetune.templates`), born-digital or scanned. Used by extraction
tests, `bench/extract.py`, `bench/finetune_forms.py` and `docvlm dataset synth-forms`."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pymupdf
from PIL import Image, ImageFilter

from .templates import template_form, template_schema

LAYOUTS = ("invoice", "claim", "application")
TOY = "toy"  # three one-word fields: the generative loop's smallest anchored form
PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0
FONT, BOLD = "helv", "hebo"

_FIRST = ["Maria", "James", "Aiko", "Omar", "Elena", "Liam", "Priya", "Noah", "Sofia", "Chen"]
_LAST = ["Garcia", "Smith", "Tanaka", "Haddad", "Rossi", "Murphy", "Patel", "Keller", "Novak"]
_COMPANY = ["Contoso Ltd.", "Fabrikam Inc.", "Northwind Traders", "Globex Corp.", "Initech LLC"]
_STREET = ["Market Street", "Harbor Road", "Oak Avenue", "Elm Drive", "King Boulevard"]
_CITY = [("Denver", "CO"), ("Portland", "OR"), ("Austin", "TX"), ("Boston", "MA")]
_ITEMS = ["Printer paper (box)", "Toner cartridge", "Desk organizer", "USB-C cable", "Stapler",
          "Monitor stand", "Whiteboard markers", "Office chair mat"]  # fmt: skip
_DATE_STYLES = ["%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y", "%d %b %Y"]
CLAIM_TYPES = ["Auto", "Home", "Health", "Travel"]
EMPLOYMENT = ["Employed", "Self-employed", "Unemployed", "Retired", "Student"]


@dataclass
class SynthForm:
    """One generated form: the PDF, the values printed on it and where each one is."""

    layout: str
    pdf: bytes
    values: dict[str, Any]
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    scanned: bool = False


def is_layout(layout: str) -> bool:
    """A hand-made layout name, a template `t<number>` or its restyled forms `v<number>`."""
    return layout in (*LAYOUTS, TOY) or _template_number(layout) is not None


def _template_number(layout: str) -> int | None:
    """The template behind `t<number>` (its own look) or `v<number>` (its fields, each form
    drawn with a look of its own: more layouts from the same few field sets)."""
    digits = layout[1:]
    return int(digits) if layout[:1] in ("t", "v") and digits.isdigit() else None


def form_schema(layout: str) -> dict[str, Any]:
    """The JSON Schema whose values a form of `layout` prints."""
    if (number := _template_number(layout)) is not None:
        return template_schema(number)
    text, day, number = {"type": "string"}, {"type": "string", "format": "date"}, {"type": "number"}
    properties: dict[str, Any]
    if layout == "invoice":
        item = {
            "type": "object",
            "properties": {
                "description": text,
                "quantity": {"type": "integer"},
                "unit_price": number,
                "amount": number,
            },
            "required": ["description", "quantity", "unit_price", "amount"],
        }
        properties = {
            "invoice_number": text,
            "invoice_date": day,
            "due_date": {**day, "description": "payment due date"},
            "customer": {
                "type": "object",
                "title": "Bill To",
                "properties": {"name": text, "address": text},
                "required": ["name", "address"],
            },
            "line_items": {"type": "array", "items": item},
            "subtotal": number,
            "tax": number,
            "total": number,
            "paid": {"type": "boolean"},
        }
    elif layout == "claim":
        properties = {
            "claim_number": text,
            "policy_number": text,
            "claimant_name": text,
            "date_of_loss": day,
            "claim_type": {"enum": CLAIM_TYPES},
            "estimated_amount": number,
            "police_report_filed": {"type": "boolean"},
        }
    elif layout == "toy":
        properties = {"name": text, "code": text, "city": text}
    elif layout == "application":
        properties = {
            "first_name": text,
            "last_name": text,
            "date_of_birth": day,
            "email": {"type": "string", "format": "email"},
            "phone": text,
            "annual_income": number,
            "employment_status": {"enum": EMPLOYMENT},
            "us_citizen": {"type": "boolean"},
        }
    else:
        raise ValueError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    return {"type": "object", "properties": properties, "required": list(properties)}


def synth_form(layout: str, seed: int, scanned: bool = False) -> SynthForm:
    """A random form of `layout`; `scanned` rasterizes it with scan noise into an image PDF."""
    rng = random.Random(f"{layout}-{seed}")
    if (number := _template_number(layout)) is not None:
        pdf, values = template_form(number, rng, restyle=layout.startswith("v"))
        return SynthForm(layout, scan(pdf, rng) if scanned else pdf, values, {}, scanned)
    writer = _Writer()
    build = {"invoice": _invoice, "claim": _claim, "application": _application, "toy": _toy}.get(
        layout
    )
    if build is None:
        raise ValueError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    values = build(writer, rng)
    pdf = writer.pdf.tobytes(garbage=3, deflate=True)
    if scanned:
        pdf = scan(pdf, rng)
    return SynthForm(layout, pdf, values, writer.boxes, scanned)


class _Writer:
    def __init__(self) -> None:
        self.pdf = pymupdf.open()
        self.page = self.pdf.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        self.boxes: dict[str, tuple[float, float, float, float]] = {}

    def text(self, x: float, y: float, value: str, *, bold: bool = False, size: float = 10,
             pointer: str | None = None, right: bool = False) -> float:  # fmt: skip
        """Write `value` with its baseline at y (right-aligned at x if `right`); return its end."""
        font = BOLD if bold else FONT
        width = pymupdf.get_text_length(value, font, size)
        if right:
            x -= width
        self.page.insert_text((x, y), value, fontname=font, fontsize=size)
        if pointer:
            self.boxes[pointer] = (x, y - 0.9 * size, x + width, y + 0.25 * size)
        return x + width

    def checkbox(self, x: float, y: float, ticked: bool, pointer: str | None = None) -> None:
        """A drawn 9 pt box with its bottom on the baseline y, crossed when ticked."""
        box = pymupdf.Rect(x, y - 9, x + 9, y)
        self.page.draw_rect(box, width=0.8)
        if ticked:
            self.page.draw_line(box.tl + (2, 2), box.br - (2, 2), width=1.2)
            self.page.draw_line(box.bl + (2, -2), box.tr - (2, -2), width=1.2)
        if pointer:
            self.boxes[pointer] = tuple(box)


def _day(rng: random.Random, start: int = 2019, span: int = 6 * 365) -> date:
    return date(start, 1, 1) + timedelta(days=rng.randrange(span))


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_FIRST), rng.choice(_LAST)


def _address(rng: random.Random) -> tuple[str, str]:
    city, state = rng.choice(_CITY)
    return (
        f"{rng.randint(1, 9999)} {rng.choice(_STREET)}",
        f"{city}, {state} {rng.randint(10000, 99999)}",
    )


def _money(value: float, rng: random.Random) -> str:
    return rng.choice(["${:,.2f}", "{:,.2f}", "{:,.2f} USD"]).format(value)


def _invoice(w: _Writer, rng: random.Random) -> dict[str, Any]:
    number = f"INV-{rng.randint(2019, 2025)}-{rng.randint(1, 9999):04d}"
    issued = _day(rng)
    due = issued + timedelta(days=rng.choice([14, 30, 45]))
    style = rng.choice(_DATE_STYLES)
    w.text(54, 80, rng.choice(_COMPANY), bold=True, size=16)
    w.text(54, 98, " ".join(_address(rng)))
    w.text(400, 80, "INVOICE", bold=True, size=20)
    labels = rng.choice([("Invoice No.:", "Date:", "Due Date:"), ("Invoice #:", "Invoice Date:",
                                                                     "Payment Due:")])  # fmt: skip
    for row, (label, value, pointer) in enumerate(
        zip(
            labels,
            [number, issued.strftime(style), due.strftime(style)],
            ["/invoice_number", "/invoice_date", "/due_date"],
            strict=True,
        )  # fmt: skip
    ):
        w.text(380, 110 + 15 * row, label, bold=True)
        w.text(470, 110 + 15 * row, value, pointer=pointer)
    first, last = _person(rng)
    name = rng.choice([f"{first} {last}", rng.choice(_COMPANY)])
    street, city = _address(rng)
    w.text(54, 170, rng.choice(["Bill To:", "Bill to"]), bold=True)
    w.text(54, 186, name, pointer="/customer/name")
    w.text(54, 199, street, pointer="/customer/address")
    w.text(54, 212, city, pointer="/customer/city")
    street_box, city_box = w.boxes["/customer/address"], w.boxes.pop("/customer/city")
    w.boxes["/customer/address"] = (54, street_box[1], max(street_box[2], city_box[2]), city_box[3])
    columns = [("Description", 60), ("Qty", 300), ("Unit Price", 380), ("Amount", 480)]
    for title, x in columns:
        w.text(x, 250, title, bold=True)
    items = []
    y = 268
    for index in range(rng.randint(1, 5)):
        quantity = rng.randint(1, 40)
        price = round(rng.uniform(2, 400), 2)
        amount = round(quantity * price, 2)
        base = f"/line_items/{index}"
        w.text(60, y, rng.choice(_ITEMS), pointer=f"{base}/description")
        w.text(300, y, str(quantity), pointer=f"{base}/quantity")
        w.text(380, y, f"{price:,.2f}", pointer=f"{base}/unit_price")
        w.text(480, y, f"{amount:,.2f}", pointer=f"{base}/amount")
        items.append(
            {
                "description": w.page.get_textbox(pymupdf.Rect(59, y - 10, 290, y + 3)).strip(),
                "quantity": quantity,
                "unit_price": price,
                "amount": amount,
            }  # fmt: skip
        )
        y += 16
    subtotal = round(sum(i["amount"] for i in items), 2)
    tax = round(subtotal * 0.08, 2)
    total = round(subtotal + tax, 2)
    y += 24
    for label, value, pointer in [("Subtotal:", subtotal, "/subtotal"), ("Tax (8%):", tax, "/tax"),
                                  ("Total:", total, "/total")]:  # fmt: skip
        w.text(380, y, label, bold=label == "Total:")
        w.text(558, y, _money(value, rng), right=True, pointer=pointer)
        y += 16
    paid = rng.random() < 0.5
    w.checkbox(54, y + 30, paid, pointer="/paid")
    w.text(69, y + 30, "Paid")
    return {
        "invoice_number": number,
        "invoice_date": issued.isoformat(),
        "due_date": due.isoformat(),
        "customer": {"name": name, "address": f"{street}, {city}"},
        "line_items": items,
        "subtotal": subtotal,
        "tax": tax,
        "total": total,
        "paid": paid,
    }


def _claim(w: _Writer, rng: random.Random) -> dict[str, Any]:
    first, last = _person(rng)
    values = {
        "claim_number": f"CLM-{rng.randint(100000, 999999)}",
        "policy_number": f"POL-{rng.randint(10, 99)}-{rng.randint(10000, 99999)}",
        "claimant_name": f"{first} {last}",
        "date_of_loss": _day(rng),
        "claim_type": rng.choice(CLAIM_TYPES),
        "estimated_amount": round(rng.uniform(100, 50000), 2),
        "police_report_filed": rng.random() < 0.5,
    }
    w.text(54, 70, "INSURANCE CLAIM FORM", bold=True, size=18)
    style = rng.choice(_DATE_STYLES)
    boxed = [
        ("Claim Number", values["claim_number"], "/claim_number"),
        ("Policy Number", values["policy_number"], "/policy_number"),
        ("Claimant Name", values["claimant_name"], "/claimant_name"),
        ("Date of Loss", values["date_of_loss"].strftime(style), "/date_of_loss"),
    ]
    # Labels above boxed values, two per row.
    for index, (label, value, pointer) in enumerate(boxed):
        x = 54 + 270 * (index % 2)
        y = 120 + 60 * (index // 2)
        w.text(x, y, label, bold=True, size=9)
        w.page.draw_rect(pymupdf.Rect(x, y + 4, x + 240, y + 26), width=0.6)
        w.text(x + 5, y + 19, value, pointer=pointer)
    y = 260
    w.text(54, y, "Claim Type:", bold=True)
    x = 130
    for option in CLAIM_TYPES:
        ticked = option == values["claim_type"]
        w.checkbox(x, y, ticked, pointer="/claim_type" if ticked else None)
        x = w.text(x + 14, y, option) + 24
    y += 30
    w.text(54, y, "Estimated Amount:", bold=True)
    w.text(180, y, _money(values["estimated_amount"], rng), pointer="/estimated_amount")
    y += 30
    w.checkbox(54, y, values["police_report_filed"], pointer="/police_report_filed")
    w.text(69, y, "Police report filed")
    w.text(54, y + 40, "I certify that the information above is true and complete.", size=9)
    values["date_of_loss"] = values["date_of_loss"].isoformat()
    return values


def _application(w: _Writer, rng: random.Random) -> dict[str, Any]:
    first, last = _person(rng)
    values = {
        "first_name": first,
        "last_name": last,
        "date_of_birth": _day(rng, 1950, 50 * 365),
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "phone": f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
        "annual_income": float(rng.randrange(15000, 250000, 500)),
        "employment_status": rng.choice(EMPLOYMENT),
        "us_citizen": rng.random() < 0.5,
    }
    w.text(54, 70, "MEMBERSHIP APPLICATION", bold=True, size=18)
    style = rng.choice(_DATE_STYLES)
    rows = [
        ("First Name:", first, "/first_name"),
        ("Last Name:", last, "/last_name"),
        ("Date of Birth:", values["date_of_birth"].strftime(style), "/date_of_birth"),
        ("Email:", values["email"], "/email"),
        ("Phone:", values["phone"], "/phone"),
        ("Annual Income:", _money(values["annual_income"], rng), "/annual_income"),
        ("Employment Status:", values["employment_status"], "/employment_status"),
        ("US Citizen:", "Yes" if values["us_citizen"] else "No", "/us_citizen"),
    ]
    rng.shuffle(rows)
    # Two columns of "Label: value" pairs.
    for index, (label, value, pointer) in enumerate(rows):
        x = 54 + 280 * (index % 2)
        y = 120 + 28 * (index // 2)
        end = w.text(x, y, label, bold=True)
        w.text(max(end + 8, x + 110), y, value, pointer=pointer)
    w.text(54, 260, "Signature: ______________________", size=10)
    values["date_of_birth"] = values["date_of_birth"].isoformat()
    return values


TOY_NAMES = ("Ada", "Bo", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal")
TOY_CITIES = ("Oslo", "Rome", "Lima", "Kyiv", "Bern", "Doha", "Riga", "Baku")


def _toy(w: _Writer, rng: random.Random) -> dict[str, Any]:
    """Three short fields in random order: the smallest form a generative model must read (its
    anchors) to answer, since each value is one of eight (or a random 3-digit code)."""
    values = {"name": rng.choice(TOY_NAMES), "code": f"{rng.randint(100, 999)}",
              "city": rng.choice(TOY_CITIES)}  # fmt: skip
    order = list(values)
    rng.shuffle(order)
    for row, key in enumerate(order):
        w.text(54, 80 + 30 * row, f"{key.title()}: {values[key]}", size=12, pointer=f"/{key}")
    return values


def scan(pdf: bytes, rng: random.Random, dpi: int = 150) -> bytes:
    """Rasterize each page like a desk scanner (grey, slight skew, blur, noise, JPEG) into an
    image-only PDF of the same page size."""
    source = pymupdf.open(stream=pdf, filetype="pdf")
    out = pymupdf.open()
    for page in source:
        pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        image = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
        image = image.rotate(rng.uniform(-0.6, 0.6), resample=Image.Resampling.BILINEAR,
                             fillcolor=255)  # fmt: skip
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
        pixels = np.asarray(image, dtype=np.float32)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(
            0, rng.uniform(8, 16), pixels.shape
        )
        image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=rng.randint(55, 80))
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=buffer.getvalue())
    return out.tobytes(garbage=3, deflate=True)
