"""docvlm/extraction/letterhead.py: which letterhead lines read as an address (the receipts
and letters that use it end to end are in test_extract_receipts.py)."""

from __future__ import annotations

import pytest

from docvlm.extraction import letterhead
from docvlm.extraction.words import Segment, Word


def line(text: str) -> list[Segment]:
    words = [Word(word, (10.0 * i, 0.0, 10.0 * i + 8, 10.0)) for i, word in enumerate(text.split())]
    return [Segment(words, page=1, line=0)]


@pytest.mark.parametrize(
    "text, address, street",
    [
        ("Husener Str. 121", True, True),
        ("31G JALAN MAWAR", True, True),
        ("Pohlweg110", True, True),
        ("33100 Paderborn", True, True),
        ("CAMBRIDGE CB2 1TN", True, True),
        ("560001 Bangalore", True, False),  # a six-figure postcode is no house number
        ("AU1O MARKT", True, False),  # a digit OCR read inside a name
        ("TAMAN MELAWATI,", False, False),
        ("No. 12", False, False),  # too few letters
    ],
)
def test_a_street_is_an_address_line_whose_figure_is_a_house_number(
    text: str, address: bool, street: bool
) -> None:
    assert letterhead._reads_as_address(line(text)) is address
    assert letterhead._reads_as_street(line(text)) is street


def test_an_address_block_opens_or_closes_with_an_address_line() -> None:
    block = [line("12 JALAN MAWAR"), line("TAMAN MELAWATI,"), line("53100 KUALA LUMPUR")]
    assert letterhead._reads_as_address_block(block)
    assert letterhead._reads_as_address_block(block[1:])
    assert not letterhead._reads_as_address_block([line("TAMAN MELAWATI,"), line("SELANGOR")])
    assert not letterhead._reads_as_address_block([*block, *block])  # longer than an address


@pytest.mark.parametrize(
    "read, mended",
    [
        ("JALAN SER0JA 5/1", "JALAN SEROJA 5/1"),  # a zero among capitals
        ("812OO J0HOR BAHRU", "81200 JOHOR BAHRU"),  # letters O among figures
        ("ROOM 10O1", "ROOM 1001"),
        ("YORK YO1 7HH, BS1 4DJ", "YORK YO1 7HH, BS1 4DJ"),  # postcodes mix both
        ("Y01 7HH", "Y01 7HH"),  # a mixed word may be either: left as read
        ("A0 PAPER, 1O", "A0 PAPER, 1O"),  # too short to tell
        ("Müller 0815", "Müller 0815"),
    ],
)
def test_a_letterhead_word_of_one_kind_with_the_others_look_alike_is_mended(
    read: str, mended: str
) -> None:
    assert letterhead.unconfused(read) == mended


@pytest.mark.parametrize(
    ("read", "mended"),
    [
        ("ROTI EMAS BAKERIES (KL) SON BHD", "ROTI EMAS BAKERIES (KL) SDN BHD"),
        ("MR. K.T.H. (M) S0N. 8HD", "MR. K.T.H. (M) SDN. BHD"),
        ("Kedai Maju Son Bhd", "Kedai Maju Sdn Bhd"),
        ("JONES & SON LTD", "JONES & SON LTD"),  # a son, not a misread legal form
    ],
)
def test_the_legal_form_sdn_bhd_misread_in_an_issuers_name_is_mended(
    read: str, mended: str
) -> None:
    assert letterhead.issuer_name(read) == mended
