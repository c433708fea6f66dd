"""Label–value pairing on printed forms: where a value sits, how far it reaches, how sure it is."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pymupdf
import pytest
from PIL import Image, ImageDraw

import docvlm
from docvlm.extraction.extractor import extract_without_model
from docvlm.extraction.labels import MIN_LABEL_SCORE, STRONG_LABEL_SCORE, label_score
from docvlm.extraction.neighbours import right_of
from docvlm.extraction.pairing import (
    FREE_TEXT_FLOOR,
    Candidate,
    _surest_first,
    _unglued_label,
    pair_fields,
    unsure_fields,
)
from docvlm.extraction.reading import _DASH_LED
from docvlm.extraction.result import Found
from docvlm.extraction.schema import load_schema
from docvlm.extraction.words import PageWords, Segment, Word, _unglued
from docvlm.extraction.wrapped import join_wrapped_labels


def _page(texts: list[tuple[float, float, str] | tuple[float, float, str, float]]) -> bytes:
    """A born-digital page with each text at its (x, baseline y), in 11 pt or the size given."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    for x, y, text, *size in texts:
        page.insert_text((x, y), text, fontname="helv", fontsize=size[0] if size else 11)
    return doc.tobytes()


def _schema(*titles: str) -> dict:
    properties = {f"f{i}": {"type": ["string", "null"], "title": t} for i, t in enumerate(titles)}
    return {"type": "object", "properties": properties}


