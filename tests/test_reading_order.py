"""Column-aware reading order on synthetic line boxes."""

from __future__ import annotations

from docvlm.reading_order import reading_order

LEFT, RIGHT = (54.0, 290.0), (318.0, 558.0)


def _column(x: tuple[float, float], top: float, count: int, pitch: float = 13.0) -> list:
    return [(x[0], top + k * pitch, x[1], top + k * pitch + 12) for k in range(count)]


def test_two_columns_read_left_column_first():
    left, right = _column(LEFT, 100, 5), _column(RIGHT, 100, 5)
    boxes = [box for pair in zip(left, right, strict=True) for box in pair]  # interleaved input
    order = reading_order(boxes)
    assert [boxes[i] for i in order] == left + right


def test_header_and_title_above_columns_come_first():
    header = (54.0, 25.0, 184.0, 36.0)  # short: the margin beside it is no gutter
    title = (54.0, 60.0, 412.0, 90.0)
    headings = [(54.0, 100.0, 141.0, 120.0), (318.0, 100.0, 371.0, 120.0)]
    left, right = _column(LEFT, 125, 4), _column(RIGHT, 125, 3)
    boxes = [*right, headings[1], *left, headings[0], title, header]
    order = [boxes[i] for i in reading_order(boxes)]
    assert order == [header, title, headings[0], *left, headings[1], *right]


def test_full_width_line_separates_column_sections():
    top_left, top_right = _column(LEFT, 100, 3), _column(RIGHT, 100, 3)
    full_width = (54.0, 150.0, 558.0, 162.0)
    low_left, low_right = _column(LEFT, 170, 2), _column(RIGHT, 170, 2)
    boxes = [*low_right, *top_right, full_width, *low_left, *top_left]
    order = [boxes[i] for i in reading_order(boxes)]
    assert order == [*top_left, *top_right, full_width, *low_left, *low_right]


def test_longer_left_column_stays_in_its_column():
    left, right = _column(LEFT, 100, 8), _column(RIGHT, 100, 3)
    boxes = [*right, *left]
    order = [boxes[i] for i in reading_order(boxes)]
    assert order == left + right


def test_single_column_reads_top_to_bottom_with_ragged_lines():
    lines = [(54.0, 100 + 13 * k, 558.0 - (k % 3) * 80, 112 + 13 * k) for k in range(8)]
    order = reading_order(list(reversed(lines)))
    assert [list(reversed(lines))[i] for i in order] == lines


def test_words_on_one_line_read_left_to_right():
    words = [(10.0 + 40 * k, 50.0, 40.0 + 40 * k, 60.0) for k in range(5)]
    shuffled = [words[k] for k in (3, 0, 4, 1, 2)]
    assert [shuffled[i] for i in reading_order(shuffled)] == words


def test_empty_input():
    assert reading_order([]) == []


def test_three_columns_with_a_gutter_narrower_than_a_line_are_not_interleaved():
    # The Federal Register's 9 pt columns are 7 pt apart: less than 1.5 % of the page width.
    columns = [(45.0, 215.0), (222.0, 392.0), (399.0, 569.0)]
    lines = [_column(x, 100, 6, pitch=10.0) for x in columns]
    boxes = [box for row in zip(*lines, strict=True) for box in row]
    order = [boxes[i] for i in reading_order(boxes)]
    assert order == lines[0] + lines[1] + lines[2]
