"""Procedural form templates `t0`, `t1`, …: many layouts of one family of fields.

A template is drawn once from its number: a domain and a subset of its fields, each field's
label wording (half its forms use another of the field's wordings), where values sit (beside
the label, below it, in a box, in a ruled grid), one to three columns, spacing and fonts, how
check boxes read (a box per option, yes/no pairs, a single box), whether a table of line items
is printed, and one convention for dates and one for amounts. Forms of a template then differ
in their values (and half their label wordings); restyled forms (layouts `v<n>`) draw their
own look and field order, so a few templates' fields print in as many layouts as there are
forms. Keys are shared across templates
(`date_of_birth` is the same key on every form that has one), so a model trained on some
templates can be scored on unseen ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pymupdf

PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0

_FIRST = [
    "Maria",
    "James",
    "Aiko",
    "Omar",
    "Elena",
    "Liam",
    "Priya",
    "Noah",
    "Sofia",
    "Chen",
    "Fatima",
    "Lukas",
    "Grace",
    "Mateo",
    "Hana",
    "Ivan",
    "Amara",
    "Jonas",
    "Leila",
    "Ravi",
]
_LAST = [
    "Garcia",
    "Smith",
    "Tanaka",
    "Haddad",
    "Rossi",
    "Murphy",
    "Patel",
    "Keller",
    "Novak",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Kowalski",
    "Silva",
    "Nguyen",
    "Brennan",
    "Schmidt",
]
_STREET = [
    "Market Street",
    "Harbor Road",
    "Oak Avenue",
    "Elm Drive",
    "King Boulevard",
    "Mill Lane",
    "Cedar Court",
    "River Way",
    "Station Road",
    "Maple Terrace",
]
_CITY = [
    ("Denver", "CO"),
    ("Portland", "OR"),
    ("Austin", "TX"),
    ("Boston", "MA"),
    ("Madison", "WI"),
    ("Tucson", "AZ"),
    ("Raleigh", "NC"),
    ("Boise", "ID"),
]
_COMPANY = [
    "Contoso Ltd.",
    "Fabrikam Inc.",
    "Northwind Traders",
    "Globex Corp.",
    "Initech LLC",
    "Umbrella Health",
    "Acme Mutual",
    "Blue Harbor Bank",
]
_ITEMS = [
    "Printer paper",
    "Toner cartridge",
    "Desk organizer",
    "USB-C cable",
    "Stapler",
    "Monitor stand",
    "Office chair mat",
    "Consultation",
    "X-ray",
    "Lab test",
    "Physiotherapy",
    "Towing",
    "Windshield repair",
    "Rental car",
]
_VEHICLES = ["Toyota Corolla", "Ford Focus", "Honda Civic", "Tesla Model 3", "Volvo XC60"]

# Dates print in one convention per template; slashes are month first (US), as values.py reads.
DATE_STYLES = ("%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y", "%d %b %Y", "%d.%m.%Y", "%b %d, %Y", "%d %B %Y")
AMOUNT_STYLES = ("${:,.2f}", "{:,.2f}", "{:,.2f} USD", "USD {:,.2f}", "eu", "$ {:,.2f}")


@dataclass(frozen=True)
class Field:
    """A schema key, its kind, its label wordings and (for choices) its options."""

    key: str
    kind: str  # text, name, date, amount, integer, email, phone, address, id, choice, flag
    labels: tuple[str, ...]
    options: tuple[str, ...] = ()


F = Field
FIELDS = {
    f.key: f
    for f in (
        F("first_name", "first", ("First Name", "Given Name", "First name", "Forename")),
        F("last_name", "last", ("Last Name", "Surname", "Family Name", "Last name")),
        F(
            "full_name",
            "name",
            ("Full Name", "Name", "Applicant Name", "Name of Insured", "Patient Name"),
        ),
        F("date_of_birth", "date", ("Date of Birth", "DOB", "Birth Date", "Date of birth")),
        F("signature_date", "date", ("Date Signed", "Signature Date", "Date", "Signed on")),
        F("start_date", "date", ("Start Date", "Effective Date", "Commencement Date", "From")),
        F(
            "date_of_loss",
            "date",
            ("Date of Loss", "Incident Date", "Date of Accident", "Loss Date"),
        ),
        F("email", "email", ("Email", "E-mail", "Email Address", "E-mail address")),
        F("phone", "phone", ("Phone", "Telephone", "Phone Number", "Tel.", "Mobile")),
        F("address", "address", ("Address", "Home Address", "Mailing Address", "Street Address")),
        F("policy_number", "id", ("Policy Number", "Policy No.", "Policy #", "Policy ID")),
        F("claim_number", "id", ("Claim Number", "Claim No.", "Claim #", "Claim Reference")),
        F("member_id", "id", ("Member ID", "Membership No.", "Customer ID", "Account Number")),
        F("amount", "amount", ("Amount Claimed", "Total Amount", "Amount", "Claim Amount")),
        F("annual_income", "amount", ("Annual Income", "Yearly Income", "Gross Income")),
        F("monthly_rent", "amount", ("Monthly Rent", "Rent per Month", "Rent")),
        F("deposit", "amount", ("Deposit", "Security Deposit", "Down Payment")),
        F("dependents", "integer", ("Dependents", "Number of Dependents", "No. of Children")),
        F("employer", "company", ("Employer", "Company", "Employer Name", "Organisation")),
        F("vehicle", "vehicle", ("Vehicle", "Make and Model", "Vehicle Make/Model")),
        F(
            "marital_status",
            "choice",
            ("Marital Status", "Status"),
            ("Single", "Married", "Divorced", "Widowed"),
        ),
        F(
            "payment_method",
            "choice",
            ("Payment Method", "Pay by", "Method of Payment"),
            ("Cash", "Check", "Card", "Transfer"),
        ),
        F(
            "claim_type",
            "choice",
            ("Claim Type", "Type of Claim", "Loss Type"),
            ("Auto", "Home", "Health", "Travel"),
        ),
        F("smoker", "flag", ("Smoker", "Do you smoke?", "Tobacco user")),
        F("us_citizen", "flag", ("US Citizen", "U.S. citizen?", "Citizen")),
        F("police_report", "flag", ("Police report filed", "Police notified", "Police Report")),
        F("consent", "flag", ("I consent to processing", "Consent given", "I agree to the terms")),
    )
}
DOMAINS = {
    "claim": (
        "full_name",
        "policy_number",
        "claim_number",
        "date_of_loss",
        "amount",
        "claim_type",
        "police_report",
        "phone",
        "vehicle",
        "signature_date",
        "email",
    ),
    "application": (
        "first_name",
        "last_name",
        "date_of_birth",
        "email",
        "phone",
        "address",
        "annual_income",
        "employer",
        "marital_status",
        "us_citizen",
        "dependents",
    ),
    "rental": (
        "full_name",
        "address",
        "start_date",
        "monthly_rent",
        "deposit",
        "phone",
        "payment_method",
        "smoker",
        "signature_date",
        "email",
        "member_id",
    ),
    "medical": (
        "full_name",
        "date_of_birth",
        "member_id",
        "policy_number",
        "phone",
        "address",
        "smoker",
        "consent",
        "amount",
        "signature_date",
        "marital_status",
    ),
}
TITLES = {
    "claim": ("INSURANCE CLAIM FORM", "Claim Notification", "First Notice of Loss"),
    "application": ("MEMBERSHIP APPLICATION", "Application Form", "Customer Registration"),
    "rental": ("RENTAL AGREEMENT", "Tenancy Application", "Lease Form"),
    "medical": ("PATIENT INTAKE FORM", "Medical Questionnaire", "Health Insurance Enrolment"),
}
TABLE_KEYS = ("description", "quantity", "unit_price", "amount")
TABLE_HEADERS = (
    ("Description", "Item", "Service"),
    ("Qty", "Quantity", "Units"),
    ("Unit Price", "Rate", "Price"),
    ("Amount", "Total", "Line Total"),
)


@dataclass
class Template:
    number: int
    domain: str
    title: str
    fields: list[tuple[Field, str]]  # field and the label this template prints
    style: str  # beside, below, boxed, grid
    columns: int
    row_gap: float
    label_gap: float
    size: float
    bold_labels: bool
    upper_labels: bool
    colon: bool
    choice_style: str  # boxes-before, boxes-after, text
    flag_style: str  # box, yes-no, text
    date_style: str
    amount_style: str
    table: tuple[str, str, str, str] | None
    top: float
    left: float


def template(number: int) -> Template:
    """Template `t<number>`: the same layout every time."""
    rng = random.Random(f"template-{number}")
    domain = list(DOMAINS)[number % len(DOMAINS)]
    keys = list(DOMAINS[domain])
    rng.shuffle(keys)
    chosen = keys[: rng.randint(5, 8)]
    fields = [(FIELDS[k], rng.choice(FIELDS[k].labels)) for k in chosen]
    table = None
    if rng.random() < 0.35 and "amount" not in chosen:
        table = tuple(rng.choice(options) for options in TABLE_HEADERS)
    title = rng.choice(TITLES[domain])
    return Template(
        number=number, domain=domain, title=title, fields=fields, table=table, **_look(rng)
    )


def _look(rng: random.Random) -> dict[str, Any]:
    """How a template prints its fields: style, columns, spacing, fonts, conventions, margins
    (drawn in this order: a template's look follows from its number)."""
    return dict(
        style=rng.choice(("beside", "beside", "below", "boxed", "grid")),
        columns=rng.choice((1, 2, 2, 3)),
        row_gap=rng.uniform(20, 34),
        label_gap=rng.uniform(6, 30),
        size=rng.choice((8.5, 9, 10, 11)),
        bold_labels=rng.random() < 0.6,
        upper_labels=rng.random() < 0.2,
        colon=rng.random() < 0.6,
        choice_style=rng.choice(("boxes-before", "boxes-after", "text")),
        flag_style=rng.choice(("box", "yes-no", "text")),
        date_style=rng.choice(DATE_STYLES),
        amount_style=rng.choice(AMOUNT_STYLES),
        top=rng.uniform(95, 140),
        left=rng.uniform(40, 70),
    )


def template_schema(number: int) -> dict[str, Any]:
    """The JSON Schema of the values a form of template `number` prints."""
    spec = template(number)
    properties = {field.key: _field_schema(field) for field, _ in spec.fields}
    if spec.table:
        number_type = {"type": "number"}
        properties["items"] = {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "quantity": {"type": "integer"},
                    "unit_price": number_type,
                    "amount": number_type,
                },
            },
        }
    return {"type": "object", "properties": properties, "required": list(properties)}