def test_a_value_typed_below_its_labels_baseline_is_read_from_the_labels_band() -> None:
    # A typewriter's answer sits a few points off the printed label's line.
    pdf = _page([(72, 100, "Supervisor:"), (200, 109, "J. S. Wigand"),
                 (72, 130, "Suggestion:"), (200, 130, "Delete the coal analyses")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Supervisor:", "Suggestion:"))
    assert result.data == {"f0": "J. S. Wigand", "f1": "Delete the coal analyses"}


def test_a_wrapped_answer_is_read_whole_and_stops_at_the_next_rows_label() -> None:
    pdf = _page([(72, 100, "Brand:"), (200, 100, "PHOENIX"),
                 (72, 114, "Style"), (200, 114, "HLB - KS"),
                 (72, 160, "Comments:"), (200, 160, "The sample was"),
                 (200, 174, "received late and"), (200, 188, "tested twice."),
                 (72, 230, "Approved:"), (200, 230, "yes")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Brand", "Comments"))
    assert result.data["f0"] == "PHOENIX"  # "HLB - KS" answers the unlisted "Style" row
    assert result.data["f1"] == "The sample was received late and tested twice."


def test_words_printed_just_after_a_value_belong_to_it() -> None:
    pdf = _page([(72, 100, "Laboratory:"), (200, 100, "One"), (238, 100, "Tray"),
                 (420, 100, "Shipping:"), (500, 100, "Routh")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Laboratory", "Shipping"))
    assert result.data == {"f0": "One Tray", "f1": "Routh"}


def test_a_tall_labels_row_goes_on_past_the_line_above_reaching_into_its_band() -> None:
    # "Female" printed larger: its band holds the "Male" row's figures too, which start
    # under the value; they are that row's, not the end of this one.
    pdf = _page([(72, 100, "Male"), (160, 100, "1.9"), (200, 100, "(104)"), (300, 100, "(101)"),
                 (72, 116, "Female", 16), (158, 113, "5.0"), (198, 113, "(120)"),
                 (298, 113, "(121)")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Male", "Female"))
    assert result.data == {"f0": "1.9 (104) (101)", "f1": "5.0 (120) (121)"}
    assert result.fields["/f1"].confidence < 0.9  # where a crowded row ends is a guess


def test_the_rest_of_a_fields_own_label_is_not_its_value() -> None:
    pdf = _page([(72, 100, "This Change:"), (150, 100, "(From Current Budget)"),
                 (72, 116, "+14,165.00")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("This Change: (From Current Budget)"))
    assert result.data["f0"] == "+14,165.00"
    assert result.fields["/f0"].confidence < 0.9  # free text under its label


def test_a_label_printed_over_two_lines_is_read_whole() -> None:
    # Neither line names the field, the two together do; the answer sits beside whichever
    # line has one nearest ("(Current Year)" glosses another label, farther off).
    pdf = _page([(72, 100, "Analyst:"), (200, 100, "R. Smith"),
                 (72, 130, "OTHER PERSONNEL"), (80, 143, "ASSIGNED"), (200, 143, "E. P. Barbee"),
                 (72, 180, "Final Report Due"), (200, 180, "7/9/90"),
                 (80, 193, "Wave(s)"), (330, 193, "(Current Year)")])  # fmt: skip
    titles = ("Analyst", "OTHER PERSONNEL ASSIGNED", "Final Report Due Wave(s)")
    result = docvlm.extract(pdf, _schema(*titles))
    assert result.data == {"f0": "R. Smith", "f1": "E. P. Barbee", "f2": "7/9/90"}
    assert result.fields["/f1"].confidence < result.fields["/f0"].confidence


def test_a_header_repeating_a_wrapped_labels_wording_is_no_answer() -> None:
    # A header row: the next column's heading repeats the label's first line.
    pdf = _page([(72, 100, "Mean of Last"), (72, 113, "12 Samples"),
                 (160, 100, "Present Sample Mean of Last"), (72, 135, "1.106")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Mean of Last 12 Samples"))
    assert result.data["f0"] == "1.106"


def test_a_line_ending_in_a_colon_is_a_whole_label_not_the_start_of_one() -> None:
    pdf = _page([(72, 100, "Account:"), (72, 113, "Holder"), (200, 113, "J. Doe")])
    result = docvlm.extract(pdf, _schema("Account Holder"))
    assert result.data["f0"] is None


def test_a_currency_sign_printed_apart_before_an_amount_is_part_of_it() -> None:
    pdf = _page([(72, 100, "Previous Commitments:"), (220, 100, "$"), (245, 100, "10,000."),
                 (72, 130, "Approved:"), (220, 130, "-"), (245, 130, "J. Smith")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Previous Commitments", "Approved"))
    assert result.data == {"f0": "$ 10,000.", "f1": "J. Smith"}  # a rule end is no sign


def test_a_value_with_unread_text_after_it_on_its_line_is_less_sure() -> None:
    # "Acme | Corp Ltd": the answer may go on past the gap; a label after it ends it, also
    # one read together with its own value ("Weight 12 kg").
    pdf = _page([(72, 100, "Project:"), (150, 100, "Alpha"), (260, 100, "Due:"),
                 (72, 130, "Client:"), (150, 130, "Acme"), (230, 130, "Corp Ltd"),
                 (72, 160, "Batch:"), (150, 160, "B-70"), (230, 160, "Weight 12 kg")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Project", "Client", "Batch", "Weight"))
    assert result.data == {"f0": "Alpha", "f1": "Acme", "f2": "B-70", "f3": "12 kg"}
    assert result.fields["/f1"].confidence < result.fields["/f0"].confidence
    assert result.fields["/f2"].confidence == result.fields["/f0"].confidence


def test_a_label_printed_twice_keeps_its_first_value_above_free_text_under_a_label() -> None:
    # Beside its colon the first value is as often right as any; the doubt is which copy.
    pdf = _page([(72, 100, "Name:"), (150, 100, "Ann Lee"),
                 (72, 130, "Name:"), (150, 130, "Bo Chan"),
                 (72, 170, "Remarks"), (72, 190, "Sent back twice")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Name", "Remarks"))
    assert result.data == {"f0": "Ann Lee", "f1": "Sent back twice"}
    assert any(w["pointer"] == "/f0" for w in result.warnings)
    assert result.fields["/f0"].confidence > result.fields["/f1"].confidence


def test_an_address_beside_its_label_goes_on_back_under_the_label() -> None:
    # An address under "Attn:"'s name, printed back at the label's margin, is the answer's;
    # a row's own next label under it ("Date:"), or a line aligned with it, is not.
    pdf = _page([(72, 100, "Attn:"), (140, 100, "Mr. Steven Katz"),
                 (72, 114, "Route 4 and Adams Station"), (72, 128, "North Brunswick, NJ"),
                 (72, 180, "Re:"), (140, 180, "Poster samples"), (72, 194, "Date:"),
                 (72, 240, "From:"), (140, 240, "R. Smith"), (140, 254, "Sales")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Attn", "Re", "Date", "From"))
    assert result.data["f0"] == "Mr. Steven Katz Route 4 and Adams Station North Brunswick, NJ"
    assert result.data["f1"] == "Poster samples"
    assert result.data["f2"] is None
    assert result.data["f3"] == "R. Smith Sales"
    assert result.fields["/f1"].confidence == result.fields["/f3"].confidence


def _ocr_page(words: list[Word], raster: Image.Image | None = None) -> PageWords:
    # An image page with no text layer and no widgets: a blank raster unless one is given.
    raster = raster or Image.new("RGB", (612, 792), "white")
    scan = SimpleNamespace(pdf_page=None, render_dpi=lambda dpi: raster)
    return PageWords(1, "ocr", words, scan)  # type: ignore[arg-type]


def test_one_misread_word_lowers_an_ocr_value_but_does_not_drop_it() -> None:
    words = [Word("Contact:", (72, 100, 120, 111), 0.96), Word("Larry", (200, 100, 230, 111), 0.95),
             Word("Odum", (234, 100, 262, 111), 0.2)]  # fmt: skip
    schema = load_schema(_schema("Contact"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Larry Odum"
    assert 0.4 <= found["/f0"].confidence < 0.7


def test_a_value_run_on_into_its_label_is_split_off() -> None:
    # A filled field baked into the page: the value sits right after the label, no gap.
    pdf = _page([(57, 100, "First Name 8843.88"), (216, 100, "Last Name 13938")])
    result = docvlm.extract(pdf, _schema("First Name", "Last Name"))
    assert result.data == {"f0": "8843.88", "f1": "13938"}
    assert result.fields["/f0"].confidence < 0.9


def test_words_going_on_with_a_labels_wording_are_not_its_value() -> None:
    pdf = _page([(72, 100, "Requested by"), (72, 116, "Dr. Gary Huber"),
                 (300, 100, "ALLIES & ORGANIZATIONS"), (300, 116, "Red Cross")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Requested", "Allies"))
    assert result.data == {"f0": "Dr. Gary Huber", "f1": "Red Cross"}


def test_a_typed_value_run_on_into_its_label_may_open_in_lower_case() -> None:
    pdf = _page([(72, 100, "Email jane.roe@example.com")])
    schema = {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}
    assert docvlm.extract(pdf, schema).data == {"email": "jane.roe@example.com"}


def test_a_stray_mark_between_label_and_value_is_skipped() -> None:
    pdf = _page([(72, 100, "Porosity"), (160, 100, "-"), (220, 100, "Non Porous")])
    result = docvlm.extract(pdf, _schema("Porosity"))
    assert result.data["f0"] == "Non Porous"


def test_an_answer_typed_down_and_right_of_its_label_is_read_unless_a_row_label_owns_it() -> None:
    pdf = _page([(300, 100, "Approved by:"), (393, 118, "Director of Operations"),
                 (72, 200, "Brand:"), (72, 218, "Style:"), (130, 218, "HLB - KS")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Approved by:", "Brand:"))
    assert result.data["f0"] == "Director of Operations"
    assert result.data["f1"] is None  # "HLB - KS" is the Style row's answer


def test_a_dashed_leader_read_into_the_value_is_trimmed_but_a_sign_is_kept() -> None:
    words = [Word("Copies", (72, 100, 110, 111), 0.95), Word("to", (113, 100, 125, 111), 0.95),
             Word("---Dr.", (200, 100, 236, 111), 0.9), Word("A.", (240, 100, 252, 111), 0.9),
             Word("Spears", (256, 100, 292, 111), 0.9), Word("—", (296, 100, 310, 111), 0.3),
             Word("Balance", (72, 130, 118, 141), 0.95),
             Word("-70,825.00", (200, 130, 260, 141), 0.9),
             Word("Travel", (72, 160, 110, 171), 0.95),
             Word("~~", (200, 160, 230, 171), 0.4)]  # fmt: skip
    schema = load_schema(_schema("Copies to", "Balance", "Travel"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Dr. A. Spears"
    assert found["/f1"].value == "-70,825.00"
    assert "/f2" not in found  # nothing but the leader was printed


def test_a_label_glued_by_ocr_to_its_neighbours_is_cut_at_its_colon() -> None:
    # RapidOCR reads "DATE: June 21, 1993   DEPARTMENT: R&D Library" as run-together words.
    words = [Word(w.text, w.bbox, 0.95) for w in _unglued(Word("DATE:June", (10, 100, 100, 112)))]
    words += _unglued(Word("21,1993DEPARTMENT:", (104, 100, 280, 112), 0.95))
    words.append(Word("R&D Library", (300, 100, 380, 112), 0.95))
    schema = load_schema(_schema("DATE:", "DEPARTMENT:"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "June 21,1993"
    assert found["/f1"].value == "R&D Library"
    assert [w.text for w in _unglued(Word("10:45", (0, 0, 50, 10)))] == ["10:45"]


def test_pairing_leaves_the_pages_lines_as_printed() -> None:
    # Cutting "21,1993 DEPARTMENT:" at the label and joining a label printed over two lines
    # happen on pairing's own copy: the letterhead and a form model's anchors read the page
    # after it.
    words = _unglued(Word("21,1993DEPARTMENT:", (104, 100, 280, 112), 0.95))
    printed_words = [("R&D", (300, 100, 330, 112)), ("OTHER", (10, 130, 50, 142)),
                     ("PERSONNEL", (54, 130, 120, 142)), ("ASSIGNED", (10, 144, 70, 156)),
                     ("E. Barbee", (200, 144, 260, 156))]  # fmt: skip
    words += [Word(text, bbox, 0.95) for text, bbox in printed_words]
    page = _ocr_page(words)
    printed = [[s.text for s in line] for line in page.lines]
    found = pair_fields(load_schema(_schema("DEPARTMENT:", "OTHER PERSONNEL ASSIGNED")).root,
                        [page], set())  # fmt: skip
    assert (found["/f0"].value, found["/f1"].value) == ("R&D", "E. Barbee")
    assert [[s.text for s in line] for line in page.lines] == printed


def _line(x: float, y: float, text: str) -> list[Word]:
    """OCR words of `text` from (x, y), 6 points a character, 11 high."""
    words = []
    for token in text.split():
        words.append(Word(token, (x, y, x + 6 * len(token), y + 11), 0.95))
        x += 6 * len(token) + 4
    return words


def test_a_label_ocr_split_along_its_line_is_read_whole_but_never_joined_to_its_value() -> None:
    # "Name of | Event:" read as two segments, neither naming the field; "Written by" names
    # its own, so the name just after it stays its value.
    words = [*_line(72, 100, "Name of"), *_line(130, 100, "Event:"),
             *_line(250, 100, "Mrs. Illinois Beauty Pageant"),
             *_line(72, 140, "Written by"), *_line(150, 140, "John Smith")]  # fmt: skip
    schema = load_schema(_schema("Name of Event:", "Written by"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Mrs. Illinois Beauty Pageant"
    assert found["/f1"].value == "John Smith"


def test_an_answer_typed_higher_than_its_small_label_is_read() -> None:
    # The label is printed small under the rule the answer is typed on: the answer's centre
    # is above the label's band, but its box reaches down into the label's.
    label = [Word(w.text, (w.bbox[0], 300, w.bbox[2], 310), 0.95) for w in _line(85, 0, "MICE:")]
    typed = [Word("Swiss-Webster", (166, 287, 248, 303), 0.95)]
    above = [*_line(85, 262, "SOURCE:"), *_line(166, 262, "Lorillard")]  # the row above
    words = [*above, *label, *typed]
    found = pair_fields(load_schema(_schema("MICE:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Swiss-Webster"
    stamp = [*label, Word("2074222272", (166, 230, 178, 306), 0.95)]  # printed down the margin
    assert pair_fields(load_schema(_schema("MICE:")).root, [_ocr_page(stamp)], set()) == {}


def test_the_next_lines_words_read_into_a_values_band_are_not_part_of_it() -> None:
    # Tight rows: the box of the row under it reaches into the label's band, starting under
    # the value, which it cannot follow on one line; where the value ends stays a guess.
    words = [Word("Original:", (88, 871, 131, 887), 0.9), Word("Project", (140, 870, 180, 886), 1),
             Word("File", (184, 870, 196, 886), 0.95), Word("CC:", (88, 887, 106, 902), 0.95),
             Word("MaDonna", (143, 883, 190, 899), 0.95)]  # fmt: skip
    found = pair_fields(load_schema(_schema("Original:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Project File"
    assert found["/f0"].confidence <= 0.55


def test_figures_run_on_into_a_label_are_surer_than_words() -> None:
    # One OCR segment each: the label's words run straight on into what follows.
    words = [*_line(72, 100, "Date Sent 4/19/74"), *_line(72, 140, "Requested by Marketing")]
    found = pair_fields(
        load_schema(_schema("Date Sent", "Requested")).root, [_ocr_page(words)], set()
    )
    assert found["/f0"].value == "4/19/74"
    assert found["/f0"].confidence > 0.5
    assert "/f1" not in found or found["/f1"].confidence < 0.5  # maybe the label's own wording


def test_a_unit_printed_apart_after_a_figure_run_on_into_its_label_belongs_to_it() -> None:
    words = [*_line(72, 100, "Net Rod Density 245"), *_line(220, 100, "mg/cc")]
    found = pair_fields(load_schema(_schema("Net Rod Density")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "245 mg/cc"


def test_a_unit_printed_apart_makes_a_value_no_less_sure() -> None:
    words = [*_line(72, 100, "Length:"), *_line(160, 100, "84"), *_line(190, 100, "mm"),
             *_line(72, 130, "Width:"), *_line(160, 130, "24")]  # fmt: skip
    found = pair_fields(load_schema(_schema("Length:", "Width:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "84 mm"
    assert found["/f0"].confidence == found["/f1"].confidence  # the unit is the number's


def test_a_fields_words_opening_a_sentence_do_not_make_its_answer_unsure() -> None:
    words = [*_line(72, 100, "NATURE OF WORK:"), *_line(90, 116, "Advise if honey will do"),
             *_line(72, 160, "NOTES:"), *_line(150, 160, "Nature of work is exact")]  # fmt: skip
    schema = load_schema(_schema("NATURE OF WORK:"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Advise if honey will do"


def test_a_value_repeated_across_a_rows_columns_is_read_whole() -> None:
    pdf = _page([(72, 100, "Porosity"), (250, 100, "Non Porous"), (420, 100, "Non Porous"),
                 (72, 120, "Supplier"), (250, 120, "Ecusta"), (420, 120, "Glatz")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Porosity", "Supplier"))
    assert result.data == {"f0": "Non Porous Non Porous", "f1": "Ecusta"}


def test_a_sentence_wrapped_back_under_its_label_continues_the_answer() -> None:
    pdf = _page([(72, 100, "Comments:"), (190, 100, "Manager, please contact the suggester"),
                 (72, 113, "and forward comments to the Council."),
                 (72, 150, "Reviewed by:"), (190, 150, "J. Smith"),
                 (72, 163, "Approved"), (190, 163, "yes")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Comments:", "Reviewed by:"))
    assert result.data["f0"] == (
        "Manager, please contact the suggester and forward comments to the Council."
    )
    assert result.data["f1"] == "J. Smith"  # "Approved" starts a row: it is no wrapped line


def test_a_paragraph_wraps_to_the_margin_while_its_lines_are_full() -> None:
    # The first word of the second line would not fit after the first: the answer wrapped.
    # The second line ends short, so the line under it starts something else.
    pdf = _page([(72, 100, "Comments:"),
                 (160, 100, "The plant is well kept and it covers all parts of the city"),
                 (72, 113, "Lamar looks like a good citizen here."),
                 (72, 126, "Signed at the office")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Comments:"))
    assert result.data["f0"] == (
        "The plant is well kept and it covers all parts of the city "
        "Lamar looks like a good citizen here."
    )


def test_a_label_read_a_little_low_does_not_stop_the_list_beside_it() -> None:
    # OCR boxes the label lower than its answer's first line: it is no label of the next row.
    second = [
        Word(w.text, (w.bbox[0], 112, w.bbox[2], 128), 0.95) for w in _line(348, 0, "Ms. Lopez")
    ]
    words = [*_line(94, 102, "Copies to:"), *_line(348, 100, "Dr. A. B. Carter"), *second]
    found = pair_fields(load_schema(_schema("Copies to:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Dr. A. B. Carter Ms. Lopez"


def _tall(words: list[Word], height: float) -> list[Word]:
    """`words` boxed `height` high: OCR boxes can be taller than the line pitch."""
    return [
        Word(w.text, (w.bbox[0], w.bbox[1], w.bbox[2], w.bbox[1] + height), 0.95) for w in words
    ]


def test_a_paragraph_answer_keeps_lines_whose_boxes_overlap_and_lines_split_by_a_gap() -> None:
    words = [*_line(72, 100, "Solution:"), *_tall(_line(200, 96, "Delete the coal tests"), 20),
             *_tall(_line(200, 109, "from the list of"), 20),
             *_tall(_line(200, 122, "samples."), 20),
             *_tall(_line(268, 121, "Special requests"), 20),
             *_tall(_line(200, 135, "can still be sent."), 20)]  # fmt: skip
    found = pair_fields(load_schema(_schema("Solution:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == (
        "Delete the coal tests from the list of samples. Special requests can still be sent."
    )


def test_a_line_under_a_value_stops_at_a_columns_gap() -> None:
    words = [*_line(72, 100, "Description"), *_line(200, 100, "MALE AND FEMALE SMOKERS"),
             *_line(210, 115, "PM6"), *_line(330, 115, "RECALL"),
             *_line(450, 115, "COMMENTS")]  # fmt: skip
    found = pair_fields(load_schema(_schema("Description")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "MALE AND FEMALE SMOKERS PM6"


def test_a_lone_digit_is_an_answer_unless_it_is_one_of_a_stack_of_characters() -> None:
    def read(x: float, *extra: list[Word]) -> tuple[str | None, float]:
        words = [*_line(72, 100, "Quantity:"), *_line(x, 100, "6")]
        words += [w for line in extra for w in line]
        found = pair_fields(load_schema(_schema("Quantity:")).root, [_ocr_page(words)], set())
        return (found["/f0"].value, found["/f0"].confidence) if "/f0" in found else (None, 0.0)

    near, far = read(140), read(300)
    assert near[0] == far[0] == "6"
    assert far[1] < near[1]  # far right of its label, one character may be a stray mark
    stamp = [_line(300, y, c) for y, c in ((89, "8"), (111, "0"), (122, "2"))]
    assert read(300, *stamp)[0] is None  # a number printed down the margin, a digit a line


def test_a_value_stops_where_a_line_reaching_in_from_the_left_holds_another_answer() -> None:
    # A signature under the row starts left of it but runs into it: the words after it are its.
    words = [*_line(400, 100, "FILE REF:"), *_line(500, 100, "K2231-07"),
             *_line(360, 114, "R. Olsen (s"), *_line(500, 114, "t. Berg)")]  # fmt: skip
    found = pair_fields(load_schema(_schema("FILE REF:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "K2231-07"


def test_a_line_spaced_out_under_a_value_makes_where_it_ends_unsure() -> None:
    def confidence(*under: list[Word]) -> float:
        words = [*_line(72, 100, "cc:"), *_line(150, 100, "Main Archive")]
        words += [w for line in under for w in line]
        found = pair_fields(load_schema(_schema("cc:")).root, [_ocr_page(words)], set())
        assert found["/f0"].value == "Main Archive"
        return found["/f0"].confidence

    alone = confidence()
    assert confidence(_line(150, 124, "P. Dunn")) < alone  # a list spaced out, or not
    assert confidence(_line(72, 124, "Style:"), _line(150, 124, "HLB")) == alone  # a new row


def test_text_with_a_check_box_after_it_is_a_printed_option_not_the_answer() -> None:
    words = [*_line(46, 100, "Copies to:"), *_line(314, 98, "RETURN"), *_line(482, 100, "☐"),
             *_line(130, 116, "Accounts Office")]  # fmt: skip
    found = pair_fields(load_schema(_schema("Copies to:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Accounts Office"


def test_capitals_with_a_box_drawn_before_them_are_the_next_printed_option_not_an_answer():
    """A scan of "ORIGINAL ☐ UPDATED ☐" whose boxes OCR did not read: "UPDATED" is an option
    of the row, not the answer to "ORIGINAL" (its tick is in the box)."""
    words = [*_line(72, 100, "ORIGINAL"), *_line(142, 100, "UPDATED")]

    def read(boxes: tuple[int, ...]) -> str | None:
        raster = Image.new("RGB", (612, 792), "white")
        for x in boxes:
            ImageDraw.Draw(raster).rectangle((x, 101, x + 9, 110), outline="black")
        found = pair_fields(
            load_schema(_schema("ORIGINAL")).root, [_ocr_page(words, raster)], set()
        )
        return found["/f0"].value if "/f0" in found else None

    assert read((127, 189)) is None
    assert read(()) == "UPDATED"  # without its box, capitals alone are an answer


def test_a_row_of_options_answers_its_one_ticked_option_and_never_the_whole_row() -> None:
    def read(*options: str) -> str | None:
        words = _line(72, 100, "Status:")
        for i, option in enumerate(options):
            words += _line(150 + 100 * i, 100, option)
        found = pair_fields(load_schema(_schema("Status")).root, [_ocr_page(words)], set())
        return found["/f0"].value if "/f0" in found else None

    for row in (("☐ Original", "☒ Updated", "☐ Corrected"), ("Original ☐", "Updated ☒")):
        assert read(*row) == "Updated"  # boxes before or after their options
    assert read("☐ Original", "☐ Updated") is None
    assert read("☒ Original", "☒ Updated") is None
    assert read("☐ Updated") is None  # an unticked option is no answer


def test_a_value_read_on_past_its_second_line_is_less_sure_than_a_lone_one() -> None:
    pdf = _page([(72, 100, "Brand:"), (200, 100, "PHOENIX"),
                 (72, 160, "Comments:"), (200, 160, "The sample was"),
                 (200, 174, "received late and"), (200, 188, "tested twice."),
                 (72, 230, "Remarks:"), (200, 230, "The sample was"),
                 (200, 244, "received late.")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Brand", "Comments", "Remarks"))
    assert result.data["f1"] == "The sample was received late and tested twice."
    assert result.data["f2"] == "The sample was received late."
    assert result.fields["/f1"].confidence < 0.6 < result.fields["/f0"].confidence
    # One wrapped line is no guess at where the answer ends.
    assert result.fields["/f2"].confidence == result.fields["/f0"].confidence


def test_a_field_titled_by_punctuation_alone_cuts_no_other_value() -> None:
    pdf = _page([(72, 100, "CONCLUSION:"), (160, 100, "This compound is judged safe.")])
    result = docvlm.extract(pdf, _schema("( - )", "CONCLUSION:"))
    assert result.data["f1"] == "This compound is judged safe."


def test_a_label_inside_another_fields_longer_label_is_not_read_there() -> None:
    pdf = _page([(400, 100, "DATE 11/2/61"), (72, 300, "Date Made 11/3/61")])
    result = docvlm.extract(pdf, _schema("DATE", "Date Made"))
    assert result.data == {"f0": "11/2/61", "f1": "11/3/61"}


def test_a_column_headers_answer_is_the_cells_under_it() -> None:
    pdf = _page([(72, 100, "Supplier"), (260, 100, "Cost"), (400, 100, "Weeks"),  # rows 30 pt apart
                 (72, 130, "Kapuler Research"), (260, 130, "70,825"), (400, 130, "6"),
                 (72, 160, "Market Facts"), (260, 160, "112,000"), (400, 160, "8")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Supplier", "Cost", "Weeks"))
    assert result.data["f0"] == "Kapuler Research Market Facts"
    assert result.data["f1"] == "70,825 112,000"


def test_words_after_a_label_that_end_in_a_colon_are_the_next_label_not_its_value() -> None:
    pdf = _page([(72, 100, "COMPOUND VEHICLE:"), (200, 100, "Corn oil")])
    result = docvlm.extract(pdf, _schema("COMPOUND", "VEHICLE"))
    assert result.data["f0"] is None
    assert result.data["f1"] == "Corn oil"


def test_an_answer_line_read_as_underscores_separates_label_and_value() -> None:
    # RapidOCR reads the rule a typed answer sits on as "_" glued between the words.
    words = _unglued(Word("MARKET_Lakeland_Metro", (72, 100, 200, 111), 0.95))
    assert [w.text for w in words] == ["MARKET", "Lakeland", "Metro"]
    schema = load_schema(_schema("MARKET"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Lakeland Metro"


def test_boxes_drawn_after_their_options_tick_the_option_before_them(tmp_path):
    """ "Single ☒ Married ☐": the ticked box sits between two options and belongs to the one
    on its left, because the row's first option has no box before it and its last has one
    after it (a synthetic layout whose boxes follow their options)."""
    import random

    from docvlm.finetune.templates import template, template_form, template_schema

    assert template(25).choice_style == "boxes-after"
    schema = template_schema(25)
    for seed in range(6):
        pdf, target = template_form(25, random.Random(seed))
        path = tmp_path / f"form{seed}.pdf"
        path.write_bytes(pdf)
        found = docvlm.extract(path, schema).fields["/marital_status"]
        assert found.value == target["marital_status"]


def _flag_scan(ticked: bool, seed: int) -> bytes:
    """A scanned page with "Consent given" and its box drawn after it, ticked or not."""
    import random

    from docvlm.finetune.synth import scan

    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((306, 210), "Consent given", fontname="helv", fontsize=9)
    box = pymupdf.Rect(372, 201, 381, 210)
    page.draw_rect(box, color=(0, 0, 0), width=0.8)
    if ticked:
        page.draw_line(box.tl + (2, 2), box.br - (2, 2), color=(0, 0, 0), width=0.8)
        page.draw_line(box.tr + (-2, 2), box.bl + (2, -2), color=(0, 0, 0), width=0.8)
    page.insert_text((72, 120), "Application for cover", fontname="helv", fontsize=14)
    return scan(doc.tobytes(), random.Random(seed))


def test_a_yes_no_box_drawn_after_its_label_is_read_there_not_in_the_labels_letters() -> None:
    """On a scan the "o" of "Consent" is an outline too; it is a letter of the label, not a
    box. A box read from a scan's pixels is never a sure reading."""
    schema = {"type": "object", "properties": {"consent": {"type": "boolean"}}}
    for seed, ticked in enumerate([True, False]):
        found = docvlm.extract(_flag_scan(ticked, seed), schema).fields["/consent"]
        assert found.value is ticked, seed
        assert found.bbox[2] > 375  # the box after the words
        assert found.confidence < 0.9


def test_an_address_block_read_by_ocr_is_never_sure() -> None:
    words = [Word("Bill", (72, 100, 92, 111), 0.97), Word("To:", (95, 100, 112, 111), 0.97),
             Word("Globex", (72, 114, 110, 125), 0.96), Word("Corp.", (113, 114, 140, 125), 0.96),
             Word("12", (72, 128, 84, 139), 0.96), Word("Oak", (87, 128, 107, 139), 0.96),
             Word("Avenue", (110, 128, 150, 139), 0.96)]  # fmt: skip
    text = {"type": "string"}
    schema = load_schema({"type": "object", "properties": {"bill_to": {
        "type": "object", "properties": {"name": text, "address": text}}}})  # fmt: skip
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/bill_to/name"].value == "Globex Corp."
    assert found["/bill_to/address"].value == "12 Oak Avenue"
    assert found["/bill_to/name"].confidence < 0.9


def test_a_tick_after_an_option_is_its_answer_and_the_text_past_it_the_next_options() -> None:
    pdf = _page([(72, 100, "New Product"), (300, 100, "X"), (360, 100, "Discontinue Product"),
                 (72, 130, "Brand"), (300, 130, "Phoenix")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("New Product", "Brand"))
    assert result.data == {"f0": "X", "f1": "Phoenix"}  # the option is ticked: its answer
    assert result.fields["/f0"].confidence < 0.9


def test_a_tick_read_glued_to_the_next_options_words_is_still_the_answer() -> None:
    words = [*_line(72, 100, "Yes"), *_line(120, 100, "X No"),
             *_line(72, 130, "Brand:"), *_line(150, 130, "Phoenix")]  # fmt: skip
    found = pair_fields(load_schema(_schema("Yes", "Brand:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "X"  # "Yes" is ticked; "No" is the next option's text
    assert found["/f0"].confidence < 0.9
    assert found["/f1"].value == "Phoenix"


def test_a_header_over_figures_answers_with_its_column_not_the_next_header() -> None:
    header = [(72, "Supplier"), (200, "Travel"), (300, "Total Cost"), (420, "Interview")]
    rows = [[(72, "Kapuler"), (200, "$2000"), (300, "$35,675"), (420, "$84.2")],
            [(72, "Market Facts"), (200, "$2000"), (300, "$37,000"), (420, "$87.5")]]  # fmt: skip
    # Two label–value pairs side by side: a label under the label, not figures.
    pairs = [[(72, "Brand"), (200, "Phoenix"), (300, "Company"), (420, "Globex")],
             [(72, "Code"), (200, "4411"), (300, "Country"), (420, "Cyprus")]]  # fmt: skip
    lines = [(100, header), (130, rows[0]), (160, rows[1]), (220, pairs[0]), (240, pairs[1])]
    pdf = _page([(x, y, text) for y, cells in lines for x, text in cells])
    result = docvlm.extract(pdf, _schema("Total Cost", "Brand"))
    assert result.data == {"f0": "$35,675 $37,000", "f1": "Phoenix"}


def test_a_header_beside_an_empty_column_is_no_answer_of_the_header_before_it() -> None:
    header = [(72, "Supplier"), (200, "Travel"), (300, "Total Cost"), (420, "Interview")]
    rows = [[(72, "Kapuler"), (200, "$2000"), (300, "$35,675")],
            [(72, "Market Facts"), (200, "$2000"), (300, "$37,000")]]  # fmt: skip
    lines = [(100, header), (130, rows[0]), (160, rows[1])]
    pdf = _page([(x, y, text) for y, cells in lines for x, text in cells])
    result = docvlm.extract(pdf, _schema("Total Cost"))
    assert result.data["f0"] == "$35,675 $37,000"  # its column, not the next header


def test_a_yes_no_pair_with_boxes_reads_the_ticked_option_not_the_first_word(tmp_path):
    """ "Police report filed: ☐ Yes ☒ No" is False: the printed "Yes" is an option, not the
    answer, once boxes are drawn beside the options (before them or after them)."""
    import random

    from docvlm.finetune.templates import template, template_form, template_schema

    cases = {0: "police_report", 7: "consent", 8: "police_report"}
    assert {template(number).flag_style for number in cases} == {"yes-no"}
    assert template(7).choice_style == "boxes-after"
    answers = []
    for number, key in cases.items():
        for seed in range(4):
            pdf, target = template_form(number, random.Random(seed))
            path = tmp_path / f"t{number}_{seed}.pdf"
            path.write_bytes(pdf)
            found = docvlm.extract(path, template_schema(number)).fields.get(f"/{key}")
            if found is not None:  # some wordings ("Police notified") name no field
                assert found.value is target[key]
                answers.append(target[key])
    assert len(answers) >= 8 and set(answers) == {True, False}


def test_free_text_across_a_wide_empty_stretch_of_the_band_is_less_sure() -> None:
    def confidence(*between: list[Word], at: float) -> float:
        words = [*_line(72, 100, "Brand:"), *(w for line in between for w in line)]
        words += _line(at, 100, "PHOENIX")
        found = pair_fields(load_schema(_schema("Brand:")).root, [_ocr_page(words)], set())
        assert found["/f0"].value == "PHOENIX"
        return found["/f0"].confidence

    near = confidence(at=150)
    assert confidence(at=300) < near  # as often the next column's entry as this label's
    assert confidence(_line(120, 100, "." * 28), at=300) == near  # a dot leader to follow


def test_capitals_far_right_of_a_label_in_capitals_are_the_next_columns_heading() -> None:
    def read(label: str, far_text: str) -> str | None:
        words = [*_line(72, 100, label), *_line(400, 100, far_text)]
        found = pair_fields(load_schema(_schema(label)).root, [_ocr_page(words)], set())
        return found["/f0"].value if "/f0" in found else None

    assert read("DESCRIPTION", "UNIT PRICE") is None  # a header row, not an answer
    assert read("DESCRIPTION", "Unit price") == "Unit price"  # written, not printed alike
    assert read("DESCRIPTION:", "UNIT PRICE") == "UNIT PRICE"  # a colon asks for it
    assert read("DESCRIPTION", "LOT 45") == "LOT 45"  # figures are an entry


def test_fields_titled_alike_take_their_values_in_the_order_the_page_prints_them() -> None:
    # The first date is read less surely, so confidence alone would hand it to the second field.
    words = [*_line(72, 100, "Date:"), Word("4/16/90", (130, 100, 172, 111), 0.8),
             *_line(72, 140, "Date:"), *_line(130, 140, "5/2/90")]  # fmt: skip
    schema = {"type": "object", "properties": {
        "sent": {"type": ["string", "null"], "title": "Date:"},
        "received": {"type": ["string", "null"], "title": "Date:"},
    }}  # fmt: skip
    found = pair_fields(load_schema(schema).root, [_ocr_page(words)], set())
    assert (found["/sent"].value, found["/received"].value) == ("4/16/90", "5/2/90")


def test_a_value_read_at_the_second_of_two_labels_titled_alike_is_the_second_fields() -> None:
    words = [*_line(72, 100, "Date:"), Word("4/16/90", (130, 100, 172, 111), 0.1),
             *_line(72, 140, "Date:"), *_line(130, 140, "5/2/90")]  # fmt: skip
    schema = {"type": "object", "properties": {
        "sent": {"type": ["string", "null"], "title": "Date:"},
        "received": {"type": ["string", "null"], "title": "Date:"},
    }}  # fmt: skip
    found = pair_fields(load_schema(schema).root, [_ocr_page(words)], set())
    assert "/sent" not in found  # its own reading is too unsure to return
    assert found["/received"].value == "5/2/90"


def test_each_label_printed_for_fields_titled_alike_answers_its_own_field_only() -> None:
    # One "Speaker:" printed per field: each label's value is its own field's, not a rival of
    # the other's; told apart only by the schema's order, each is less sure, yet still read
    # (as rivals, each was lowered 0.75x under the floor).
    def read(read_as: float) -> dict:
        words = []
        for y, name in ((100, "Dr. R. White"), (140, "Dr. S. Wolff")):
            words += _line(72, y, "Speaker:")
            words += [Word(w, (150 + 40 * i, y, 185 + 40 * i, y + 11), read_as)
                      for i, w in enumerate(name.split())]  # fmt: skip
        schema = {"type": "object", "properties": {
            "first": {"type": ["string", "null"], "title": "Speaker:"},
            "second": {"type": ["string", "null"], "title": "Speaker:"},
        }}  # fmt: skip
        return pair_fields(load_schema(schema).root, [_ocr_page(words)], set())

    for read_as, confidence in ((0.7, 0.43), (0.6, 0.4)):
        found = read(read_as)
        assert (found["/first"].value, found["/second"].value) == ("Dr. R. White", "Dr. S. Wolff")
        assert found["/first"].confidence == found["/second"].confidence == confidence


def test_fields_titled_alike_keep_the_values_their_own_names_label() -> None:
    words = [*_line(72, 100, "Received date:"), *_line(170, 100, "5/2/90"),
             *_line(72, 140, "Sent date:"), *_line(170, 140, "4/16/90")]  # fmt: skip
    schema = {"type": "object", "properties": {
        "sent_date": {"type": ["string", "null"], "title": "Date"},
        "received_date": {"type": ["string", "null"], "title": "Date"},
    }}  # fmt: skip
    found = pair_fields(load_schema(schema).root, [_ocr_page(words)], set())
    assert (found["/sent_date"].value, found["/received_date"].value) == ("4/16/90", "5/2/90")


def test_a_label_glued_to_its_value_by_punctuation_or_capitals_is_cut_off() -> None:
    # OCR reads the space after a label as punctuation ("DATE.3/17/82", "FAX;305)") or loses
    # it before figures ("Rec'd6/21/93") or between capitals and a capitalised value
    # ("DATEMay.27,").
    cases = [
        (["DATE.3/17/82"], "DATE", "3/17/82"),
        (["FAX;305)", "555-0100"], "FAX", "305) 555-0100"),
        (["Project", "#1969-105"], "Project #", "1969-105"),
        (["DATEMay.27,", "1982"], "DATE", "May.27, 1982"),
        (["Supplier", "Code", "No(s).T.K.9220"], "Supplier Code No (s)", "T.K.9220"),
        (["Date", "Rec'd6/21/93"], "Date Rec'd", "6/21/93"),
    ]
    for texts, title, value in cases:
        found = pair_fields(load_schema(_schema(title)).root, [_ocr_page(_glued(texts))], set())
        assert found["/f0"].value == value


def test_a_word_is_cut_only_where_a_fields_label_ends_inside_it() -> None:
    def cut(texts: list[str], title: str) -> list[str]:
        segment = Segment(_glued(texts), 1, 0)
        return [w.text for w in _unglued_label(segment, [[title]]).words]

    assert cut(["Serial", "No.436"], "Serial No") == ["Serial", "No.", "436"]
    assert cut(["Serial", "No.436"], "Telephone") == ["Serial", "No.436"]
    assert cut(["TOTAL.5"], "DATE") == ["TOTAL.5"]
    assert cut(["U.S.A."], "U") == ["U.S.A."]  # letters after the full stop: no value
    assert cut(["7.9", "sq.inches"], "sq") == ["7.9", "sq.inches"]  # lower case goes on
    assert cut(["B83"], "B") == ["B83"]  # one letter before figures: a code


def _glued(texts: list[str]) -> list[Word]:
    """OCR words of one line from x = 72, 6 points a character, a 4 point space apart."""
    return _line(72, 100, " ".join(texts))


def test_a_date_is_whole_on_its_line_and_the_line_under_it_is_not_read_on() -> None:
    # Under the date, aligned with it and with no label of its own, a reference number: a
    # wrapped answer would read on into it, but a date does not wrap.
    pdf = _page([(72, 100, "Date Sent"), (200, 100, "4/19/74"), (200, 114, "ref. P1-7653"),
                 (72, 160, "Remarks:"), (200, 160, "Sent by"), (200, 174, "air mail")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Date Sent", "Remarks"))
    assert result.data == {"f0": "4/19/74", "f1": "Sent by air mail"}


def test_a_date_right_of_its_label_takes_no_words_printed_just_after_it() -> None:
    pdf = _page([(72, 100, "Date:"), (200, 100, "1/19/82"), (250, 100, "Telephone")])
    result = docvlm.extract(pdf, _schema("Date:"))
    assert result.data == {"f0": "1/19/82"}


def test_text_after_a_date_on_its_line_leaves_the_date_as_sure() -> None:
    # Unread text after a free-text value may be the rest of it; after a whole date it is not.
    below = [(72, 130, "Name:"), (200, 130, "J. Smith")]
    alone = _page([(72, 100, "Date:"), (200, 100, "3/27/84"), *below])
    followed = _page([(72, 100, "Date:"), (200, 100, "3/27/84"), (300, 100, "Sample"), *below])
    sure = docvlm.extract(alone, _schema("Date:")).fields["/f0"].confidence
    result = docvlm.extract(followed, _schema("Date:"))
    assert result.data == {"f0": "3/27/84"}
    assert result.fields["/f0"].confidence == sure


def test_a_date_beside_a_tall_label_is_not_capped_as_crowded() -> None:
    # The tall label's band reaches the line above, whose value sits over this one: where free
    # text ends would be a guess, but a date is whole.
    pdf = _page(
        [(72, 100, "Ref"), (160, 100, "A-1234"), (72, 116, "Date", 16), (158, 113, "2/26/98")]
    )
    result = docvlm.extract(pdf, _schema("Ref", "Date"))
    assert result.data == {"f0": "A-1234", "f1": "2/26/98"}
    assert result.fields["/f1"].confidence > 0.55


def test_a_label_ocr_misread_or_spaced_differently_still_names_its_field() -> None:
    # OCR reads a typewritten D as O, and prints "#" and words apart or glued otherwise
    # than the schema's title: the label is found, but trusted less than an exact one.
    words = [*_line(72, 100, "OATE:"), *_line(160, 100, "8/10/82"),
             *_line(72, 130, "Program #:"), *_line(160, 130, "700418"),
             *_line(72, 160, "QtyInUnits"), *_line(160, 160, "500"),
             *_line(72, 190, "Name:"), *_line(160, 190, "Ronald Davis")]  # fmt: skip
    schema = load_schema(_schema("DATE", "Program#:", "Qty In Units", "Name"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert [found[f"/f{i}"].value for i in range(4)] == ["8/10/82", "700418", "500", "Ronald Davis"]
    assert found["/f0"].confidence < found["/f3"].confidence


def test_an_answer_typed_raised_beside_a_label_keeps_it_from_heading_a_column() -> None:
    # The typed answer sits higher than the small printed label: the nearest thing in the
    # label's band is the next label, yet the row is label, answer, label, answer.
    label = [Word("DATE", (77, 187, 101, 196), 0.95), Word("RECEIVED", (105, 187, 140, 196), 0.95)]
    words = [*label, Word("9/3/80", (174, 176, 231, 192), 0.95),
             Word("TESTED:", (320, 187, 355, 197), 0.95),
             Word("9/10/80", (368, 176, 420, 192), 0.95),
             *_line(77, 230, "INVESTIGATOR:"), *_line(176, 230, "H. S. Tong")]  # fmt: skip
    found = pair_fields(load_schema(_schema("DATE RECEIVED")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "9/3/80"


def test_a_number_sign_after_a_labels_words_is_the_labels_not_the_value() -> None:
    # OCR reads "Report #" and "Chem Abstr # N/A" as one segment each: the "#" is printed
    # as part of the label, so the value is what follows it.
    words = [*_line(72, 100, "Report #"), *_line(180, 100, "517"),
             *_line(72, 130, "Chem Abstr # N/A")]  # fmt: skip
    schema = load_schema(_schema("Report", "Chem Abstr"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert (found["/f0"].value, found["/f1"].value) == ("517", "N/A")


def test_a_label_read_as_a_segments_leading_words_with_no_value_is_warned_of() -> None:
    words = [*_line(72, 100, "Date of loss unknown"), *_line(72, 130, "Policy: 88-1234")]
    schema = {"type": "object", "properties": {"loss": {"type": ["string", "null"],
              "format": "date", "title": "Date of loss"}}}  # fmt: skip
    root = load_schema(schema).root
    pages = [_ocr_page(words)]
    printed: dict[str, str] = {}
    assert pair_fields(root, pages, set(), printed=printed) == {}
    assert "'Date of loss' found" in unsure_fields(root, printed, {})["/loss"]


def test_a_currency_code_after_a_misread_label_is_no_value_of_it() -> None:
    # A till's "Total EUR" read with a space inside its label: the label is the whole
    # segment, its currency code naming nothing, and the amount is beside it.
    words = [*_line(72, 100, "Tota l EUR"), *_line(300, 100, "39,00")]
    schema = {"type": "object", "properties": {"total": {"type": "number", "title": "Total"}}}
    found = pair_fields(load_schema(schema).root, [_ocr_page(words)], set())
    assert found["/total"].value == 39.0


def test_a_number_printed_down_the_margin_is_no_labels_value() -> None:
    # A document number printed along the page's edge, read by OCR as one tall word beside
    # a label whose handwritten answer OCR could not read.
    words = [Word("EST.", (321, 814, 350, 833), 0.95),
             Word("REDEMPTION:", (354, 814, 449, 833), 0.95),
             Word("91391310", (735, 782, 753, 860), 0.9),
             Word("JOB", (321, 790, 345, 808), 0.95), Word("NUMBER:", (349, 790, 420, 808), 0.95),
             Word("916", (567, 790, 600, 808), 0.9)]  # fmt: skip
    page = _ocr_page(words)
    found = pair_fields(load_schema(_schema("EST. REDEMPTION:", "JOB NUMBER:")).root, [page], set())
    assert "/f0" not in found
    assert found["/f1"].value == "916"
    assert all(w.text != "91391310" for line in page.lines for s in line for w in s.words)


def test_free_text_ocr_read_unsurely_is_withheld_with_its_reading_and_typed_values_are_not() -> (
    None
):
    # "Odum" misread: the name is read at under FREE_TEXT_FLOOR; the date beside it is typed.
    words = [Word("Contact:", (72, 100, 120, 111), 0.96), Word("Larry", (200, 100, 230, 111), 0.95),
             Word("Odum", (234, 100, 262, 111), 0.2),
             *_line(72, 140, "Date:"), Word("5/13/81", (200, 140, 242, 151), 0.5)]  # fmt: skip
    schema = load_schema({"type": "object", "properties": {
        "contact": {"type": ["string", "null"], "title": "Contact"},
        "date": {"type": ["string", "null"], "format": "date", "title": "Date"}}})  # fmt: skip
    every = pair_fields(schema.root, [_ocr_page(words)], set())
    assert (
        every["/contact"].confidence < FREE_TEXT_FLOOR
        and every["/date"].confidence < FREE_TEXT_FLOOR
    )
    withheld: dict = {}
    found = extract_without_model([_ocr_page(words)], schema, None, FREE_TEXT_FLOOR, withheld)
    assert set(found) == {"/date"} and found["/date"].value == "1981-05-13"
    assert withheld["/contact"].value == "Larry Odum"


def test_extract_leaves_unsure_values_null_with_a_warning_naming_them(tmp_path) -> None:
    pdf = _page([(72, 100, "Supervisor:"), (200, 100, "J. S. Wigand")])
    result = docvlm.extract(pdf, _schema("Supervisor:"))
    sure = result.fields["/f0"].confidence
    held = docvlm.extract(pdf, _schema("Supervisor:"), min_confidence=min(sure + 0.01, 1.0))
    assert held.data == {"f0": None} and held.fields == {}
    assert "'J. S. Wigand'" in held.warnings[0]["message"] and held.warnings[0]["pointer"] == "/f0"
    assert docvlm.extract(pdf, _schema("Supervisor:"), min_confidence=sure).data == {
        "f0": "J. S. Wigand"
    }
    with pytest.raises(ValueError, match="min_confidence"):
        docvlm.extract(pdf, _schema("Supervisor:"), min_confidence=1.5)


def test_a_tick_read_unsurely_is_still_the_options_answer() -> None:
    # A handwritten "x" in a checklist's tick column: OCR reads it at 0.3, but any mark there
    # is the tick; the state without one has none.
    words = [*_line(120, 280, "Alabama"), Word("x", (236, 280, 246, 292), 0.3),
             *_line(120, 310, "Alaska")]  # fmt: skip
    schema = load_schema(_schema("Alabama", "Alaska"))
    withheld: dict = {}
    found = extract_without_model([_ocr_page(words)], schema, None, FREE_TEXT_FLOOR, withheld)
    assert found["/f0"].value == "x" and found["/f0"].confidence >= FREE_TEXT_FLOOR
    assert "/f1" not in found and "/f1" not in withheld


def test_an_answer_typed_on_the_rule_above_its_label_is_the_labels() -> None:
    # A typewritten answer on the rule, the small label printed under the line: the answer's
    # bottom touches the label's top, and nothing is beside the label.
    words = [*_line(72, 200, "Agency:"), *_line(130, 188, "BBDO Inc."),
             *_line(72, 250, "Address:"), *_line(130, 238, "383 Madison Avenue"),
             *_line(252, 238, "10017"),
             *_line(72, 300, "Client:"), *_line(130, 288, "American Tobacco")]  # fmt: skip
    schema = load_schema(_schema("Agency:", "Address:", "Client:"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    values = [found[f"/f{i}"].value for i in range(3)]
    assert values == ["BBDO Inc.", "383 Madison Avenue 10017", "American Tobacco"]


def test_the_row_above_a_label_is_not_taken_for_an_answer_on_its_rule() -> None:
    # Just above a label, yet another row's: a value beside its own label, a name signed
    # under the label above, the upper line of a two-line heading over the label's row.
    words = [*_line(72, 100, "Name:"), *_line(130, 100, "John Smith"), *_line(72, 113, "Phone:"),
             *_line(72, 300, "Submitted By:"), *_line(160, 312, "L. J. Spurrier"),
             *_line(72, 325, "Approved By:"), *_line(160, 337, "L. E. Gravely"),
             *_line(300, 413, "SCORE"), *_line(345, 400, "PROVED"),
             *_line(345, 413, "RECALL")]  # fmt: skip
    schema = load_schema(_schema("Phone:", "Approved By:", "SCORE", "RECALL"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert "/f0" not in found and "/f2" not in found
    assert found["/f1"].value == "L. E. Gravely"


def test_a_tick_off_its_row_is_the_nearest_rows_not_the_next_ones() -> None:
    # A checklist's tick column typed a little low: each mark also reaches into the band of
    # the row below, whose own mark (if any) is further right by a hair.
    states = ["Missouri", "Montana", "Nebraska", "Nevada"]
    words = []
    for row, state in enumerate(states):
        y = 380 + 12 * row
        words += _line(330, y, state)
        if state != "Nevada":
            words.append(Word("X", (459 + 0.5 * row, y + 5, 469, y + 16), 0.9))
    found = pair_fields(load_schema(_schema(*states)).root, [_ocr_page(words)], set())
    assert [found[f"/f{i}"].bbox[1] for i in range(3)] == [385, 397, 409]
    assert "/f3" not in found


def test_words_run_on_into_a_label_are_its_answer_unless_printed_in_its_capitals() -> None:
    # One OCR segment each: a name or a mixed-case answer after the label is typed, not
    # printed with it; capitals after a label in capitals are its heading's next words.
    words = [*_line(72, 100, "PHYSICAL APPEARANCE Yellow liquid"),
             *_line(72, 140, "Original to Dr. A. W. Spears"),
             *_line(72, 180, "PROJECT INITIATION FORM")]  # fmt: skip
    schema = load_schema(_schema("PHYSICAL APPEARANCE", "Original to", "PROJECT"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Yellow liquid"
    assert found["/f1"].value == "Dr. A. W. Spears"
    assert min(found["/f0"].confidence, found["/f1"].confidence) >= FREE_TEXT_FLOOR
    assert "/f2" not in found or found["/f2"].confidence < FREE_TEXT_FLOOR


def test_a_label_printed_twice_with_one_answer_read_spaced_apart_is_no_rival() -> None:
    # The same date typed at both labels; OCR read one without its space.
    twice = [*_line(72, 100, "Date:"), *_line(150, 100, "May 1,1985"),
             *_line(72, 300, "Date:"), *_line(150, 300, "May1,1985")]  # fmt: skip
    once = twice[:3]
    schema = load_schema(_schema("Date:"))
    found = pair_fields(schema.root, [_ocr_page(twice)], set())["/f0"]
    alone = pair_fields(schema.root, [_ocr_page(once)], set())["/f0"]
    assert found.value == "May 1,1985"
    assert found.warning is None
    assert found.confidence == alone.confidence


def test_a_label_printed_twice_beside_a_reading_too_unsure_to_keep_has_no_rival() -> None:
    # The second copy's answer is OCR noise that would be dropped as the field's value.
    noise = [Word(w.text, w.bbox, 0.3) for w in _line(150, 300, "Bo Chan")]
    twice = [*_line(72, 100, "Name:"), *_line(150, 100, "Ann Lee"), *_line(72, 300, "Name:"),
             *noise]  # fmt: skip
    schema = load_schema(_schema("Name:"))
    found = pair_fields(schema.root, [_ocr_page(twice)], set())["/f0"]
    alone = pair_fields(schema.root, [_ocr_page(twice[:3])], set())["/f0"]
    assert found.value == "Ann Lee"
    assert found.warning is None
    assert found.confidence == alone.confidence


def test_an_answer_under_its_label_takes_the_rest_of_its_line_up_to_a_columns_gap() -> None:
    # OCR cut the name at a wide word space; the next column's text is further on.
    words = [*_line(72, 100, "Account Executive:"), *_line(72, 116, "Peter"),
             *_line(114, 116, "Faucetta Jr."), *_line(400, 116, "Approved")]  # fmt: skip
    found = pair_fields(load_schema(_schema("Account Executive:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Peter Faucetta Jr."


def test_an_answer_run_on_into_its_label_takes_the_words_just_after_it_on_its_line() -> None:
    # OCR cut the line at a wide word space, as it does right of a label.
    run_on = _line(72, 100, "Study Director Dr. William O. Iverson")
    words = [*run_on, *_line(run_on[-1].bbox[2] + 12, 100, "Pathologist")]
    found = pair_fields(load_schema(_schema("Study Director")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Dr. William O. Iverson Pathologist"


def test_the_line_under_a_colon_label_with_nothing_beside_it_answers_it() -> None:
    # Its colon asks for an answer and none is beside it: the line under it is the answer.
    # A list of lines there may be several answers, a block going on under the line read may
    # be one cut short; capitals under capitals are a heading.
    words = [*_line(72, 100, "Reasons:"), *_line(72, 116, "Adjustment due to timing"),
             *_line(72, 200, "cc:"), *_line(72, 216, "A. H. Tisch"), *_line(72, 230, "R. Orcutt"),
             *_line(72, 244, "M. Peterson"),
             *_line(72, 300, "SIGNATURE:"), *_line(72, 316, "LOT NUMBERS"),
             *_line(72, 400, "Comments:"), *_line(72, 416, '"Thank you for the tickets"'),
             *_line(120, 430, "Rogers Liquor, Marina")]  # fmt: skip
    schema = load_schema(_schema("Reasons:", "cc:", "SIGNATURE:", "Comments:"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Adjustment due to timing"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR
    assert found["/f1"].confidence < FREE_TEXT_FLOOR
    assert "/f2" not in found or found["/f2"].confidence < FREE_TEXT_FLOOR
    assert found["/f3"].confidence < FREE_TEXT_FLOOR


def test_a_short_answer_under_a_colon_label_is_whole_though_text_sits_under_it() -> None:
    # The text under it starts well right of it: another row's, not a line continuing it.
    words = [*_line(72, 100, "Copies to:"), *_line(72, 114, "D. Barcia"),
             *_line(110, 128, "TO BE CHARGED")]  # fmt: skip
    found = pair_fields(load_schema(_schema("Copies to:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "D. Barcia"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_key_that_is_a_machines_id_is_no_label_beside_its_title() -> None:
    # The answer "15" of the field keyed "q15" is no label of it: its title is its label.
    pdf = _page([(72, 100, "Attendance:"), (160, 100, "15")])
    schema = {
        "type": "object",
        "properties": {"q15": {"type": ["string", "null"], "title": "Attendance"}},
    }
    assert docvlm.extract(pdf, schema).data == {"q15": "15"}


def _table(rows: list[tuple[float, list[tuple[float, str]]]]) -> PageWords:
    """An OCR page of `rows`: each a y and its cells, (x, text)."""
    return _ocr_page([w for y, cells in rows for x, text in cells for w in _line(x, y, text)])


def test_a_table_headers_column_is_read_surely_not_the_next_heading_beside_it() -> None:
    # "VOLUME" beside "NAME OF ACCOUNT" is the next column's heading: the row under the
    # header row has figures under it, so the header row is a table's.
    page = _table([(100, [(30, "NAME OF ACCOUNT"), (160, "VOLUME"), (230, "STORES")]),
                   (120, [(30, "Chatham Oil"), (160, "139/27"), (236, "23")]),
                   (140, [(30, "Express Stop"), (160, "202/22"), (236, "21")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("NAME OF ACCOUNT", "STORES")).root, [page], set())
    assert found["/f0"].value == "Chatham Oil Express Stop"
    assert found["/f1"].value == "23 21"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR  # returned, not withheld


def test_a_tables_column_stops_at_the_next_tables_header_row() -> None:
    page = _table([(100, [(100, "Supplier"), (230, "Travel"), (300, "Total Cost")]),
                   (120, [(72, "Kapuler"), (230, "$2000"), (300, "$35,675")]),
                   (140, [(72, "Market Facts"), (230, "$2000"), (300, "$37,000")]),
                   (160, [(72, "PROJECTED"), (190, "Summary of MRD Budget"), (330, "1990")]),
                   (180, [(190, "Total Area Budget"), (310, "370,000.00")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Total Cost")).root, [page], set())
    assert found["/f0"].value == "$35,675 $37,000"


def test_a_blank_row_ends_a_tables_column() -> None:
    page = _table([(100, [(72, "Brand"), (200, "Count"), (300, "Share")]),
                   (120, [(72, "Doral"), (200, "30"), (300, "12%")]),
                   (140, [(72, "Basic"), (200, "20"), (300, "8%")]),
                   (200, [(200, "4411")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Count")).root, [page], set())
    assert found["/f0"].value == "30 20"


def test_a_headers_gloss_in_brackets_is_not_its_columns_first_cell() -> None:
    page = _table([(100, [(72, "Brand"), (200, "Tar"), (300, "Nicotine")]),
                   (114, [(190, "(mg/cig)"), (290, "(mg/cig)")]),
                   (134, [(72, "Doral"), (200, "3"), (300, "0.2")]),
                   (154, [(72, "Basic"), (200, "5"), (300, "0.4")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Nicotine")).root, [page], set())
    assert found["/f0"].value == "0.2 0.4"


def test_label_value_pairs_side_by_side_are_no_table() -> None:
    # Words and figures alternate along the row under: each label's answer is beside it.
    page = _table([(100, [(72, "Company"), (180, "SPEVCO INC"), (300, "Brands"), (400, "Camel")]),
                   (120, [(72, "Total Cost"), (180, "$1,340,000.00"), (300, "Current Year"),
                          (400, "1994-1995")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Company", "Brands")).root, [page], set())
    assert found["/f0"].value == "SPEVCO INC"
    assert found["/f1"].value == "Camel"


def test_a_tables_cell_answers_both_its_rows_header_and_its_columns() -> None:
    page = _table([(100, [(72, "Brand"), (200, "Male"), (300, "Female")]),
                   (120, [(72, "Kool Lights"), (200, "60"), (300, "46")]),
                   (140, [(72, "Bright"), (200, "34"), (300, "43")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Male", "Bright")).root, [page], set())
    assert found["/f0"].value == "60 34"
    assert found["/f1"].value == "34 43"


def test_a_rows_code_and_description_before_its_figures_still_make_a_tables_row() -> None:
    # Cells under no heading (the row's own code and name) are not the alternation of
    # label–value pairs: only the cells under the headings are.
    page = _table([(100, [(300, "TAR"), (360, "NIC"), (420, "MOIST")]),
                   (120, [(30, "#839/869"), (100, "KOOL Lights KS"), (300, "9.1"), (360, ".88"),
                          (420, "14.0")]),
                   (140, [(30, "#869/839"), (100, "Bright KS"), (300, "5.5"), (360, ".55"),
                          (420, "13.5")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("TAR", "MOIST")).root, [page], set())
    assert found["/f0"].value == "9.1 5.5"
    assert found["/f1"].value == "14.0 13.5"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_header_repeated_across_a_table_answers_the_fields_titled_so_surely() -> None:
    # The schema asks for the header twice, the table prints it three times: the fields take
    # the columns in reading order, with no rival's doubt; where a header is printed more
    # often than the schema asks for it is a table's layout, not a second label.
    xs = [30, 130, 200, 270, 340, 410]
    rows = [["Group", "Score", "Base", "Score", "Base", "Score"],
            ["Male", "4.31", "(99)", "4.45", "(98)", "4.71"],
            ["Female", "3.60", "(106)", "3.43", "(101)", "3.41"]]  # fmt: skip
    page = _table([(100 + 20 * i, list(zip(xs, row, strict=True))) for i, row in enumerate(rows)])
    found = pair_fields(load_schema(_schema("Score", "Score")).root, [page], set())
    assert [found["/f0"].value, found["/f1"].value] == ["4.31 3.60", "4.45 3.43"]
    assert min(found["/f0"].confidence, found["/f1"].confidence) >= FREE_TEXT_FLOOR


def test_a_tables_first_row_under_a_line_of_glosses_is_still_its_first_row() -> None:
    # The glosses under the other headings push the first row over two header heights down.
    page = _table([(100, [(72, "GROUP"), (200, "DOSAGE"), (300, "RESULTS")]),
                   (113, [(190, "(mg/kg)"), (290, "(dead/tested)")]),
                   (136, [(76, "1"), (200, "5000"), (300, "0/6")]),
                   (150, [(76, "2"), (200, "6000"), (300, "1/6")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("GROUP")).root, [page], set())
    assert found["/f0"].value == "1 2"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_two_headings_over_a_tables_rows_head_columns() -> None:
    page = _table([(100, [(200, "Code"), (300, "Amount")]),
                   (120, [(72, "Previous"), (200, "519"), (300, "$120")]),
                   (140, [(72, "This Change"), (200, "934"), (300, "$40")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Code")).root, [page], set())
    assert found["/f0"].value == "519 934"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_header_centred_over_a_wider_text_column_heads_it() -> None:
    # Its names start well left of it, their centres left of its span.
    page = _table([(100, [(162, "Supplier"), (300, "Cost"), (400, "Travel")]),
                   (120, [(80, "Analytic Insight, Inc."), (300, "27,000"), (400, "2,500")]),
                   (140, [(80, "Goldfarb Consultants"), (300, "29,216"),
                          (400, "2,500")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Supplier")).root, [page], set())
    assert found["/f0"].value == "Analytic Insight, Inc. Goldfarb Consultants"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_one_row_under_a_row_of_headings_is_no_sure_table_column() -> None:
    # A form printing each value over its small label ("924 Main St" over "LAST") reads as a
    # row of headings with one row under it: that row may be the next labels' answers, and
    # the answer on the rule over each label is its own.
    pdf = _page([(72, 100, "924 Main St"), (300, 100, "Maria"), (72, 112, "LAST", 7),
                 (300, 112, "STREET", 7), (72, 130, "1625"), (300, 130, "13/01/2018"),
                 (72, 142, "FIRST", 7), (300, 142, "CITY", 7)])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Last", "Street"), min_confidence=0)
    assert result.data == {"f0": "924 Main St", "f1": "Maria"}


def test_the_answer_on_a_labels_line_comes_before_the_next_lines_start_under_it() -> None:
    # A tall label's band reaches the wrapped answer's second line, which starts at the same x.
    words = [Word("Description:", (80, 93, 146, 110.5), 0.97),
             Word("LUCKY", (180, 94, 220, 109), 0.96), Word("STRIKE", (224, 94, 270, 109), 0.96),
             Word("RESEARCH", (274, 94, 340, 109), 0.96),
             Word("GATEWAY", (179.5, 108, 240, 123.5), 0.96),
             Word("Requested", (80, 128, 140, 142), 0.97), Word("by:", (143, 128, 160, 142), 0.97),
             Word("A.A.Strobel", (180, 128, 249, 142), 0.95)]  # fmt: skip
    schema = load_schema(_schema("Description:", "Requested by:"))
    found = pair_fields(schema.root, [_ocr_page(words)], set())
    assert found["/f0"].value.startswith("LUCKY STRIKE RESEARCH")
    assert found["/f1"].value == "A.A.Strobel"


def _sized(rows: list[tuple[float, float, list[tuple[float, str]]]]) -> PageWords:
    """An OCR page of `rows`: each a y, a print height and its cells, (x, text)."""
    return _ocr_page([Word(word.text, (*word.bbox[:3], y + height), 0.95)
                      for y, height, cells in rows for x, text in cells
                      for word in _line(x, y, text)])  # fmt: skip


def test_a_tables_rows_are_spaced_by_its_entries_print_not_its_smaller_headings() -> None:
    # Headings in small print over entries typed larger: the first row sits further under
    # them, in heading heights, than a value under a label does.
    page = _sized([(100, 8, [(72, "GROUP"), (200, "DOSAGE"), (300, "RESULTS")]),
                   (108, 8, [(190, "(mg/kg)"), (290, "(dead/tested)")]),
                   (134, 14, [(76, "1"), (200, "5000"), (300, "0/6")]),
                   (156, 14, [(76, "2"), (200, "6000"), (300, "1/6")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("GROUP", "DOSAGE")).root, [page], set())
    assert found["/f0"].value == "1 2"
    assert found["/f1"].value == "5000 6000"


def _unsure_table(rows: list[tuple[float, list[tuple[float, str]]]]) -> PageWords:
    """`_table`'s page, every word read at 0.8, as on an old typewritten scan."""
    words = [w for y, cells in rows for x, text in cells for w in _line(x, y, text)]
    return _ocr_page([Word(w.text, w.bbox, 0.8) for w in words])


def test_a_tables_row_of_figures_answers_its_row_header_surely_up_to_the_next_column() -> None:
    # Each cell has figures over or under it in its column, and the row header stands in a
    # column of row headers: the row is a table's, read whole and as surely as a column. The
    # words after it are the next column's; a row missing a cell (OCR dropped it) stays unsure.
    page = _unsure_table([(100, [(120, "SCORE"), (180, "BASE"), (240, "SCORE"), (300, "BASE")]),
                          (120, [(30, "Male"), (120, "2.0"), (180, "(51)"), (240, "31"),
                                 (300, "(83)"), (336, "averaged across")]),
                          (140, [(30, "Female"), (120, "0.0"), (180, "(46)"), (240, "31"),
                                 (300, "(84)"), (336, "several ads")]),
                          (160, [(30, "Under 35"), (120, "2.4"), (240, "33"),
                                 (300, "(81)")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Male", "Female", "Under 35")).root, [page], set())
    assert found["/f0"].value == "2.0 (51) 31 (83)"
    assert found["/f1"].value == "0.0 (46) 31 (84)"
    assert min(found["/f0"].confidence, found["/f1"].confidence) >= FREE_TEXT_FLOOR
    assert found["/f2"].confidence < FREE_TEXT_FLOOR


def test_a_tables_row_of_figures_with_their_units_answers_its_row_header_surely() -> None:
    # Each figure and its unit read as cells of their own ("27 | mm | 27 | mm").
    page = _unsure_table([(100, [(150, "Suggested"), (250, "Trial")]),
                          (120, [(30, "Rod Length"), (150, "72"), (185, "mm"), (250, "72"),
                                 (285, "mm")]),
                          (140, [(30, "Filter Length"), (150, "27"), (185, "mm"), (250, "27"),
                                 (285, "mm")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Filter Length")).root, [page], set())
    assert found["/f0"].value == "27 mm 27 mm"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_heading_printed_low_on_a_skewed_header_row_still_heads_its_column() -> None:
    # The first row's cells reach into the low heading's band: they are no headings of its row.
    page = _table([(100, [(200, "TAR"), (260, "NIC")]),
                   (106, [(320, "MENT")]),
                   (114, [(72, "Kool"), (200, "9.1"), (260, ".88"), (320, ".474")]),
                   (132, [(72, "Bright"), (200, "5.5"), (260, ".55"), (320, ".841")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("MENT")).root, [page], set())
    assert found["/f0"].value == ".474 .841"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_tables_column_ends_where_words_stand_under_a_heading_its_first_cell_spans() -> None:
    # OCR read the first row's Cost and Travel cells as one segment: that cell puts figures
    # under Travel too, so the row with words under Travel is past the table.
    page = _table([(100, [(72, "Supplier"), (200, "Cost"), (300, "Travel"), (400, "Total")]),
                   (120, [(72, "Kapuler"), (200, "$33,675 Est. $2000"), (400, "$35,675")]),
                   (140, [(72, "Facts"), (200, "$35,000 Est. $2000"), (400, "$37,000")]),
                   (160, [(72, "Init. Date"), (200, "4/10/90"), (290, "Area Budget:"),
                          (400, "370,000.00")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Cost")).root, [page], set())
    assert found["/f0"].value == "$33,675 Est. $2000 $35,000 Est. $2000"


def test_a_number_stamped_down_the_margin_beside_a_header_row_is_no_heading() -> None:
    # One digit a line down the margin: the "6" in the header row's band is no heading with
    # figures, which would have said the row is no table's header row.
    page = _table([(100, [(200, "DORAL"), (260, "BASIC"), (500, "6")]),
                   (111, [(500, "0")]),
                   (122, [(72, "PACKS"), (200, "30"), (260, "20"), (500, "9")]),
                   (142, [(72, "CARTONS"), (200, "$3.00"), (260, "$2.00")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("DORAL")).root, [page], set())
    assert found["/f0"].value == "30 $3.00"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_headings_figure_is_no_missing_cell_of_the_first_row_under_it() -> None:
    # "12" of "Mean of Last 12 Samples" stands over no cell of the first row: it is a heading's
    # word, not a cell OCR dropped from that row.
    page = _unsure_table([(100, [(150, "Present"), (250, "Mean of Last")]),
                          (112, [(224, "12"), (262, "Samples")]),
                          (130, [(30, "Weight"), (150, "1.089"), (262, "1.106")]),
                          (150, [(30, "Draw"), (150, "0.34"), (262, "0.37")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Weight")).root, [page], set())
    assert found["/f0"].value == "1.089 1.106"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_an_answer_of_a_count_and_another_fields_word_is_no_misread_label() -> None:
    # "3 cartons" is no "Cartons" label misread: OCR reads no letter as a 3.
    page = _table([(100, [(72, "Laboratory"), (160, "3 cartons")]),
                   (120, [(72, "Cartons"), (160, "Blue")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Laboratory", "Cartons")).root, [page], set())
    assert found["/f0"].value == "3 cartons"
    assert found["/f1"].value == "Blue"


def test_a_label_that_ends_in_another_fields_label_is_read_whole() -> None:
    # "Written by" is a field too, but "Sample Specifications Written By" names its own.
    page = _table([(100, [(72, "Sample Specifications Written By."), (300, "W. E. Routh")]),
                   (140, [(72, "Written by"), (160, "P. D. Schickedantz")])])  # fmt: skip
    schema = _schema("Sample Specifications Written By", "Written by")
    found = pair_fields(load_schema(schema).root, [page], set())
    assert found["/f0"].value == "W. E. Routh"
    assert found["/f1"].value == "P. D. Schickedantz"


def test_a_label_another_field_took_with_its_value_is_no_rival() -> None:
    # Three telephone labels for two fields: the first field takes the first label and
    # its number, which then is no second value of the second field's label.
    page = _table([(100, [(72, "Telephone:"), (160, "(202) 842-9530")]),
                   (140, [(72, "TELEPHONE:"), (160, "202/457-4850")]),
                   (180, [(72, "TELEPHONE:")])])  # fmt: skip
    page.words.append(Word("IANCo)", (160, 180, 196, 191), 0.3))  # a scrawl read unsurely
    page = _ocr_page(page.words)
    found = pair_fields(load_schema(_schema("Telephone:", "TELEPHONE")).root, [page], set())
    assert found["/f0"].value == "(202) 842-9530"
    assert found["/f1"].value == "202/457-4850"
    assert found["/f1"].warning is None
    assert found["/f1"].confidence >= FREE_TEXT_FLOOR


def test_a_number_goes_on_under_itself_only_in_figures() -> None:
    # Words under a telephone number are a note or another row's, not more of the number;
    # an address's words go on under it.
    page = _table([(100, [(72, "Telephone:"), (160, "202/457-4850")]),
                   (114, [(160, "Ar Coe")]),
                   (160, [(72, "Address:"), (160, "1101 Vermont Ave.")]),
                   (174, [(160, "Washington, DC")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Telephone", "Address")).root, [page], set())
    assert found["/f0"].value == "202/457-4850"
    assert found["/f1"].value == "1101 Vermont Ave. Washington, DC"


def test_a_label_ocr_read_in_fewer_words_is_cut_off_the_value_run_into_it() -> None:
    # "F.P.M." is one word of the label "F. P. M. No. 2 Roller", run on after the answer
    # of the label before it.
    page = _table([(100, [(72, "Mean Draw of Rod"), (180, "0.12(new scale) F.P.M. No. 2 Roller"),
                          (420, "362.5")])])  # fmt: skip
    schema = _schema("Mean Draw of Rod", "F. P. M. No. 2 Roller")
    found = pair_fields(load_schema(schema).root, [page], set())
    assert found["/f0"].value == "0.12(new scale)"
    assert found["/f1"].value == "362.5"


def test_an_answer_typed_on_the_rule_over_its_label_is_the_labels() -> None:
    # The answer starts over the label, not past its end: a label printed under its rule
    # with nothing beside it or under it.
    page = _table([(100, [(300, "527.6")]), (113, [(290, "PLANT AVERAGE")]),
                   (160, [(72, "NUMBER OF PANELS:"), (250, "12")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("PLANT AVERAGE")).root, [page], set())
    assert found["/f0"].value == "527.6"


def test_a_label_word_printed_again_after_the_label_is_no_part_of_it() -> None:
    # "production" after "Filter Production" is its answer repeating the word, not the label.
    assert label_score("Filter Production production", ["Filter Production"]) < STRONG_LABEL_SCORE
    assert label_score("Net Net Tobacco", ["Net Net Tobacco"]) == 100


def test_capitals_run_on_into_a_label_in_capitals_are_its_wording_not_its_answer() -> None:
    # "NAME" goes on with "COMPOUND": the answer is under the whole label.
    page = _table([(100, [(72, "COMPOUND NAME")]), (118, [(72, "Valerian Fluid Extract")])])
    found = pair_fields(load_schema(_schema("COMPOUND")).root, [page], set())
    assert found["/f0"].value == "Valerian Fluid Extract"


def test_the_answer_under_a_labels_gloss_is_read_past_the_gloss() -> None:
    page = _table([(100, [(72, "SOLVENT")]), (114, [(72, "(specify)")]),
                   (130, [(72, "Ethanol")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("SOLVENT")).root, [page], set())
    assert found["/f0"].value == "Ethanol"


def test_initials_are_no_label_misread_with_its_spaces() -> None:
    # "Dr. A. W." does not read "Draw" (a table's heading, its column unread): the name
    # under "Copies to:" is its answer's.
    unsure = [
        replace(w, confidence=0.5)
        for w in [*_line(160, 100, "Mr. R. A. Wagner"), *_line(160, 114, "Mr. J. Berner")]
    ]
    page = _table([(100, [(72, "Copies to:")]), (128, [(160, "Dr. A. W. Spears")]),
                   (160, [(72, "Weight"), (160, "Draw")])])  # fmt: skip
    page = _ocr_page([*page.words, *unsure])
    found = pair_fields(load_schema(_schema("Copies to", "Draw")).root, [page], set())
    assert found["/f0"].value == "Mr. R. A. Wagner Mr. J. Berner Dr. A. W. Spears"
    assert "/f1" not in found


def test_an_answer_signed_well_under_a_colon_label_with_nothing_beside_it_is_its() -> None:
    # Room to sign in between: over two label heights under "Approved by:"; a label without
    # a colon asks for no answer that far down.
    page = _table([(100, [(300, "Approved by:")]), (146, [(300, "R. S. Sprinkle, III")]),
                   (200, [(72, "Remarks")]), (246, [(72, "Kept on file")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Approved by", "Remarks")).root, [page], set())
    assert found["/f0"].value == "R. S. Sprinkle, III"
    assert "/f1" not in found


def test_one_word_of_a_labels_wording_beside_it_is_the_choice_it_offers() -> None:
    page = _table([(100, [(72, "Pack and/or Carton?"), (250, "Carton")]),
                   (140, [(72, "This Change:"), (250, "-14,165.00")]),
                   (154, [(72, "(From Current Budget)")])])  # fmt: skip
    schema = _schema("Pack and/or Carton?", "This Change: (From Current Budget)")
    found = pair_fields(load_schema(schema).root, [page], set())
    assert found["/f0"].value == "Carton"
    assert found["/f1"].value == "-14,165.00"  # the gloss printed apart is no more of it


def test_a_line_number_is_no_label_for_a_field_named_by_its_number() -> None:
    # A flattened tax form's widget "N_11" and a list's "Line 1": the printed figure alone
    # shares only the number with the name, as every numbered line on the page would.
    pdf = _page([(40, 100, "11"), (72, 100, "Wages and salaries"), (300, 100, "5,000"),
                 (40, 130, "1"), (72, 130, "Interest"), (300, 130, "120")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("N_11", "Line 1", "Wages and salaries"))
    assert result.data == {"f0": None, "f1": None, "f2": "5,000"}


def test_a_sentence_wider_than_the_row_under_a_value_is_not_its_answer_going_on() -> None:
    # Printed instructions back at the label's margin, reaching far past the value's end:
    # the form's own text; the value is read alone, and as surely as any.
    pdf = _page([(72, 100, "Lobbyist Name:"), (160, 100, "Peter J. McGinn"),
                 (72, 114, "If any addresses or telephone numbers have changed please check here"),
                 (72, 160, "Firm:"), (160, 160, "Smith & Jones")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Lobbyist Name", "Firm"))
    assert result.data["f0"] == "Peter J. McGinn"
    assert result.fields["/f0"].confidence == result.fields["/f1"].confidence


def test_a_label_under_a_label_is_the_next_row_not_the_answer_going_on() -> None:
    # "Process Controls" ends under "Kind", about where the value starts: the column of
    # labels goes on.
    pdf = _page([(72, 100, "Kind"), (140, 100, "plastic rod"), (72, 114, "Process Controls"),
                 (72, 128, "Rod Length")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Kind"))
    assert result.data["f0"] == "plastic rod"


def test_a_time_of_day_printed_just_after_a_date_is_part_of_the_answer() -> None:
    # "1-26-95 | 9:00 AM EST": one answer; a time across a column's gap is another row's.
    pdf = _page([(72, 100, "DEADLINE FOR BID:"), (200, 100, "1-26-95"), (250, 100, "9:00 AM EST"),
                 (72, 140, "DATE REQUESTED:"), (200, 140, "1-23-95"),
                 (400, 140, "10:30")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("DEADLINE FOR BID", "DATE REQUESTED"))
    assert result.data["f0"] == "1-26-95 9:00 AM EST"
    assert result.data["f1"] == "1-23-95"


def test_a_paragraph_answer_reads_on_past_a_sentence_ending_in_a_colon() -> None:
    # "product samples. (Note:" goes on with the sentence above it, in lower case: no label.
    pdf = _page([(72, 100, "Suggestion:"), (140, 100, "Discontinue coal retention analyses on"),
                 (140, 114, "product samples. (Note:"), (140, 128, "not done by most licensees.)"),
                 (72, 170, "cc:"), (140, 170, "M. Hamann")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Suggestion", "cc"))
    assert result.data["f0"] == (
        "Discontinue coal retention analyses on product samples. (Note: not done by most"
        " licensees.)"
    )
    assert result.data["f1"] == "M. Hamann"


def test_a_gloss_beside_a_label_is_read_with_the_answer_under_it() -> None:
    # "(Description of Location)" asks; the paragraph back at the label's margin answers,
    # however wide it runs.
    pdf = _page([(72, 100, "COMMENTS:"), (160, 100, "(Description of Location)"),
                 (72, 114, "This is a comparatively easy market to cover, less than an hour away"),
                 (72, 160, "Remarks:"), (140, 160, "None")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("COMMENTS", "Remarks"))
    assert result.data["f0"] == (
        "(Description of Location) This is a comparatively easy market to cover, less than an"
        " hour away"
    )
    assert result.data["f1"] == "None"


def test_a_value_may_go_on_back_under_its_label_in_capitals_so_it_is_less_sure() -> None:
    # Capitals under a label in capitals may be the next heading or the answer going on:
    # not read on, but doubted. A row's next label, ending under the label, says nothing.
    pdf = _page([(72, 100, "EFFECTIVENESS:"), (170, 100, "OUTDOOR ADS HELPED"),
                 (72, 114, "CREATING AWARENESS IN ALL"),
                 (72, 160, "Firm:"), (170, 160, "Smith & Jones"),
                 (72, 174, "Regional Sales Office")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("EFFECTIVENESS", "Firm"))
    assert result.data["f0"] == "OUTDOOR ADS HELPED"
    assert result.data["f1"] == "Smith & Jones"
    assert result.fields["/f0"].confidence < result.fields["/f1"].confidence


def test_a_tick_printed_before_its_option_is_its_answer() -> None:
    # "☒ FAIR" read as "X FAIR", or glued ("XYES"), or a tick read after its option ("Yes x"):
    # the tick is the option's answer, not the next option's words beside it.
    page = _table([(100, [(72, "RATING:"), (200, "POOR"), (260, "X FAIR"), (330, "GOOD")]),
                   (130, [(72, "REPEAT?"), (200, "XYES"), (260, "NO")]),
                   (160, [(72, "Budgeted:"), (200, "Sure x"), (260, "Not sure")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("FAIR", "YES", "Sure")).root, [page], set())
    assert [found[f"/f{i}"].value for i in range(3)] == ["X", "X", "x"]
    assert found["/f0"].confidence < 0.9


def test_a_tick_across_a_cells_border_is_the_previous_cells_answer() -> None:
    # "Yes | X | No" in a drawn table, OCR reading "X No" as one segment: the tick is in the
    # "Yes" cell, so it answers "Yes" and "No" is not ticked.
    raster = Image.new("RGB", (612, 792), "white")
    draw = ImageDraw.Draw(raster)
    for x0, x1 in [(60, 110), (110, 160), (160, 210)]:
        draw.rectangle((x0, 94, x1, 117), outline="black", width=2)
    words = [Word("Yes", (72, 100, 90, 111), 0.95), Word("X", (151, 100, 157, 111), 0.95),
             Word("No", (163, 100, 175, 111), 0.95)]  # fmt: skip
    page = _ocr_page(words, raster)
    assert [s.text for s in page.lines[0]] == ["Yes", "X No"]
    found = pair_fields(load_schema(_schema("No", "Yes")).root, [page], set())
    assert found["/f1"].value == "X"
    assert "/f0" not in found


def test_a_label_printed_alone_is_read_before_the_same_words_opening_a_longer_line() -> None:
    # "Original MRA did not include cost" is a sentence that opens with the label's word; the
    # label printed alone has the answer beside it.
    page = _table([(100, [(72, "Original MRA did not include cost")]),
                   (140, [(72, "Original"), (200, "Project File")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Original")).root, [page], set())
    assert found["/f0"].value == "Project File"


def test_a_tick_printed_apart_just_before_an_option_is_its_answer() -> None:
    # "X" just before "OTHER" and far after "REGION" ticks "OTHER"; "x" just after "Yes" and
    # further from "No" ticks "Yes".
    page = _table([(100, [(72, "SCOPE:"), (130, "AREA"), (180, "REGION"), (250, "X"),
                          (268, "OTHER")]),
                   (130, [(40, "Result"), (124, "XX"), (148, "REJECTED"), (250, "ACCEPTED")]),
                   (160, [(72, "Paid"), (130, "Yes"), (156, "x"), (180, "No")])])  # fmt: skip
    assert [s.text for s in page.lines[0]][-2:] == ["X", "OTHER"]
    assert [s.text for s in page.lines[1]][1:3] == ["XX", "REJECTED"]
    schema = _schema("REGION", "OTHER", "REJECTED", "ACCEPTED", "No", "Yes")
    found = pair_fields(load_schema(schema).root, [page], set())
    assert {key: value.value for key, value in found.items()} == {
        "/f1": "X",
        "/f2": "XX",
        "/f5": "x",
    }


def test_an_option_among_a_row_of_options_has_no_answer_in_the_next_option() -> None:
    # "POOR | FAIR | GOOD": capitals between capitals are a row of options, none the other's
    # answer; a label in capitals opening its line still has one ("MEDIA | MAGAZINE").
    page = _table([(100, [(72, "RATING:"), (160, "POOR"), (220, "FAIR"), (280, "GOOD")]),
                   (130, [(72, "MEDIA"), (160, "MAGAZINE")])])  # fmt: skip
    found = pair_fields(
        load_schema(_schema("FAIR", "MEDIA")).root, [page], set(), free_text_floor=0
    )
    assert "/f0" not in found
    assert found["/f1"].value == "MAGAZINE"


def test_a_capitalised_label_ending_a_segment_after_figures_is_cut_from_them() -> None:
    # "P.O. 1534 REV.10/79 DATE": a form's number run into the label printed after it, whose
    # answer is under it; a word in lower case there is the figures' unit ("3 cartons").
    page = _table([(100, [(72, "P.O. 1534 REV.10/79 DATE")]), (116, [(186, "March 27,1984")]),
                   (160, [(72, "Quantity"), (200, "3 cartons")])])  # fmt: skip
    schema = load_schema(_schema("DATE", "Quantity", "Cartons"))
    found = pair_fields(schema.root, [page], set(), free_text_floor=0)
    assert found["/f0"].value == "March 27,1984"
    assert found["/f1"].value == "3 cartons"


def test_a_tick_before_a_typed_fields_label_leaves_its_value_to_be_read() -> None:
    # A tick answers free text only: a date field's label with one before it is still read.
    page = _table([(100, [(34, "X"), (56, "Date:"), (120, "5/3/90")])])
    schema = {
        "type": "object",
        "properties": {"d": {"type": "string", "format": "date", "title": "Date"}},
    }
    found = pair_fields(load_schema(schema).root, [page], set())
    assert found["/d"].value.startswith("1990-")


def test_a_headings_column_of_figures_is_read_surely_where_the_row_shows_no_table() -> None:
    # The next heading's column is empty, so the first row shows no table; every cell under
    # "Cost" is figures: a table's column of amounts all the same, not a guessed block.
    page = _table([(100, [(72, "Supplier"), (200, "Cost"), (300, "Notes")]),
                   (120, [(72, "Kapuler"), (200, "$35,675")]),
                   (140, [(72, "Market Facts"), (200, "$37,000")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Cost")).root, [page], set())
    assert found["/f0"].value == "$35,675 $37,000"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR  # returned, not withheld


def test_a_tables_column_goes_on_past_a_row_blank_in_it() -> None:
    # "SEE ATTACHED" wraps the first row's name onto a line of its own: the code's column
    # is blank there, and its next cell is the table's next row, not the column's end.
    page = _table([(100, [(72, "Name"), (200, "Code"), (300, "Units")]),
                   (120, [(72, "GPC BUYDOWN"), (200, "288"), (300, "50,759")]),
                   (140, [(72, "SEE ATTACHED")]),
                   (160, [(72, "Section 18"), (200, "296"), (300, "6,382")]),
                   (220, [(200, "4411")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Code")).root, [page], set())
    assert found["/f0"].value == "288 296"  # a stamp past a blank gap is no cell of it


def test_a_column_of_figures_going_on_past_a_blank_gap_is_read_short() -> None:
    # Figures under "Cost" again a few rows down (the table's next section): the column read
    # is a part of the heading's answer, no surer than a guessed block.
    page = _table([(100, [(72, "Supplier"), (200, "Cost"), (300, "Notes")]),
                   (120, [(72, "Kapuler"), (200, "$35,675")]),
                   (140, [(72, "Market Facts"), (200, "$37,000")]),
                   (185, [(72, "Female"), (200, "$9,000")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Cost")).root, [page], set())
    assert found["/f0"].confidence < FREE_TEXT_FLOOR  # withheld


def test_a_heading_over_several_columns_of_figures_is_no_sure_column() -> None:
    # "RATE PER TEST PLATE" spans two columns of figures: which are its answer is a guess.
    page = _table([(100, [(72, "Dose"), (200, "RATE PER TEST PLATE"), (380, "Notes")]),
                   (120, [(72, "500"), (210, ".92"), (290, ".88")]),
                   (140, [(72, "250"), (210, ".79"), (290, ".97")]),
                   (160, [(72, "125"), (210, ".83"), (290, ".85")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("RATE PER TEST PLATE")).root, [page], set())
    assert "/f0" not in found or found["/f0"].confidence < FREE_TEXT_FLOOR


def test_two_parts_of_one_line_overlapping_at_their_ends_stay_in_reading_order() -> None:
    # A typed value raised over its label's line ends a little over the next printed label:
    # one OCR line cut in two at that label, the value first, not stacked under it.
    label = Segment([Word("SOURCE:", (76, 156, 115, 167), 0.95)], 1, 0)
    value = Segment([Word("Organic", (138, 143, 312, 162), 0.95),
                     Word("Chemistry.", (322, 143, 408, 163), 0.95)], 1, 1)  # fmt: skip
    next_label = Segment([Word("LORILLARD", (405, 156, 451, 166), 0.95),
                          Word("NO:", (454, 156, 472, 166), 0.95)], 1, 1)  # fmt: skip
    page = SimpleNamespace(lines=[[label], [value, next_label]])
    assert right_of(page, label) == [value, next_label]  # type: ignore[arg-type]


def test_of_two_lines_overlapping_beside_a_label_the_nearer_its_line_is_first() -> None:
    # The next line's start reaches into a tall label's band under the value typed beside it.
    label = Segment([Word("PromoDates:", (76, 515, 136, 531), 0.95)], 1, 0)
    value = Segment([Word("March", (238, 511, 264, 524), 0.95)], 1, 0)
    next_line = Segment([Word("ATTACHED", (174, 526, 246, 544), 0.95)], 1, 1)
    page = SimpleNamespace(lines=[[label, value], [next_line]])
    assert right_of(page, label) == [value, next_line]  # type: ignore[arg-type]


def test_a_label_misread_by_a_letter_still_returns_the_answer_beside_it() -> None:
    # "Requestor:" for "Requester": a near-exact label, its clean answer above the floor.
    printed = _line(72, 100, "Requestor:") + _line(200, 100, "Liquid Adhesive")
    words = [Word(w.text, w.bbox, 0.96) for w in printed]
    found = pair_fields(load_schema(_schema("Requester")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "Liquid Adhesive"
    assert FREE_TEXT_FLOOR <= found["/f0"].confidence < 0.7


def test_a_tables_column_of_dates_reads_on_past_its_first_date() -> None:
    # A date is whole on its line beside a label; under a column's heading the cells under
    # it are the column's further dates.
    page = _table([(100, [(72, "Store"), (200, "Date"), (300, "Notes")]),
                   (120, [(72, "Louisville"), (200, "10/30/81"), (300, "ok")]),
                   (140, [(72, "Nashville"), (200, "10/16/81"), (300, "late")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Date", "Store", "Notes")).root, [page], set())
    assert found["/f0"].value == "10/30/81 10/16/81"


def test_a_line_typed_a_little_left_of_the_value_under_it_goes_on_with_it() -> None:
    # Initials and the date under them, typed out from the initials' start: one answer.
    page = _table([(100, [(72, "Technician"), (180, "DLR")]), (114, [(158, "12/5/89")])])
    found = pair_fields(load_schema(_schema("Technician")).root, [page], set())
    assert found["/f0"].value == "DLR 12/5/89"


def test_a_line_starting_well_left_of_the_value_under_it_is_not_read_on() -> None:
    # Text starting midway between the label and its value is printed on its own.
    page = _table([(100, [(72, "Technician"), (180, "DLR")]), (114, [(120, "Harvard School")])])
    found = pair_fields(load_schema(_schema("Technician")).root, [page], set())
    assert found["/f0"].value == "DLR"


def test_a_line_indented_under_a_long_value_goes_on_with_it() -> None:
    # The brand's second line is typed indented under the first, inside its span; the next
    # row's label, left of the value's column, is no reason to stop.
    page = _table([(100, [(72, "Brand:"), (120, "CARLTON Filter 100's 4 Mg Laser")]),
                   (112, [(180, "Mfg. for Taiwan")]), (116, [(72, "Pulse:")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Brand:", "Pulse:")).root, [page], set())
    assert found["/f0"].value == "CARLTON Filter 100's 4 Mg Laser Mfg. for Taiwan"


def test_a_smaller_caption_indented_under_a_value_is_not_read_on() -> None:
    words = [*_line(72, 100, "FROM:"), *_line(120, 100, "C T Corporation System"),
             Word("Originating", (160, 112, 200, 120), 0.95),
             Word("Agent", (204, 112, 224, 120), 0.95)]  # fmt: skip
    found = pair_fields(load_schema(_schema("FROM:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "C T Corporation System"


def test_a_smaller_caption_a_little_left_of_the_value_under_it_is_not_read_on() -> None:
    words = [*_line(72, 100, "Technician"), *_line(180, 100, "DLR"),
             Word("Initialled", (160, 113, 205, 120), 0.95)]  # fmt: skip
    found = pair_fields(load_schema(_schema("Technician")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "DLR"


def test_an_item_number_before_a_label_is_no_word_of_it() -> None:
    assert label_score("2. Document(s) Served:", ["Served:"]) >= MIN_LABEL_SCORE
    assert label_score("3. Courl:", ["Court:"]) >= MIN_LABEL_SCORE
    # A field named with its number is told from the other numbered items.
    assert label_score("1. Special Processing", ["3. Special Processing"]) < 100
    assert label_score("3. Special Processing", ["3. Special Processing"]) == 100


def test_a_character_in_quotes_is_an_answer_not_a_stray_mark() -> None:
    page = _table([(100, [(72, "Type of Rod"), (160, '"D"'), (260, "Tape Speed")])])
    found = pair_fields(load_schema(_schema("Type of Rod", "Tape Speed")).root, [page], set())
    assert found["/f0"].value == '"D"'


def test_a_label_closing_a_segment_after_a_value_is_cut_from_it() -> None:
    # "Badmin-" ends the value before it in no letter: "Sample:" is a label of its own.
    page = _table([(100, [(72, "Commercial:"), (150, "40 (with BELAIR Badmin- Sample:"),
                          (400, "336")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Commercial:", "Sample:")).root, [page], set())
    assert found["/f1"].value == "336"


def test_words_ending_in_a_colon_set_close_after_a_label_open_its_answer() -> None:
    page = _table([(100, [(72, "Description:"), (150, "Hong Kong:"), (214, "Cigarette Monitor")]),
                   (120, [(72, "Supplier:"), (130, "MDR, HK")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Description:", "Supplier:")).root, [page], set())
    assert found["/f0"].value == "Hong Kong: Cigarette Monitor"


def test_a_label_after_room_left_blank_is_no_opening_of_the_answer() -> None:
    page = _table([(100, [(72, "Description:"), (190, "Region:"), (240, "Cigarette Monitor")])])
    found = pair_fields(load_schema(_schema("Description:")).root, [page], set())
    assert "/f0" not in found


def test_a_wrapped_line_ending_in_a_clause_and_a_colon_goes_on_with_the_answer() -> None:
    # "all applicable:" closes a clause after a comma: the sentence goes on, no label.
    page = _table([(100, [(72, "Requirements")]),
                   (116, [(72, "Cigts. to be packed in white labels,")]),
                   (130, [(72, "ATF Auth. #47, sample not for sale, all applicable:")]),
                   (144, [(72, "state taxes paid.")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Requirements")).root, [page], set())
    assert found["/f0"].value.endswith("all applicable: state taxes paid.")


def test_a_lists_item_markers_are_read_with_its_items() -> None:
    # "a)" is the answer's own, not a stray mark; "met." hangs under its item's words.
    page = _table([(100, [(72, "NOTES:"), (140, "a)"), (170, "Nature of work.")]),
                   (114, [(140, "b)"), (170, "R&D should advise if")]),
                   (128, [(170, "met.")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("NOTES:")).root, [page], set())
    assert found["/f0"].value == "a) Nature of work. b) R&D should advise if met."


def test_figures_ending_in_a_colon_are_a_value_not_a_label() -> None:
    page = _table([(100, [(72, "Plast."), (130, "7%:"), (160, "Kent")])])
    found = pair_fields(load_schema(_schema("Plast.")).root, [page], set())
    assert found["/f0"].value == "7%: Kent"


def test_words_ending_in_a_colon_set_close_inside_an_answer_are_read_with_it() -> None:
    page = _table([(100, [(72, "Description:"), (150, "Amelia 100's"), (234, "Candidates:"),
                          (314, "NM-FT and NM-Lights")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Description:")).root, [page], set())
    assert found["/f0"].value == "Amelia 100's Candidates: NM-FT and NM-Lights"


def _scores(score_cells: dict[str, str], footer: list[tuple[float, float, str]]) -> PageWords:
    """A table of SCORE and BASE under a units row ("%"), its rows headed at the left and
    grouped under headings of their own ("SEX:", "AGE:") with blank rows between."""
    rows = [(100, [(100, "SCORE"), (150, "BASE")]), (114, [(106, "%")])]
    for y, header, base in [(140, "OVERALL:", "(97)"), (170, "SEX:", None), (184, "Male", "(51)"),
                            (198, "Female", "(46)"), (230, "AGE:", None), (244, "Under 25", None),
                            (280, "Under 35", "(42)")]:  # fmt: skip
        cells = [(30, header), *([(152, base)] if base else [])]
        rows.append((y, cells + ([(106, score_cells[header])] if header in score_cells else [])))
    return _table(rows + [(y, [(x, text)]) for x, y, text in footer])


def test_a_column_under_a_units_row_reads_on_across_its_tables_blank_rows() -> None:
    # The cells of each column are those on its table's rows, headed down the left: the units
    # row over the first is no cell, and the blank rows of a group are no end of the table.
    scores = {"OVERALL:": "1.0", "Male": "2.0", "Female": "0.0", "Under 35": "2.4"}
    page = _scores(scores, [])
    found = pair_fields(load_schema(_schema("SCORE", "BASE")).root, [page], set())
    assert found["/f0"].value == "1.0 2.0 0.0 2.4"
    assert found["/f1"].value == "(97) (51) (46) (42)"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_footer_under_a_row_headed_table_is_no_row_of_it() -> None:
    # A file name in the footer starts left of the row headers: past the table's end.
    scores = {"OVERALL:": "1.0", "Male": "2.0", "Female": "0.0", "Under 35": "2.4"}
    page = _scores(scores, [(20, 310, "Mav-nm~1.xls"), (100, 310, "12/8/97")])
    found = pair_fields(load_schema(_schema("SCORE")).root, [page], set())
    assert found["/f0"].value == "1.0 2.0 0.0 2.4"


def test_a_row_blank_under_a_header_but_not_under_its_pair_is_no_whole_column() -> None:
    # OCR dropped Male's score: BASE beside it has a cell on that row. The scores read are
    # not the column's.
    page = _scores({"OVERALL:": "1.0", "Female": "0.0", "Under 35": "2.4"}, [])
    found = pair_fields(load_schema(_schema("SCORE")).root, [page], set())
    assert "/f0" not in found or found["/f0"].value != "1.0 0.0 2.4"


def test_a_note_running_across_a_row_headed_table_ends_its_rows() -> None:
    # A note under the table runs on across its columns: the lines after it are no rows.
    scores = {"OVERALL:": "1.0", "Male": "2.0", "Female": "0.0", "Under 35": "2.4"}
    note = (30, 310, "These scores are for a half sample of smokers only")
    page = _scores(scores, [note, (30, 330, "Extra"), (106, 330, "9.9")])
    found = pair_fields(load_schema(_schema("SCORE")).root, [page], set())
    assert found["/f0"].value == "1.0 2.0 0.0 2.4"


def test_a_label_over_a_column_of_doses_each_heading_a_row_of_figures_reads_it_surely() -> None:
    # The doses under a compound's name head the table's rows of results: its column is the
    # table's, read as surely as a column under a header row, up to the next compound.
    page = _table([(100, [(80, "2-AMINOANTHRACENE")]),
                   (120, [(80, "4.0"), (250, ".72"), (300, "3.07"), (380, ".98")]),
                   (140, [(80, "2.0"), (250, "1.24"), (300, "2.86"), (380, ".76")]),
                   (160, [(80, "Streptozotocin")]),
                   (180, [(80, "1.0"), (250, "6.41"), (300, "31.14"), (380, "1.60")])])  # fmt: skip
    schema = load_schema(_schema("2-AMINOANTHRACENE", "Streptozotocin"))
    found = pair_fields(schema.root, [page], set())
    assert found["/f0"].value == "4.0 2.0"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_column_of_names_on_labelled_rows_reads_to_the_next_tables_header_row() -> None:
    # Each name sits on a row its label heads; the header row printed again below starts
    # the next table, whose rows are not this column's.
    page = _table([(100, [(140, "NAME"), (240, "SIGNATURE"), (340, "DATE")]),
                   (120, [(30, "Originator"), (140, "Michael Wright")]),
                   (134, [(30, "Manager"), (140, "John Powell"), (340, "1-11-94")]),
                   (160, [(30, "REVIEW"), (240, "SIGNATURE"), (340, "DATE")]),
                   (180, [(30, "Insurance")]),
                   (200, [(30, "Return To:"), (140, "MARY SEAGRAVES")])])  # fmt: skip
    schema = load_schema(_schema("NAME", "Originator", "Manager", "Insurance", "Return To:"))
    found = pair_fields(schema.root, [page], set())
    assert found["/f0"].value == "Michael Wright John Powell"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_an_amount_across_a_gap_after_a_count_is_the_next_columns() -> None:
    # "Cases: 500 | $250": the count asked for, then its cost under another heading; a
    # row of plain figures still reads on ("2.0 (51) 31 (83)").
    page = _table([(100, [(72, "Cases:"), (160, "500"), (260, "$250")])])
    found = pair_fields(load_schema(_schema("Cases:")).root, [page], set())
    assert found["/f0"].value == "500"


def _assert_undoubted(title: str, words: list[Word], extra: list[Word], value: str) -> None:
    """`extra` printed near the answer changes neither the value read nor its confidence."""
    schema = load_schema(_schema(title)).root
    alone = pair_fields(schema, [_ocr_page(words)], set())["/f0"]
    found = pair_fields(schema, [_ocr_page([*words, *extra])], set())["/f0"]
    assert found.value == alone.value == value
    assert found.confidence == alone.confidence


def test_the_next_lines_text_reaching_into_a_values_band_does_not_doubt_its_end() -> None:
    # "40" starts the next line, a little lower, across a gap: the event's name is whole.
    words = [*_line(72, 100, "Event:"), *_line(150, 100, "Metro Golf Outing 1997")]
    lower = Word("40", (330, 108, 344, 119), 0.95)
    _assert_undoubted("Event:", words, [lower], "Metro Golf Outing 1997")


def test_a_dot_after_a_value_does_not_doubt_its_end() -> None:
    # A mark of no letter or figure ("·", a rule's end) is no text the value could go on in.
    words = [*_line(72, 100, "Unit sales:"), *_line(160, 100, "238,282")]
    dot = Word("·", (214, 104, 217, 107), 0.5)
    _assert_undoubted("Unit sales:", words, [dot], "238,282")


def test_the_next_rows_answer_under_a_value_does_not_doubt_it() -> None:
    # "Mr. Johnny Pedersen" starts left of the value, but beside its own label ("To:"): the
    # next row's answer, not the originator's name wrapped back.
    words = [*_line(72, 100, "Originator:"), *_line(170, 100, "Mary D. Davis")]
    next_row = [*_line(72, 115, "To:"), *_line(110, 115, "Mr. Johnny Pedersen")]
    _assert_undoubted("Originator:", words, next_row, "Mary D. Davis")


def test_a_gloss_in_brackets_under_a_value_does_not_doubt_it() -> None:
    # "(Product Test, AaU, etc.)" is the form's gloss of the label, printed under the answer.
    words = [*_line(72, 100, "Project Type"), *_line(170, 100, "Product Test")]
    gloss = _line(130, 114, "(Product Test, AaU, etc.)")
    _assert_undoubted("Project Type", words, gloss, "Product Test")


def test_a_line_starting_left_of_the_labels_row_under_a_value_does_not_doubt_it() -> None:
    # The line under starts well before the row does: printed on its own, not the answer
    # wrapped back under its label.
    words = [*_line(300, 100, "DIVISION"), *_line(360, 100, "Analytical Chemistry")]
    below = _line(100, 114, "Total aldehyde analysis in cigarette mainstream smoke")
    _assert_undoubted("DIVISION", words, below, "Analytical Chemistry")


def test_a_gloss_beside_its_label_reads_the_short_answer_under_it() -> None:
    # "(For the client)" asks for the name typed under the label; the next field's date,
    # typed low on the line above, reaches into the name's band but is not further along it.
    words = [*_line(72, 100, "PRESENT:"), *_line(125, 100, "(For the client)"),
             *_line(300, 100, "DATE OF REPORT:"), *_line(400, 105, "2/17/82"),
             *_line(72, 113, "T. Parrack")]  # fmt: skip
    schema = load_schema(_schema("PRESENT:", "DATE OF REPORT:")).root
    found = pair_fields(schema, [_ocr_page(words)], set())
    assert found["/f0"].value == "(For the client) T. Parrack"


def test_capitals_after_a_value_in_lower_case_beside_a_label_in_capitals_are_the_next_label() -> (
    None
):
    # "TOTAL BUDGET" is printed as "PROJECT LEADER" is, a label the schema does not ask for:
    # neither more of the name nor text the name may go on in.
    words = [*_line(72, 100, "PROJECT LEADER"), *_line(190, 100, "Williams/Giordano"),
             *_line(310, 100, "TOTAL BUDGET")]  # fmt: skip
    schema = load_schema(_schema("PROJECT LEADER")).root
    alone = pair_fields(schema, [_ocr_page(words[:3])], set())["/f0"]
    found = pair_fields(schema, [_ocr_page(words)], set())["/f0"]
    assert found.value == alone.value == "Williams/Giordano"
    assert found.confidence == alone.confidence


def test_a_label_printed_twice_sunk_by_its_rivals_doubt_leaves_no_rival_to_win() -> None:
    # Each "Brand" has a value under it, as unsure as the other: the surest, doubted for the
    # other, falls under the floor, and the other is no surer for that.
    pdf = _page([(72, 100, "Brand"), (72, 114, "PHOENIX"),
                 (72, 160, "Style"), (72, 174, "HLB"),
                 (320, 300, "Brand"), (320, 314, "CAMEL"),
                 (320, 360, "Style"), (320, 374, "KS")])  # fmt: skip
    result = docvlm.extract(pdf, _schema("Brand"), min_confidence=0.0)
    assert result.data == {"f0": None}


def test_only_a_second_colons_answer_beside_it_is_a_rival_of_the_answer_beside_a_colon() -> None:
    def read(*elsewhere: tuple[float, float, str]) -> docvlm.extraction.pairing.Found:
        pdf = _page([(72, 100, "Module:"), (200, 100, "412"),
                     (72, 130, "Region:"), (200, 130, "North"), *elsewhere])  # fmt: skip
        return docvlm.extract(pdf, _schema("Module:"), min_confidence=0.0).fields["/f0"]

    under = read((320, 300, "Module"), (320, 314, "Shift"), (320, 360, "Style"), (320, 374, "KS"))
    assert (under.value, under.confidence, under.warning) == ("412", read().confidence, None)
    unmarked = read((320, 300, "Module"), (420, 300, "Shift"))  # beside words, no colon
    assert (unmarked.confidence, unmarked.warning) == (read().confidence, None)
    beside = read((320, 300, "Module:"), (420, 300, "Shift"))  # a second answer asked for
    assert beside.confidence < read().confidence and "printed 2 times" in beside.warning


def test_of_a_labels_prints_the_one_asking_with_a_colon_is_read_before_a_surer_other() -> None:
    # "Chicago 3.3" reads surer than "Chicago: 8/8" (OCR unsure of "8/8"), but only the colon
    # asks for the answer beside it.
    words = [Word("Chicago:", (72, 100, 124, 111), 0.96), Word("8/8", (200, 100, 218, 111), 0.6),
             Word("Region:", (72, 130, 116, 141), 0.96), Word("North", (200, 130, 232, 141), 0.96),
             Word("Chicago", (72, 300, 120, 311), 0.96),
             Word("3.3", (200, 300, 216, 311), 0.99)]  # fmt: skip
    found = pair_fields(load_schema(_schema("Chicago:")).root, [_ocr_page(words)], set())
    assert found["/f0"].value == "8/8"


def test_of_readings_as_sure_the_one_beside_a_colon_is_chosen_first() -> None:
    # "Original -- Project File" read on down beside "cc:", as sure as cc's own answer there.
    fields = load_schema(_schema("Original", "cc:")).root.properties
    original = Segment(_line(72, 100, "Original --"), 1, 0)
    cc = Segment(_line(72, 114, "cc:"), 1, 1)
    block = Segment(_line(150, 114, "S. Willinger"), 1, 1)

    def reading(field: str, label: Segment) -> Candidate:
        found = Found(block.text, 1, block.bbox, 0.55, "ocr")
        return Candidate(fields[field], 100.0, [id(label), id(block)], found)

    labels = {id(s): s for s in (original, cc, block)}
    chosen = _surest_first([reading("f0", original), reading("f1", cc)], labels)
    assert [r.field.title for r in chosen] == ["cc:", "Original"]


def test_words_across_the_page_from_a_label_answered_under_it_are_another_columns() -> None:
    # "REMARKS:" has its remarks under it; "Product", half a page right, heads a list of its
    # own. Figures that far are still the label's answer, and so are words with nothing under.
    def read(beside: str, under: str = "For posting in Cincinnati only.") -> str:
        words = [*_line(72, 100, "REMARKS:"), *_line(400, 100, beside), *_line(90, 120, under)]
        found = pair_fields(load_schema(_schema("REMARKS:")).root, [_ocr_page(words)], set())
        return found["/f0"].value

    assert read("Product") == "For posting in Cincinnati only."
    assert read("1,250") == "1,250"
    assert read("Product", under="") == "Product"


def test_a_label_split_at_a_colon_ocr_read_goes_on_at_a_word_that_opens_no_label() -> None:
    # "NATURE: | OF WORK:": the colon after "NATURE" is a speck; "of" opens no label.
    def segments(second: str) -> list[str]:
        page = _table([(100, [(72, "NATURE:"), (130, second), (230, "Aldehyde analysis")])])
        names = [[f"Nature {second.rstrip(':')}"]]
        join_wrapped_labels([page], names, label_score, STRONG_LABEL_SCORE)
        return [segment.text for segment in page.lines[0]]

    assert segments("OF WORK:") == ["NATURE: OF WORK:", "Aldehyde analysis"]
    # A colon ends a label before words that may open the next one.
    assert segments("WORK DONE:") == ["NATURE:", "WORK DONE:", "Aldehyde analysis"]


def test_a_lone_date_on_a_row_of_a_table_of_names_is_its_columns_cell() -> None:
    # "DATE" has one cell, on the second of the rows its neighbour's names fill: a table's
    # cell, read as surely as the names. A lone cell of words (a signature) is not.
    rows = [(100, [(140, "NAME"), (240, "SIGNATURE"), (340, "DATE")]),
            (120, [(30, "Originator"), (140, "Michael Wright")]),
            (134, [(30, "Manager"), (140, "John Powell"), (240, "J. Powel"),
                   (340, "1-11-94")])]  # fmt: skip
    schema = load_schema(_schema("DATE", "SIGNATURE", "NAME", "Originator", "Manager"))
    found = pair_fields(schema.root, [_table(rows)], set())
    assert found["/f0"].value == "1-11-94"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR
    assert found["/f1"].value is None or found["/f1"].confidence < FREE_TEXT_FLOOR
    alone = pair_fields(schema.root, [_table([rows[0], rows[2]])], set())["/f0"]
    assert alone.value is None or alone.confidence < FREE_TEXT_FLOOR  # no table beside


def test_a_heading_over_a_tables_labelled_rows_heads_them_for_its_columns() -> None:
    # "INITIAL MATERIALS REQUIRED:" heads the rows' labels: the quantities (words and
    # figures, on labelled rows) are "Qty In Units"'s column, the lone cost "Dollar Cost"'s,
    # and the next section's heading in capitals ends the rows.
    heads = [(30, "MATERIALS REQUIRED:"), (200, "Qty In Units"), (300, "Dollar Cost")]
    page = _table([(100, heads),
                   (116, [(30, "Labels:"), (200, "On Hand")]),
                   (132, [(30, "Cartons:"), (200, "On Hand")]),
                   (148, [(30, "Cases:"), (200, "500"), (300, "$250")]),
                   (166, [(30, "TIMETABLE:")]),
                   (182, [(30, "Shipping:"), (300, "May")])])  # fmt: skip
    titles = ("Qty In Units", "Dollar Cost", "Labels:", "Cartons:", "Cases:", "Shipping:")
    found = pair_fields(load_schema(_schema(*titles)).root, [page], set())
    assert found["/f0"].value == "On Hand On Hand 500"
    assert found["/f1"].value == "$250"
    assert min(found["/f0"].confidence, found["/f1"].confidence) >= FREE_TEXT_FLOOR


def test_a_headers_column_of_amounts_starts_down_the_table_past_a_descriptions_lines() -> None:
    # The description's lines come first, one a row under "DESCRIPTION"; the prices start
    # on the first item's row. Sub-headings passed ("KL | Bright") say the rows began above.
    def read(*passed: tuple[float, str]) -> docvlm.extraction.pairing.Found | None:
        page = _table([(100, [(40, "QUANTITY"), (200, "DESCRIPTION"), (400, "PRICE")]),
                       *((y, [(x, text)]) for y, (x, text) in passed),
                       (170, [(200, "42,000 lbs. of paper roll"), (400, "$20,580.00")]),
                       (186, [(200, "Federal Express charges"), (400, "$48.75")])])  # fmt: skip
        titles = ("PRICE", "QUANTITY", "DESCRIPTION")
        return pair_fields(load_schema(_schema(*titles)).root, [page], set()).get("/f0")

    found = read((116, (200, "CARLTON Direct Mail Piece")), (132, (200, "This order covers")),
                 (148, (200, "all costs listed below:")))  # fmt: skip
    assert found is not None and found.value == "$20,580.00 $48.75"
    assert found.confidence >= FREE_TEXT_FLOOR
    priced = read((116, (200, "CARLTON Direct Mail Piece")), (132, (200, "2 pieces")),
                  (148, (200, "all costs listed below:")))  # fmt: skip
    assert priced is None or priced.value is None or priced.confidence < FREE_TEXT_FLOOR


def test_words_in_title_case_after_a_value_are_a_printed_label_not_more_answer() -> None:
    # "Rod Length" is printed as a form's labels are; capitals after the value may be more of
    # a typed answer ("PITTSBURGH | PRESS") and still doubt where it ends.
    words = [*_line(72, 100, "Weight"), *_line(140, 100, "96.0 g/100")]

    def read(after: str) -> docvlm.extraction.pairing.Found:
        page = _ocr_page([*words, *_line(230, 100, after)])
        return pair_fields(load_schema(_schema("Weight")).root, [page], set())["/f0"]

    alone = pair_fields(load_schema(_schema("Weight")).root, [_ocr_page(words)], set())["/f0"]
    assert (read("Rod Length").value, read("Rod Length").confidence) == (
        alone.value,
        alone.confidence,
    )
    assert read("ROD LENGTH").confidence < alone.confidence


def test_a_label_read_with_its_own_value_after_a_value_does_not_doubt_its_end() -> None:
    # "LOT NO A4" is the next label and its answer; "Decrease X $-58,500" opens with an option
    # and its tick, and may be more of the answer.
    words = [*_line(72, 100, "LORILLARD NO"), *_line(170, 100, "OR39-23")]

    def read(after: str) -> docvlm.extraction.pairing.Found:
        page = _ocr_page([*words, *_line(260, 100, after)])
        return pair_fields(load_schema(_schema("LORILLARD NO")).root, [page], set())["/f0"]

    alone = pair_fields(load_schema(_schema("LORILLARD NO")).root, [_ocr_page(words)], set())
    assert (read("LOT NO A4").value, read("LOT NO A4").confidence) == (
        alone["/f0"].value,
        alone["/f0"].confidence,
    )
    assert read("Decrease X $-58,500").confidence < alone["/f0"].confidence


def test_a_label_led_by_dashes_to_its_answer_is_told_from_words_with_a_hyphen() -> None:
    # A line under a value led by dashes to a capital is the next row's label and answer: no
    # sign that the value wrapped back under its label (`Reading._wraps_back`).
    led = ["Copies. to --- Dr. A. W. Spears", "Original - Project File", "closures--- Standard"]
    unled = ["This bill regulates smoking", "KS - white tip-", "1-26-95 - 9:00 AM", "X-ray film"]
    assert [bool(_DASH_LED.search(text)) for text in led + unled] == [True] * 3 + [False] * 4


def test_text_after_a_block_of_its_own_does_not_doubt_its_end() -> None:
    # "MARY SEAGRAVES | SME" over "Ext. 1485": the line read on ends before "SME" starts, so
    # "SME" is another column's; with text beside that line too ("Ext. 1485 | KOOL") the
    # lines are a table's rows, each with its own answer, and where the value ends is a guess.
    block = [*_line(72, 100, "Return To:"), *_line(150, 100, "MARY SEAGRAVES"),
             *_line(150, 114, "Ext. 1485")]  # fmt: skip

    def read(*after: Word) -> docvlm.extraction.pairing.Found:
        page = _ocr_page([*block, *after])
        return pair_fields(load_schema(_schema("Return To")).root, [page], set())["/f0"]

    alone = read()
    assert alone.value == "MARY SEAGRAVES Ext. 1485"
    apart = read(*_line(260, 100, "SME"))
    assert (apart.value, apart.confidence) == (alone.value, alone.confidence)
    assert read(*_line(260, 100, "SME"), *_line(260, 114, "KOOL")).confidence < alone.confidence


def test_figures_beside_a_label_in_a_rows_second_column_stop_at_the_next_row() -> None:
    # "Filter Length 21.0mm | Kind 3.3-35,000y" over "Circumference 24.8mm | RE-2218": the
    # line under the figures has the next row's cells left of it; alone, it goes on with them.
    value = [*_line(260, 100, "Kind"), *_line(320, 100, "3.3-35,000y"), *_line(320, 114, "RE-2218")]
    left = [*_line(55, 100, "Filter Length"), *_line(150, 100, "21.0mm"),
            *_line(55, 114, "Circumference"), *_line(150, 114, "24.8mm")]  # fmt: skip

    def read(words: list[Word]) -> str | None:
        page = _ocr_page(words)
        return pair_fields(load_schema(_schema("Kind")).root, [page], set())["/f0"].value

    assert read(value) == "3.3-35,000y RE-2218"
    assert read([*left, *value]) == "3.3-35,000y"


def test_a_tables_row_of_words_answers_its_row_header_surely_and_a_missing_cell_doubts_it() -> None:
    # Words under words in each column, the row headers down the table's side: a table's
    # row. Where the next row has a word cell under no cell of the row, a cell is missing.
    def read(below: list[tuple[float, str]]) -> docvlm.extraction.pairing.Found:
        page = _unsure_table([(100, [(30, "Perforation"), (150, "N/A"), (250, "N/A")]),
                              (120, [(30, "Porosity"), (150, "Non Porous"), (250, "Non Porous")]),
                              (140, [(30, "Print"), *below])])  # fmt: skip
        return pair_fields(load_schema(_schema("Porosity")).root, [page], set())["/f0"]

    whole = read([(150, "N/A"), (250, "N.A")])
    assert whole.value == "Non Porous Non Porous" and whole.confidence >= FREE_TEXT_FLOOR
    assert read([(150, "N/A"), (212, "Dry"), (250, "N.A")]).confidence < FREE_TEXT_FLOOR


def test_a_tables_row_of_figures_with_a_misread_unit_answers_its_row_header_surely() -> None:
    # "mm" read "mo": a word of two letters after a figure is its unit, no cell of the row.
    page = _unsure_table([(100, [(150, "Suggested"), (250, "Trial")]),
                          (120, [(30, "Cigarette Length"), (150, "99"), (184, "mo"), (250, "99"),
                                 (292, "mm")]),
                          (140, [(30, "Filter Length"), (150, "27"), (184, "mm"), (250, "27"),
                                 (292, "mm")])])  # fmt: skip
    found = pair_fields(load_schema(_schema("Cigarette Length")).root, [page], set())
    assert found["/f0"].value == "99 mo 99 mm"
    assert found["/f0"].confidence >= FREE_TEXT_FLOOR


def test_a_tables_row_read_short_at_a_misread_cell_is_read_whole_unless_a_cell_is_words() -> None:
    # "72 m" (for "72 mm") is unlike the next cell, so the reading stops there; the whole row
    # is a table's row, read whole. A cell opening with a letter is the next column's code.
    def read(*cells: tuple[float, str]) -> docvlm.extraction.pairing.Found:
        page = _unsure_table([(100, [(150, "Suggested"), (250, "Trial")]),
                              (120, [(30, "Cigarette Length"), (150, "99"), (184, "mm"),
                                     (250, "99"), (292, "mm")]),
                              (140, [(30, "Rod Length"), (150, "72 m"), *cells]),
                              (160, [(30, "Filter Length"), (150, "27"), (184, "mm"),
                                     (250, "27"), (292, "mm")])])  # fmt: skip
        return pair_fields(load_schema(_schema("Rod Length")).root, [page], set())["/f0"]

    whole = read((250, "72"), (292, "mm"))
    assert whole.value == "72 m 72 mm" and whole.confidence >= FREE_TEXT_FLOOR
    assert read((250, "RE-2218")).value == "72 m"


def test_words_beside_a_label_on_its_line_are_not_another_labels_answer_going_on_under_it() -> None:
    # "WAVE 2 (87-113)" goes on the description's line, under "No. C-51": it answers the
    # label printed on its line, not the one above it.
    words = [*_line(60, 100, "Date:"), *_line(110, 100, "12-4-87"), *_line(330, 100, "No."),
             *_line(370, 100, "C-51"), *_line(60, 120, "Description:"),
             *_line(150, 120, "CAPRI EXPANSION - CALIFORNIA:"),
             *_line(340, 120, "WAVE 2 (87-113)")]  # fmt: skip
    found = pair_fields(load_schema(_schema("No.", "Description")).root, [_ocr_page(words)], set())
    assert "WAVE" not in str(found.get("/f0") and found["/f0"].value)
    assert found["/f1"].value.endswith("WAVE 2 (87-113)")


def test_a_value_beside_its_label_does_not_run_on_past_another_fields_label() -> None:
    # The KOOL label wraps onto a second line; the figures after its first line are its.
    words = [*_line(60, 100, "CIGARETTES:"), *_line(140, 100, "#839/869"),
             *_line(230, 100, "KOOL Lights KS - white tip-"), *_line(232, 112, "ping masked"),
             *_line(420, 100, "9.1"), *_line(450, 100, "14.0"),
             *_line(490, 100, ".474")]  # fmt: skip
    schema = load_schema(_schema("CIGARETTES:", "KOOL Lights KS- white tip- ping masked"))
    found = pair_fields(schema.root, [_ocr_page(words)], set()).get("/f0")
    assert found is None or "9.1" not in str(found.value)
