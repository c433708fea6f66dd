"""Till receipts as a thermal printer prints them and a phone or flatbed scans them, generated
here (no receipt dataset is used): several totals (before and after tax, rounding, cash,
change), a registration number under the issuer, addresses over two to four lines, dates with
and without a label, the document's title or a logo over the issuer's name on some, a long
name printed over two lines, monospaced print, a faded and noisy low-resolution scan.

`till_receipt(seed)` gives the PNG and the four fields a reader of receipts wants: the issuer,
its address (lines joined with ", "), the date (ISO) and the amount paid.
"""

from __future__ import annotations

import datetime
import io
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WIDTH = 660
LOGO_HEIGHT = 80

_LOCALES = {
    "my": {
        "names": ["SYARIKAT PERNIAGAAN SRI MAJU", "MR. K.T.H. (M) SDN BHD", "88 MINI MART S/B",
                  "PERDANA TEKNIK INTERNATIONAL SDN BHD", "KEDAI BESI HENG LOONG",
                  "ROTI EMAS BAKERIES (KL) SDN BHD", "RESTORAN SELERA KAMPUNG",
                  "LKW TRADING SDN BHD"],
        "streets": ["NO 17, JALAN MERANTI 4,", "LOT 602-A & 602-B, JALAN INDUSTRI 2,",
                    "NO.8 & 10, JALAN SEROJA 5/1,", "33, JALAN BAKAWALI 2/7,",
                    "LOT 118, JALAN KENANGA,"],
        "areas": ["TAMAN SRI MUDA,", "TAMAN BUKIT INDAH,", "BANDAR BARU BANGI,", "TAMAN PERMATA,"],
        "cities": ["53100 KUALA LUMPUR.", "43650 BANDAR BARU BANGI, SELANGOR",
                   "81200 JOHOR BAHRU, JOHOR.", "40460 SHAH ALAM, SELANGOR."],
        "tax": ("GST ID : 00{}", "Total GST @6%:", 0.06),
        "currency": "RM",
    },
    "uk": {
        "names": ["THE CORNER CAFE LTD", "HARBOUR BOOKS LIMITED", "GREEN GROCERS & CO",
                  "NORTHSIDE HARDWARE LTD"],
        "streets": ["45 HIGH STREET,", "UNIT 3, MILL LANE,", "12 STATION ROAD,"],
        "areas": ["CHESTERTON,", "OLD TOWN,"],
        "cities": ["CAMBRIDGE CB2 1TN", "YORK YO1 7HH", "BRISTOL BS1 4DJ"],
        "tax": ("VAT NO: GB {}", "VAT @20%:", 0.2),
        "currency": "GBP",
    },
}  # fmt: skip
_ITEMS = ["A4 PAPER 70GSM", "WHITE BREAD 400G", "MINERAL WATER 1.5L", "TEH TARIK",
          "PVC HOSE 3/4", "GLUE STICK 21G", "CHICKEN RICE", "ICE LEMON TEA", "FLAT WHITE",
          "SAFETY GOGGLE"]  # fmt: skip
_LEGAL_FORM = re.compile(r" ((?:SDN BHD|LIMITED|LTD))$")
_DATE_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y", "%d %b %Y", "%Y-%m-%d", "%d.%m.%Y"]