def _field_schema(field: Field) -> dict[str, Any]:
    match field.kind:
        case "date":
            return {"type": "string", "format": "date"}
        case "amount":
            return {"type": "number"}
        case "integer":
            return {"type": "integer"}
        case "email":
            return {"type": "string", "format": "email"}
        case "choice":
            return {"enum": list(field.options)}
        case "flag":
            return {"type": "boolean"}
    return {"type": "string"}


def template_form(
    number: int, rng: random.Random, restyle: bool = False
) -> tuple[bytes, dict[str, Any]]:
    """A PDF of template `number` filled with random values, and the values; `restyle` draws
    the form's look afresh and shuffles its fields (the template's fields, another layout)."""
    spec = template(number)
    if restyle:
        spec = replace(spec, **_look(rng))
        rng.shuffle(spec.fields)
    # Half the forms word a label another way: one wording per template would tie each
    # wording to one layout, and a model could not tell the two apart.
    spec.fields = [
        (f, rng.choice(f.labels) if rng.random() < 0.5 else label) for f, label in spec.fields
    ]
    pdf = pymupdf.open()
    page = pdf.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
    writer = _Page(page, spec.size)
    writer.text(spec.left, 70, spec.title, bold=True, size=16)
    writer.text(spec.left, 86, rng.choice(_COMPANY) + " · Please print clearly.", size=8)
    values: dict[str, Any] = {}
    column_width = (PAGE_WIDTH - 2 * spec.left) / spec.columns
    y = spec.top
    column = 0
    for field, label in spec.fields:
        wide = field.kind in ("choice", "address") or (
            field.kind == "flag" and spec.flag_style == "yes-no"
        )
        if wide and column:
            column, y = 0, y + _row_height(spec)
        x = spec.left + column * column_width
        values[field.key] = _draw_field(
            writer, spec, field, label, x, y, rng, column_width * (spec.columns if wide else 1)
        )
        column = 0 if wide else (column + 1) % spec.columns
        if column == 0:
            y += _row_height(spec) * (
                2 if field.kind == "address" and spec.style != "beside" else 1
            )
            if field.kind == "address" and spec.style == "beside":
                y += spec.size * 1.3
    if column:
        y += _row_height(spec)
    if spec.table:
        values["items"] = _draw_table(writer, spec, y + 10, rng)
    writer.text(spec.left, 740, "Signature: ______________________    Thank you.", size=8)
    ordered = {field.key: values[field.key] for field, _ in spec.fields}
    if spec.table:
        ordered["items"] = values["items"]
    return pdf.tobytes(garbage=3, deflate=True), ordered


