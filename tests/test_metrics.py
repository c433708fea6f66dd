"""Text, table (TEDS) and field metrics on hand-made cases with known answers."""

from __future__ import annotations

import pytest

from docvlm.document import Table, TableCell
from docvlm.metrics import (
    character_error_rate,
    field_scores,
    normalize_field_value,
    normalized_edit_distance,
    teds,
    word_error_rate,
)


def test_text_metrics() -> None:
    assert normalized_edit_distance("abcd", "abcf") == 0.25
    assert character_error_rate("hello  world", "hello world") == 0.0
    assert word_error_rate("the cat sat", "the cat sat down") == 0.25


GRID = Table.from_rows([["Item", "Qty"], ["Paper", "2"], ["Toner", "1"]])


def test_teds_identical_tables_score_one() -> None:
    assert teds(GRID, GRID) == 1.0


def test_teds_one_cell_text_edit() -> None:
    changed = Table.from_rows([["Item", "Qty"], ["Paper", "2"], ["Tuner", "1"]])
    # 1 table + 3 rows + 6 cells = 10 nodes; renaming "Toner"→"Tuner" costs 1/5.
    assert teds(changed, GRID) == pytest.approx(1 - 0.2 / 10)
    assert teds(changed, GRID, structure_only=True) == 1.0


def test_teds_missing_row_costs_its_nodes() -> None:
    shorter = Table.from_rows([["Item", "Qty"], ["Paper", "2"]])
    # Deleting a row deletes the tr and its 2 cells: 3 edits over the larger tree (10 nodes).
    assert teds(shorter, GRID) == pytest.approx(1 - 3 / 10)


def test_teds_span_mismatch_is_a_structural_error() -> None:
    merged = Table(
        num_rows=2,
        num_cols=2,
        cells=[
            TableCell(row=0, col=0, text="Total", col_span=2),
            TableCell(row=1, col=0, text="a"),
            TableCell(row=1, col=1, text="b"),
        ],
    )
    split = Table.from_rows([["Total", ""], ["a", "b"]])
    # Rename the spanning cell (cost 1) and delete the extra empty cell (cost 1); 7 nodes.
    assert teds(merged, split) == pytest.approx(1 - 2 / 7)
    assert teds(merged, split, structure_only=True) == pytest.approx(1 - 2 / 7)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("$1,234.50", "1234.5"),
        ("March 4, 2024", "2024-03-04"),
        ("03/04/2024", "2024/03/04"),
        ("  Maria   GARCIA ", "maria garcia"),
        (True, "true"),
        (26195.44, "26,195.44"),
    ],
)
def test_field_values_that_mean_the_same_normalize_equal(a: object, b: object) -> None:
    assert normalize_field_value(a) == normalize_field_value(b)


def test_field_values_that_differ_stay_different() -> None:
    assert normalize_field_value("INV-0012") != normalize_field_value("INV-0021")
    assert normalize_field_value("12.5") != normalize_field_value("125")


def test_field_scores_precision_recall_f1_and_exact_match() -> None:
    reference = {
        "name": "Aiko Patel",
        "total": "1,200.00",
        "items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}],
    }
    prediction = {
        "name": "aiko patel",
        "total": 1200,
        "items": [{"sku": "A1", "qty": 3}],
        "extra": "x",
    }
    scores = field_scores(prediction, reference)
    # Expected leaves: name, total, 2×(sku, qty) = 6; predicted 5; right: name, total, sku A1.
    assert (scores.correct, scores.predicted, scores.expected) == (3, 5, 6)
    assert scores.precision == pytest.approx(3 / 5)
    assert scores.recall == pytest.approx(3 / 6)
    assert scores.f1 == pytest.approx(2 * 0.6 * 0.5 / 1.1)
    assert not scores.exact_match
    assert field_scores(reference, reference).exact_match
    assert field_scores({}, reference).f1 == 0.0