def till_receipt(seed: int) -> tuple[bytes, dict]:
    """A receipt scan (PNG) and its issuer, address, date and total."""
    rng = random.Random(seed)
    locale = _LOCALES["uk" if rng.random() < 0.3 else "my"]
    name = rng.choice(locale["names"])
    address = [rng.choice(locale[part]) for part in ("streets", "areas", "cities")]
    if rng.random() < 0.4:
        del address[1]
    day = datetime.date(2017, 1, 1) + datetime.timedelta(days=rng.randint(0, 700))
    printed_date = day.strftime(rng.choice(_DATE_FORMATS)).upper()
    items = [
        (rng.choice(_ITEMS), rng.randint(1, 4), rng.randint(90, 4500) / 100)
        for _ in range(rng.randint(1, 6))
    ]
    subtotal = round(sum(q * p for _, q, p in items), 2)
    tax_line, tax_label, rate = locale["tax"]
    tax = round(subtotal * rate, 2) if rng.random() < 0.6 else 0.0
    due = round(subtotal + tax, 2)
    total = round(round(due * 20) / 20, 2) if locale["currency"] == "RM" else due  # 5 sen
    cash = float(int(total / 10 + 1) * 10)

    head = [name]
    if rng.random() < 0.7:
        number = f"{rng.randint(100000, 999999)}-{rng.choice('AVXKDP')}"
        head.append(f"(CO. REG: {number})" if rng.random() < 0.5 else f"({number})")
    head += address
    lines: list[str] = list(head)
    if rng.random() < 0.6:
        digits = f"{rng.randint(1, 9)}-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        lines.append(f"TEL: 0{digits}")
    if tax:
        lines.append(tax_line.format(rng.randint(1000000000, 9999999999)))
    title = rng.choice(["TAX INVOICE", "SIMPLIFIED TAX INVOICE", "CASH BILL", "RECEIPT", ""])
    # Drawn apart from `rng` so that the receipts without them stay as they were.
    top = random.Random(seed + 1)
    title_on_top, logo = title and top.random() < 0.25, top.random() < 0.25
    lines.append("" if title_on_top else title)
    clock = f"{rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}"
    when = rng.choice([f"DATE: {printed_date}   {clock}", f"Date : {printed_date}",
                       f"{printed_date} {clock}",
                       f"Date: {printed_date} Time: {clock}"])  # fmt: skip
    serial = f"{rng.choice(['CS', 'T'])}{rng.randint(10000, 999999)}"
    number = f"{rng.choice(['INV NO', 'Receipt #', 'BILL NO'])}: {serial}"
    lines += [when, number] if rng.random() < 0.5 else [number, when]
    lines += [f"CASHIER: {rng.choice(['ANN', 'MUTHU', '01', 'LIM'])}", "-" * 40]
    for item, quantity, price in items:
        lines += [item, f"{quantity:>3} x {price:>8.2f}{quantity * price:>14.2f}"]
    lines += ["-" * 40, f"Total Qty: {sum(q for _, q, _ in items)}"]

    def row(label: str, value: float) -> str:
        return f"{label:<26}{value:>12.2f}"

    if tax:
        lines += [row("Sub Total (Excl Tax):", subtotal), row(tax_label, tax)]
        lines.append(row(rng.choice(["Total (Incl Tax):", "Total Sales (Inclusive"]), due))
    else:
        lines.append(row("SUB-TOTAL", subtotal))
    if total != due:
        lines.append(row("Rounding Adj", round(total - due, 2)))
    label = rng.choice(["TOTAL", "TOTAL:", "Total Amount", "NETT TOTAL", "GRAND TOTAL"])
    lines += [row(f"{label} {locale['currency']}" if rng.random() < 0.3 else label, total),
              row("CASH", cash), row("CHANGE", round(cash - total, 2)), "",
              rng.choice(["THANK YOU. PLEASE COME AGAIN.",
                          "GOODS SOLD ARE NOT RETURNABLE"])]  # fmt: skip

    if title_on_top:
        head.insert(0, title)
        lines.insert(0, title)
    legal = _LEGAL_FORM.search(name)
    if legal and top.random() < 0.3:  # a long name printed over two lines, its legal form last
        for block in (head, lines):
            at = block.index(name)
            block[at : at + 1] = [name[: legal.start()], legal.group(1)]
    size = rng.choice([20, 22, 24])
    font = ImageFont.truetype(rng.choice([MONO, MONO, SANS]), size)
    margin = 30 + (LOGO_HEIGHT + 20 if logo else 0)
    image = Image.new("L", (WIDTH, margin + 30 + (size + 10) * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    if logo:
        _draw_logo(draw, name, top)
    for index, line in enumerate(lines):
        centred = index < len(head)
        x = (WIDTH - draw.textlength(line, font=font)) / 2 if centred else 20
        draw.text((x, margin + (size + 10) * index), line, fill=rng.randint(0, 60), font=font)
    image = _scanned(image, rng, seed)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    fields = {"company": name, "address": ", ".join(line.rstrip(", ") for line in address),
              "date": day.isoformat(), "total": total}  # fmt: skip
    return buffer.getvalue(), fields


def _draw_logo(draw: ImageDraw.ImageDraw, name: str, rng: random.Random) -> None:
    """A shop's emblem over its name: its initials in white on a dark badge."""
    initials = "".join(word[0] for word in name.split()[:3] if word[0].isalpha())
    width = rng.randint(120, 220)
    left = (WIDTH - width) / 2
    box = (left, 30, left + width, 30 + LOGO_HEIGHT)
    if rng.random() < 0.5:
        draw.ellipse(box, fill=rng.randint(0, 80))
    else:
        draw.rounded_rectangle(box, radius=18, fill=rng.randint(0, 80))
    font = ImageFont.truetype(SANS, rng.choice([34, 40, 46]))
    x = (WIDTH - draw.textlength(initials, font=font)) / 2
    draw.text((x, 30 + (LOGO_HEIGHT - font.size) / 2 - 4), initials, fill=255, font=font)


def _scanned(image: Image.Image, rng: random.Random, seed: int) -> Image.Image:
    """Half of them at a low resolution; all faded, noisy, slightly turned and blurred."""
    if rng.random() < 0.5:
        factor = rng.uniform(0.55, 0.8)
        small = image.resize((int(image.width * factor), int(image.height * factor)))
        image = small.resize(image.size)
    pixels = np.asarray(image).astype(np.float32)
    pixels += np.random.default_rng(seed).normal(0, rng.uniform(3, 12), pixels.shape)
    pixels = pixels * rng.uniform(0.8, 1.0) + rng.uniform(0, 40)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    image = image.rotate(rng.uniform(-1.5, 1.5), fillcolor=235, expand=True)
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