def _row_height(spec: Template) -> float:
    extra = spec.size * 1.4 if spec.style in ("below", "boxed") else 0
    return spec.row_gap + extra


class _Page:
    def __init__(self, page: pymupdf.Page, size: float) -> None:
        self.page = page
        self.size = size

    def text(
        self, x: float, y: float, value: str, *, bold: bool = False, size: float | None = None
    ) -> float:
        font = "hebo" if bold else "helv"
        size = size or self.size
        self.page.insert_text((x, y), value, fontname=font, fontsize=size)
        return x + pymupdf.get_text_length(value, font, size)

    def box(self, x: float, y: float, ticked: bool) -> float:
        """A check box with its bottom on baseline y; returns its right edge."""
        side = min(max(self.size, 7), 10)
        rect = pymupdf.Rect(x, y - side + 1, x + side, y + 1)
        self.page.draw_rect(rect, width=0.7)
        if ticked:
            self.page.draw_line(rect.tl + (2, 2), rect.br - (2, 2), width=1.1)
            self.page.draw_line(rect.bl + (2, -2), rect.tr - (2, -2), width=1.1)
        return rect.x1


def _label(spec: Template, label: str) -> str:
    text = label.upper() if spec.upper_labels else label
    return text + (":" if spec.colon and not text.endswith("?") else "")


