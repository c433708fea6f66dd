"""Document anchors: one word layer, `[x,y]text` lines, check boxes, the token budget."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageFilter

from docvlm.anchors import (
    CHECKED,
    UNCHECKED,
    AnchorFormat,
    anchor_lines,
    anchor_text,
    anchors_from_words,
    page_anchors,
    split_after_colon,
)
from docvlm.errors import DocVLMError
from docvlm.extraction.words import PageWords, Word, drawn_checkboxes
from docvlm.finetune.builders import synth_forms
from docvlm.finetune.data import encode_example, example_anchor_text
from docvlm.finetune.manifest import read_manifest
from docvlm.finetune.synth import synth_form
from docvlm.forms.align import align
from docvlm.model.processing_docvlm import DocVLMProcessor
from docvlm.sources import open_source

from .test_finetune_data import TinyConfig


@pytest.fixture(scope="module")
def processor() -> DocVLMProcessor:
    return DocVLMProcessor.from_config(TinyConfig())


@pytest.fixture(scope="module")
def claim_anchors():
    form = synth_form("claim", 3)
    with open_source(form.pdf) as document:
        return form, page_anchors(document.page(1))


def test_lines_carry_grid_positions_and_check_boxes(claim_anchors) -> None:
    form, anchors = claim_anchors
    lines = anchor_lines(anchors)
    assert anchors.source == "text"
    assert lines[0].startswith("[") and "INSURANCE CLAIM FORM" in lines[0]
    x, y = (int(v) for v in lines[0][1:].split("]")[0].split(","))
    assert 60 <= x <= 110 and 40 <= y <= 90  # 54 pt of 612, 60 pt of 792
    ticked = [line for line in lines if f"{CHECKED} " in line]
    unticked = [line for line in lines if f"{UNCHECKED} " in line]
    assert any(line.endswith(form.values["claim_type"]) for line in ticked)
    assert len(ticked) + len(unticked) == 5  # four claim types and the police report
    police = CHECKED if form.values["police_report_filed"] else UNCHECKED
    assert any(line.endswith(f"{police} Police report filed") for line in lines)


def test_training_and_inference_build_identical_prompts(tmp_path: Path, processor) -> None:
    manifest = synth_forms(tmp_path, 4, ("claim", "invoice"), seed=2, scanned=0.5, anchors="auto")
    examples = read_manifest(manifest)
    assert {e.anchors for e in examples} <= {"text", "ocr"}
    for example in examples:
        trained = example_anchor_text(example, processor)
        # Inference: the page opened the way `parse` / `extract` open it, anchors from the row.
        with open_source(example.pdf) as document:
            page = document.page(1)
            served = page_anchors(page, example.anchors)
            image = page.render(256)
        assert anchor_text(served, count_tokens=_counter(processor)) == trained
        prompt_ids = encode_example(processor, image, example.query, None, anchors=trained)
        expected = processor.prompt(example.query, 1, trained)
        decoded = processor.tokenizer.decode(prompt_ids["input_ids"])
        assert decoded == expected and trained in decoded


def test_budget_keeps_whole_leading_lines(claim_anchors) -> None:
    _, anchors = claim_anchors
    lines = anchor_lines(anchors)
    full = anchor_text(anchors, max_tokens=10**6)
    assert full == "\n".join(lines)
    budget = len("\n".join(lines[:5]).encode()) + 3  # room for 5 lines, not the sixth
    cut = anchor_text(anchors, max_tokens=budget)
    assert cut == "\n".join(lines[:5])
    assert len(cut.encode()) <= budget
    words = anchor_text(anchors, max_tokens=40, count_tokens=lambda text: len(text.split()))
    kept = words.split("\n")
    assert kept == lines[: len(kept)]
    assert sum(len(line.split()) for line in kept) + len(kept) - 1 <= 40
    assert anchor_text(anchors, max_tokens=1) == ""


def test_anchor_format_coarsens_or_drops_positions_and_joins_lines(
    claim_anchors, tmp_path: Path, processor
) -> None:
    _, anchors = claim_anchors
    segments = anchor_lines(anchors)
    coarse = anchor_lines(anchors, AnchorFormat(grid=100))
    assert [line.split("]", 1)[1] for line in coarse] == [s.split("]", 1)[1] for s in segments]
    x, y = (int(v) for v in segments[0][1:].split("]")[0].split(","))
    assert coarse[0].startswith(f"[{round(x / 10)},{round(y / 10)}]")
    joined = anchor_lines(anchors, AnchorFormat(grid=0, join_lines=True))
    assert len(joined) == len({word.line for word in anchors.words}) < len(segments)
    assert " ".join(joined) == " ".join(w.text for w in anchors.words)  # no positions left
    with pytest.raises(DocVLMError, match="anchor grid"):
        AnchorFormat(grid=2000)
    # The processor a model is saved with carries its format to inference.
    compact = DocVLMProcessor.from_config(TinyConfig(), anchor_format={"grid": 0})
    compact.save_pretrained(tmp_path)
    loaded = DocVLMProcessor.from_pretrained(tmp_path)
    manifest = synth_forms(tmp_path / "forms", 1, ("toy",), seed=1, anchors="text")
    example = read_manifest(manifest)[0]
    assert example_anchor_text(example, loaded) == example_anchor_text(example, compact)
    assert example_anchor_text(example, loaded) != example_anchor_text(example, processor)
    assert "[" not in example_anchor_text(example, loaded)


def test_scanned_page_anchors_come_from_ocr() -> None:
    form = synth_form("application", 4, scanned=True)
    with open_source(form.pdf) as document:
        anchors = page_anchors(document.page(1), "auto")
        none = page_anchors(document.page(1), "none")
    assert anchors.source == "ocr" and none.words == []
    text = anchor_text(anchors)
    assert form.values["email"] in text and "First Name:" in text


def test_image_pages_are_read_with_ocr(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (600, 400), "white").save(blank)
    with open_source(blank) as document:
        anchors = page_anchors(document.page(1), "text")
        with pytest.raises(DocVLMError, match="unknown anchors"):
            page_anchors(document.page(1), "pixels")
    assert anchors.source == "ocr" and anchors.words == []


def test_colon_splits_labels_from_values() -> None:
    parts = split_after_colon("Name:John", (0, 0, 90, 10))
    assert [p[0] for p in parts] == ["Name:", "John"]
    assert parts[0][1][2] == pytest.approx(50) and parts[1][1][0] == pytest.approx(50)
    assert [p[0] for p in split_after_colon("10:30", (0, 0, 5, 1))] == ["10:30"]
    assert [p[0] for p in split_after_colon("Date:", (0, 0, 5, 1))] == ["Date:"]


def _counter(processor):
    return lambda text: len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize(("seed", "line"), [(0, "Do you smoke? [x]"), (1, "Tobacco user [ ]")])
def test_a_box_drawn_after_its_label_on_a_scan_is_read_and_aligned(seed: int, line: str) -> None:
    # t27 draws its check boxes after their labels; OCR reads a ticked one as "Xx" or nothing.
    form = synth_form("t27", seed, scanned=True)
    with open_source(form.pdf) as document:
        anchors = page_anchors(document.page(1))
    assert anchors.source == "ocr"
    assert any(text.endswith(line) for text in anchor_lines(anchors))
    alignment = align({"smoker": form.values["smoker"]}, anchors.words)
    assert alignment.missing == []
    assert [anchors.words[i].text for i in alignment.spans[0].words] == [line[-3:]]


def _scanned_page(draw) -> tuple[bytes, pymupdf.Page]:
    """A page drawn by `draw(page)`, and the same page as a blurred 150 dpi greyscale scan."""
    document = pymupdf.open()
    page = document.new_page(width=612, height=792)
    draw(page)
    pixmap = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
    image = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(0.6)).save(buffer, format="PNG")
    scan = pymupdf.open()
    scan.new_page(width=612, height=792).insert_image(page.rect, stream=buffer.getvalue())
    return scan.tobytes(), page


def _box(page: pymupdf.Page, x: float, y: float, ticked: bool) -> None:
    rect = pymupdf.Rect(x, y - 9, x + 10, y + 1)
    page.draw_rect(rect, width=0.7)
    if ticked:
        page.draw_line(rect.tl + (2, 2), rect.br - (2, 2), width=1.1)
        page.draw_line(rect.bl + (2, -2), rect.tr - (2, -2), width=1.1)


def test_bold_capitals_on_a_scan_are_no_check_boxes() -> None:
    def draw(page: pymupdf.Page) -> None:
        page.insert_text((60, 100), "POLICY NUMBER MOBILE DOB", fontname="hebo", fontsize=10)
        _box(page, 300, 100, True)
        _box(page, 330, 100, False)

    scan, _ = _scanned_page(draw)
    with open_source(scan) as document:
        words = PageWords(1, "ocr", [], document.page(1))
        boxes = drawn_checkboxes(words, (40, 80, 360, 110), 7.5)
    assert [(ticked, round(box[0])) for ticked, box in boxes] == [(True, 300), (False, 330)]


def test_scanned_boxes_are_read_apart_from_what_ocr_glued_on_and_close_their_options() -> None:
    def draw(page: pymupdf.Page) -> None:
        page.insert_text((60, 100), "Status:", fontsize=10)
        x = 180.0
        for option, ticked in (("Single", True), ("Married", False), ("Divorced", False)):
            page.insert_text((x, 100), option, fontsize=10)
            x += pymupdf.get_text_length(option, "helv", 10) + 4
            _box(page, x, 100, ticked)
            x += 24
        page.insert_text((60, 130), "Smoker?", fontsize=10)
        _box(page, 180, 130, False)
        page.insert_text((194, 130), "Yes", fontsize=10)
        _box(page, 230, 130, True)
        page.insert_text((244, 130), "No", fontsize=10)

    scan, page = _scanned_page(draw)
    # What OCR makes of the boxes: a tick read "X", a border glued on as "[-" or "J".
    glued = {"Married": "Married[-", "No": "JNo"}
    ocr = []
    for x0, y0, x1, y1, text, *_ in page.get_text("words"):
        if text in glued:
            x0, x1 = (x0 - 13, x1) if text == "No" else (x0, x1 + 14)
        ocr.append(Word(glued.get(text, text), (x0, y0, x1, y1), 0.9))
    single_end = next(w.bbox[2] for w in ocr if w.text == "Single")
    ocr.append(Word("X", (single_end + 4, 91, single_end + 14, 101), 0.3))
    with open_source(scan) as document:
        anchors = anchors_from_words(PageWords(1, "ocr", ocr, document.page(1)))
    segments: dict[int, list[str]] = {}
    for word in anchors.words:
        segments.setdefault(word.segment, []).append(word.text)
    assert [" ".join(texts) for texts in segments.values()] == [
        "Status:", "Single [x]", "Married [ ]", "Divorced [ ]",
        "Smoker?", "[ ] Yes", "[x] No",
    ]  # fmt: skip


def test_an_email_ocr_split_apart_is_one_word_as_legible_as_its_worse_part() -> None:
    scan, _ = _scanned_page(lambda page: None)
    ocr = [
        Word("E-mail:", (60, 100, 90, 108), 0.95),
        Word("teil.", (200, 100, 217, 108), 0.14),  # 1.4 pt apart: no space in the pixels
        Word("nguyen@post.net", (218.4, 100, 288, 108), 0.84),
        Word("Contact", (60, 130, 95, 138), 0.95),
        Word("ann@mail.org", (98, 130, 150, 138), 0.95),  # a space apart
    ]
    with open_source(scan) as document:
        anchors = anchors_from_words(PageWords(1, "ocr", ocr, document.page(1)))
    assert [(w.text, w.confidence) for w in anchors.words] == [
        ("E-mail:", 0.95), ("teil.nguyen@post.net", 0.14), ("Contact", 0.95),
        ("ann@mail.org", 0.95),
    ]  # fmt: skip
