"""Text-layer engine on the born-digital samples: structure, order, tables and furniture."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from docvlm.document import Block, BlockType, Document, Page
from docvlm.engines.textlayer import TextLayerEngine
from docvlm.engines.textlayer.lines import MARKER, normalize_text
from docvlm.errors import EngineUnavailableError
from docvlm.furniture import mark_furniture
from docvlm.metrics import normalized_edit_distance
from docvlm.sources import open_source


def _parse(path) -> Document:
    engine = TextLayerEngine()
    with open_source(path) as source:
        pages = list(source.pages())
        pages_blocks = [engine.parse(page) for page in pages]
        mark_furniture(pages_blocks)
        return Document(
            source=str(path),
            page_count=len(pages),
            pages=[
                Page(number=p.number, width=p.width, height=p.height, engine="text", blocks=b)
                for p, b in zip(pages, pages_blocks, strict=True)
            ],
        )


@pytest.fixture(scope="module")
def report(samples_dir) -> Document:
    return _parse(samples_dir / "report.pdf")


def _texts(document: Document, kind: BlockType) -> list[str]:
    return [b.text for b in document.blocks if b.type == kind]


def test_headings_have_levels_from_font_size(report):
    headings = [(b.level, b.text) for b in report.blocks if b.type == BlockType.HEADING]
    assert headings == [
        (1, "Document Understanding at Scale"),
        (2, "Introduction"),
        (3, "Goals"),
        (2, "Method"),
        (3, "Evaluation"),
        (2, "Results"),
        (3, "Accuracy"),
        (3, "Throughput"),
    ]


def test_bulleted_list_with_nesting(report):
    bullets = [(b.level, b.text) for b in report.blocks if b.type == BlockType.LIST_ITEM]
    assert bullets[:4] == [
        (1, "Parse every page in reading order."),
        (1, "Keep tables as cell grids."),
        (2, "Merged cells keep their spans."),
        (1, "Record which engine read each page."),
    ]
    items = [b for b in report.blocks if b.type == BlockType.LIST_ITEM]
    assert [b.ordered for b in items] == [False] * 4 + [True] * 3


def test_numbered_list(report):
    numbered = [b.text for b in report.blocks if b.type == BlockType.LIST_ITEM and b.ordered]
    assert numbered == [
        "Open the file and select pages.",
        "Route each page to an engine.",
        "Merge the blocks into one document.",
    ]


def test_ruled_and_unruled_tables_have_exact_cells(report):
    tables = [b.table for b in report.blocks if b.type == BlockType.TABLE]
    assert [t.rows() for t in tables] == [
        [
            ["Engine", "Pages", "Edit distance", "Pages per second"],
            ["Text layer", "1200", "0.01", "40.0"],
            ["Tesseract", "800", "0.06", "1.1"],
            ["Vision model", "800", "0.04", "2.5"],
        ],
        [
            ["Stage", "Machines", "Cost per month"],
            ["Ingestion", "2", "$310"],
            ["Recognition", "6", "$1,840"],
            ["Review", "1", "$95"],
        ],
    ]
    assert all(t.header_rows == 1 for t in tables)
    assert not any("1200" in text for text in _texts(report, BlockType.PARAGRAPH))


def test_two_columns_do_not_interleave(report):
    page_one = report.pages[0].content_blocks()
    texts = [b.text for b in page_one]
    left_last = next(i for i, t in enumerate(texts) if t == "Record which engine read each page.")
    right_first = next(i for i, t in enumerate(texts) if t.startswith("The pipeline first probes"))
    assert texts.index("Introduction") < left_last < texts.index("Method") < right_first
    assert all(b.bbox[0] < 300 for b in page_one[1 : left_last + 1])


def test_paragraphs_keep_bold_italic_and_undo_hyphenation(report):
    paragraphs = _texts(report, BlockType.PARAGRAPH)
    assert "Most of them are **born-digital** reports" in paragraphs[1]
    assert "while the rest are *scanned* letters" in paragraphs[1]
    assert "go to the **text engine**, which reads" in paragraphs[3]
    assert "structured information that analysts" in paragraphs[2]
    assert paragraphs[0] == "*Prepared by the Data Platform team for the steering group.*"


def test_repeated_header_and_footer_are_furniture(report):
    for page in report.pages:
        furniture = [(b.type, b.text) for b in page.blocks if b.type != BlockType.PARAGRAPH]
        assert (BlockType.PAGE_HEADER, "Acme Research Annual Report 2024") in furniture
        assert (BlockType.PAGE_FOOTER, f"Page {page.number} of 2") in furniture
    markdown = report.to_markdown()
    assert "Acme Research" not in markdown and "Page 1 of 2" not in markdown
    assert "Page 2 of 2" in report.to_markdown(include_furniture=True)


def test_markdown_matches_expected(report, expected_report_markdown):
    distance = normalized_edit_distance(report.to_markdown(), expected_report_markdown)
    assert distance <= 0.05


def test_blocks_carry_provenance(report):
    for page in report.pages:
        for block in page.blocks:
            x0, y0, x1, y1 = block.bbox
            assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height
            assert (block.page, block.engine, block.confidence) == (page.number, "text", 1.0)


def test_invoice_line_items_and_totals_without_furniture(samples_dir):
    document = _parse(samples_dir / "invoice.pdf")
    assert not any(
        b.type in (BlockType.PAGE_HEADER, BlockType.PAGE_FOOTER) for b in document.blocks
    )
    tables = [b.table for b in document.blocks if b.type == BlockType.TABLE]
    assert [t.rows() for t in tables] == [
        [
            ["Description", "Qty", "Unit Price", "Amount"],
            ["Laser printer paper (box)", "12", "24.50", "294.00"],
            ["Toner cartridge, black", "3", "89.00", "267.00"],
            ["Desk organizer", "5", "15.75", "78.75"],
        ],
        [["Subtotal:", "639.75 USD"], ["Tax (8%):", "51.18 USD"], ["Total:", "690.93 USD"]],
    ]
    assert [t.header_rows for t in tables] == [1, 0]


def test_image_pages_raise_typed_error(samples_dir, tmp_path):
    engine = TextLayerEngine()
    with open_source(samples_dir / "mixed.pdf") as source:
        assert engine.parse(source.page(1))
        with pytest.raises(EngineUnavailableError, match="page 2 .* --engine ocr"):
            engine.parse(source.page(2))
        source.page(2).render(896).save(tmp_path / "scan.png")
    with (
        open_source(tmp_path / "scan.png") as source,
        pytest.raises(EngineUnavailableError, match="page 1 .* --engine ocr"),
    ):
        engine.parse(source.page(1))


# ---- real public pages (bench/corpus, committed) and constructed ones -------------------

CORPUS = Path(__file__).resolve().parent.parent / "bench" / "corpus" / "pdfs"


def _page_blocks(path: Path, number: int = 1) -> list:
    engine = TextLayerEngine()
    with open_source(path) as source:
        return engine.parse(source.page(number))


@pytest.mark.parametrize(
    ("layer", "normalized"),
    [
        ("difﬁcult ﬂow", "difficult flow"),  # ligatures
        ("اﻧﻮاع اﳋﻄﻮط", "انواع الخطوط"),  # Arabic presentation forms
        ("na¨ıve caf´e", "naïve café"),  # TeX's detached accents before their letter
        ("don´t", "don´t"),  # no letter takes it: left alone
        ("e\u0301tude", "étude"),  # a combining mark composed
        ("½ ™ ２", "½ ™ ２"),  # other compatibility characters are not touched
    ],
)
def test_unicode_repair_touches_only_ligatures_forms_and_accents(layer, normalized):
    assert normalize_text(layer) == normalized


def test_code_listing_is_fenced_line_by_line_with_its_comments():
    blocks = _page_blocks(CORPUS / "tracemonkey.pdf", 3)
    code = [b for b in blocks if b.type == BlockType.CODE]
    assert len(code) == 2
    first = code[0].text.splitlines()
    assert " ".join(first[0].split()) == (
        "v0 := ld state[748] // load primes from the trace activation record"
    )
    assert first[1].startswith("     st sp[0], v0")  # the indentation of the listing is kept
    captions = [b.text for b in blocks if b.text.startswith("**Figure 3.")]
    assert captions and blocks.index(code[0]) < [b.text for b in blocks].index(captions[0])


def test_rotated_page_reads_in_its_text_direction():
    blocks = _page_blocks(CORPUS / "rotation.pdf", 2)  # /Rotate 90, text running up the page
    text = " ".join(b.text for b in blocks)
    assert text.index("This is my second page.") < text.index("Second line here.")


def test_vertical_cjk_reads_top_to_bottom_right_to_left():
    text = "".join(b.text for b in _page_blocks(CORPUS / "cjk-vertical.pdf"))
    assert text == "あいうえお日本語"


def test_spaced_out_cjk_heading_is_one_heading():
    blocks = _page_blocks(CORPUS / "cjk-xiaobiaosong.pdf")
    headings = [b.text for b in blocks if b.type == BlockType.HEADING]
    assert headings == ["目录"]
    assert "关于红军作战的原则" in [b.text for b in blocks]


def test_filled_acroform_fields_are_key_values_and_empty_ones_write_nothing():
    blocks = _page_blocks(CORPUS / "acroform-test.pdf")
    pairs = {b.key: b.text for b in blocks if b.type == BlockType.KEY_VALUE}
    assert pairs == {"DROPDOWN": "111", "LIST": "fff"}
    assert not [b for b in blocks if b.type == BlockType.TABLE]


def test_ruled_frame_around_an_unruled_body_is_read_by_its_rows():
    blocks = _page_blocks(CORPUS / "camelot-12s0324.pdf")
    rows = [r for b in blocks if b.table for r in b.table.rows()]
    assert [
        "Robbery",
        "102.1",
        "25.5",
        "76.6",
        "90.0",
        "22.9",
        "67.1",
        "12.1",
        "2.5",
        "9.5",
    ] in rows


def _ruled_pdf(tmp_path: Path, boxes: int) -> Path:
    """A page of one big frame around a paragraph and a row of empty check boxes."""
    pdf = pymupdf.open()
    page = pdf.new_page()
    page.draw_rect(pymupdf.Rect(30, 30, 580, 760))
    page.insert_textbox(pymupdf.Rect(50, 50, 550, 200), "A questionnaire. " * 20, fontsize=10)
    for k in range(boxes):
        page.draw_rect(pymupdf.Rect(50 + 40 * k, 300, 60 + 40 * k, 310))
        page.insert_text((62 + 40 * k, 309), "no", fontsize=8)
    path = tmp_path / "frame.pdf"
    pdf.save(path)
    return path


def test_page_frame_and_check_boxes_are_no_table(tmp_path):
    blocks = _page_blocks(_ruled_pdf(tmp_path, 8))
    assert not [b for b in blocks if b.type == BlockType.TABLE]
    assert "A questionnaire." in blocks[0].text


def test_side_slug_and_print_slug_are_furniture_but_a_repeated_paragraph_is_not():
    def page_blocks(number: int) -> list[Block]:
        body = "A body paragraph that opens every page alike, " * 4  # long: never furniture
        return [
            Block(type=BlockType.PARAGRAPH, text=body, page=number, bbox=(50, 60, 550, 90)),
            Block(
                type=BlockType.PARAGRAPH,
                text=f"text {number}",
                page=number,
                bbox=(50, 100, 550, 700),
            ),
            Block(
                type=BlockType.PARAGRAPH,
                text="VerDate Sep<11>2014",
                page=number,
                bbox=(25, 767, 93, 773),
            ),
            Block(
                type=BlockType.PARAGRAPH,
                text=f"Frm 0000{number}",
                page=number,
                bbox=(239, 767, 271, 773),
            ),
            Block(
                type=BlockType.PARAGRAPH,
                text="jbell on DSK with PROPOSALS",
                page=number,
                bbox=(18, 667, 23, 774),
            ),
        ]

    pages = [page_blocks(n) for n in (1, 2, 3)]
    mark_furniture(pages)
    kinds = [[b.type for b in blocks] for blocks in pages]
    for page_kinds in kinds:
        assert page_kinds[:2] == [BlockType.PARAGRAPH, BlockType.PARAGRAPH]
        assert set(page_kinds[2:]) == {BlockType.PAGE_FOOTER}


def test_chart_labels_become_one_figure_beside_the_running_text(tmp_path):
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=842)
    sentence = "The price of ethanol rose slowly over the year while soybean oil stayed flat."
    for row in range(8):
        page.insert_text((50, 100 + 14 * row), sentence, fontsize=10)
    page.draw_rect(pymupdf.Rect(300, 250, 550, 450))
    points = [pymupdf.Point(320 + 20 * k, 400 - (35 if k % 2 else 0) - 5 * k) for k in range(11)]
    page.draw_polyline(points)
    for k, tick in enumerate(("2.60", "2.40", "2.20", "2.00")):
        page.insert_text((305, 270 + 45 * k), tick, fontsize=7)
    page.insert_text((330, 440), "J F M A M J J A S O N D", fontsize=7)
    path = tmp_path / "chart.pdf"
    pdf.save(path)
    blocks = _page_blocks(path)
    figures = [b for b in blocks if b.type == BlockType.FIGURE]
    assert (
        len(figures) == 1
        and "2.60" in figures[0].labels
        and "J F M A M J J A S O N D" in figures[0].labels
    )
    assert figures[0].text == "" and "2.60" not in figures[0].to_markdown()
    paragraphs = " ".join(b.text for b in blocks if b.type == BlockType.PARAGRAPH)
    assert paragraphs.count("soybean oil stayed flat") == 8 and "2.40" not in paragraphs


def test_a_title_in_capitals_is_not_the_running_header_of_later_pages():
    def page_blocks(number: int, top: str) -> list[Block]:
        return [
            Block(type=BlockType.PARAGRAPH, text=top, page=number, bbox=(72, 40, 400, 52)),
            Block(
                type=BlockType.PARAGRAPH, text="body " * 30, page=number, bbox=(72, 80, 540, 700)
            ),
        ]

    title = "THE DIGITAL MILLENNIUM COPYRIGHT ACT OF 1998"
    header = "The Digital Millennium Copyright Act of 1998"
    pages = [page_blocks(1, title)] + [page_blocks(n, header) for n in (2, 3)]
    mark_furniture(pages)
    assert [blocks[0].type for blocks in pages] == [
        BlockType.PARAGRAPH,
        BlockType.PAGE_HEADER,
        BlockType.PAGE_HEADER,
    ]


def test_a_table_in_a_side_panel_is_found_beside_running_text(tmp_path):
    pdf = pymupdf.open()
    page = pdf.new_page(width=842, height=595)
    prose = "Revenue growth will be driven by the rail projects added to the order book."
    rows = [("", "2024", "2025e", "2026e"), ("Revenue", "275.5", "295.6", "319.4")]
    rows += [("EBITA", "8.8", "10.3", "12.2"), ("Net income", "4.4", "5.6", "7.1")]
    for line in range(12):
        page.insert_text((40, 80 + 14 * line), prose, fontsize=10)
    for k, row in enumerate(rows):
        for col, cell in enumerate(row):
            page.insert_text((560 + 70 * col, 80 + 14 * (k + 2)), cell, fontsize=10)
    path = tmp_path / "panel.pdf"
    pdf.save(path)
    blocks = _page_blocks(path)
    tables = [b.table.rows() for b in blocks if b.type == BlockType.TABLE]
    assert tables == [[list(row) for row in rows]]
    paragraphs = " ".join(b.text for b in blocks if b.type == BlockType.PARAGRAPH)
    assert paragraphs.count("added to the order book.") == 12


@pytest.mark.parametrize(
    ("line", "item"),
    [("1. First step", True), ("a) an option", True), ("(B) a clause", True)]
    + [("M. Gaëtan Gagné, conseiller municipal", False), ("J. Smith wrote", False)],
)
def test_list_markers_are_not_initials(line, item):
    assert bool(MARKER.match(line)) == item


def test_a_picture_is_a_figure_block_holding_its_caption(tmp_path):
    pdf = pymupdf.open()
    page = pdf.new_page(width=612, height=792)
    page.insert_text(
        (72, 90), "The survey covered every county of the state in one year.", fontsize=10
    )
    picture = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 40), False)
    picture.clear_with(180)
    page.insert_image(pymupdf.Rect(150, 120, 450, 320), pixmap=picture)
    page.insert_text((150, 338), "Figure 2: Counties by response rate.", fontsize=10)
    page.insert_text(
        (72, 380), "Response rates were highest where the survey was mailed.", fontsize=10
    )
    path = tmp_path / "picture.pdf"
    pdf.save(path)
    blocks = _page_blocks(path)
    assert [b.type for b in blocks] == [BlockType.PARAGRAPH, BlockType.FIGURE, BlockType.PARAGRAPH]
    assert blocks[1].text == "Figure 2: Counties by response rate."
    assert "Figure 2" not in blocks[0].text + blocks[2].text
    assert blocks[1].to_markdown() == "![Figure 2: Counties by response rate.]()"