def _draw_field(
    w: _Page,
    spec: Template,
    field: Field,
    label: str,
    x: float,
    y: float,
    rng: random.Random,
    width: float,
) -> Any:
    value, printed = _value(field, spec, rng)
    label_text = _label(spec, label)
    boxed_choice = field.kind == "choice" and spec.choice_style != "text"
    if boxed_choice or (field.kind == "flag" and spec.flag_style != "text"):
        return _draw_choice(w, spec, field, label_text, x, y, value)
    lines = printed.split("\n")
    if spec.style == "beside" or spec.style == "grid":
        end = w.text(x, y, label_text, bold=spec.bold_labels)
        value_x = max(end + spec.label_gap * 0.5 + 4, x + min(width * 0.42, 130))
        if spec.style == "grid":
            w.page.draw_rect(pymupdf.Rect(x - 3, y - spec.size - 3, value_x - 4, y + 5), width=0.5)
            w.page.draw_rect(
                pymupdf.Rect(value_x - 4, y - spec.size - 3, x + width - 8, y + 5), width=0.5
            )
        size = _fitting_size(lines, spec.size, x + width - value_x - 8)
        for index, line in enumerate(lines):
            w.text(value_x, y + index * spec.size * 1.3, line, size=size)
    else:
        w.text(x, y, label_text, bold=spec.bold_labels, size=spec.size * 0.9)
        value_y = y + spec.size * 1.5
        if spec.style == "boxed":
            height = spec.size * 1.4 * len(lines) + 4
            w.page.draw_rect(
                pymupdf.Rect(
                    x, value_y - spec.size - 2, x + width - 14, value_y - spec.size - 2 + height
                ),
                width=0.5,
            )
        size = _fitting_size(lines, spec.size, width - 20)
        for index, line in enumerate(lines):
            w.text(x + 4, value_y + index * spec.size * 1.3, line, size=size)
    return value


