"""Text-layer engine on the born-digital samples: structure, order, tables and furniture."""

from __future__ import annotations

import pytest

from docvlm.document import BlockType, Document, Page
from docvlm.engines.textlayer import TextLayerEngine
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