def _fitting_size(lines: list[str], size: float, room: float) -> float:
    """The font size (at most `size`) at which every line fits in `room` points."""
    widest = max(pymupdf.get_text_length(line, "helv", size) for line in lines)
    return size if widest <= room else max(size * room / widest, 5.0)


def _draw_choice(
    w: _Page, spec: Template, field: Field, label: str, x: float, y: float, value: Any
) -> Any:
    end = w.text(x, y, label, bold=spec.bold_labels)
    cursor = max(end + 10, x + 120)
    if field.kind == "flag":
        if spec.flag_style == "box":
            w.box(end + 8, y, value)
            return value
        options, chosen = ("Yes", "No"), ("Yes" if value else "No")
    else:
        options, chosen = field.options, value
    for option in options:
        ticked = option == chosen
        if spec.choice_style == "boxes-after":
            cursor = w.text(cursor, y, option) + 4
            cursor = w.box(cursor, y, ticked) + 14
        else:
            cursor = w.box(cursor, y, ticked) + 4
            cursor = w.text(cursor, y, option) + 14
    return value


def _value(field: Field, spec: Template, rng: random.Random) -> tuple[Any, str]:
    """(JSON value, printed text) for one field."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    match field.kind:
        case "first":
            return first, first
        case "last":
            return last, last
        case "name":
            return f"{first} {last}", f"{first} {last}"
        case "date":
            day = date(1950, 1, 1) + timedelta(days=rng.randrange(75 * 365))
            return day.isoformat(), day.strftime(spec.date_style)
        case "amount":
            amount = (
                round(rng.uniform(50, 90000), 2)
                if rng.random() < 0.8
                else float(rng.randrange(100, 5000, 50))
            )
            return amount, format_amount(amount, spec.amount_style)
        case "integer":
            count = rng.randint(0, 6)
            return count, str(count)
        case "email":
            domain = rng.choice(["example.com", "mail.org", "post.net"])
            text = f"{first.lower()}.{last.lower()}@{domain}"
            return text, text
        case "phone":
            text = f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
            return text, text
        case "address":
            city, state = rng.choice(_CITY)
            street = f"{rng.randint(1, 9999)} {rng.choice(_STREET)}"
            town = f"{city}, {state} {rng.randint(10000, 99999)}"
            return f"{street}, {town}", f"{street}\n{town}"
        case "id":
            prefix = "".join(
                rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(2, 3))
            )
            text = f"{prefix}-{rng.randint(10000, 9999999)}"
            return text, text
        case "company":
            text = rng.choice(_COMPANY)
            return text, text
        case "vehicle":
            text = rng.choice(_VEHICLES)
            return text, text
        case "choice":
            option = rng.choice(field.options)
            return option, option
        case "flag":
            flag = rng.random() < 0.5
            return flag, "Yes" if flag else "No"
    raise ValueError(f"unknown field kind {field.kind!r}")


def format_amount(amount: float, style: str) -> str:
    """An amount in one printed convention ("eu": 1.234,56 €)."""
    if style == "eu":
        whole, cents = f"{amount:,.2f}".split(".")
        return f"{whole.replace(',', '.')},{cents} €"
    return style.format(amount)


def _draw_table(w: _Page, spec: Template, y: float, rng: random.Random) -> list[dict[str, Any]]:
    columns = [spec.left + 6, spec.left + 250, spec.left + 330, spec.left + 430]
    for title, x in zip(spec.table, columns, strict=True):
        w.text(x, y, title, bold=True)
    w.page.draw_line((spec.left, y + 4), (PAGE_WIDTH - spec.left, y + 4), width=0.6)
    items = []
    for index in range(rng.randint(1, 5)):
        row_y = y + 18 + 16 * index
        quantity = rng.randint(1, 30)
        price = round(rng.uniform(2, 400), 2)
        amount = round(quantity * price, 2)
        description = rng.choice(_ITEMS)
        for text, x in zip(
            (description, str(quantity), f"{price:,.2f}", f"{amount:,.2f}"), columns, strict=True
        ):
            w.text(x, row_y, text)
        items.append(
            {
                "description": description,
                "quantity": quantity,
                "unit_price": price,
                "amount": amount,
            }
        )
    return items
