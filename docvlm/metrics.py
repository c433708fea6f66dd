"""Text, table and field metrics used by tests, benchmarks and `docvlm eval`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import Levenshtein

from docvlm.document import Table
from docvlm.extraction.values import parse_date

_WHITESPACE = re.compile(r"\s+")


def normalize_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def normalized_edit_distance(prediction: str, reference: str) -> float:
    """Levenshtein distance divided by the longer string's length (0 = equal, 1 = disjoint)."""
    longer = max(len(prediction), len(reference))
    if longer == 0:
        return 0.0
    return Levenshtein.distance(prediction, reference) / longer


def character_error_rate(prediction: str, reference: str) -> float:
    """Character edits per reference character, on whitespace-normalized text."""
    prediction, reference = normalize_whitespace(prediction), normalize_whitespace(reference)
    if not reference:
        return float(bool(prediction))
    return Levenshtein.distance(prediction, reference) / len(reference)


def word_error_rate(prediction: str, reference: str) -> float:
    """Word edits per reference word."""
    reference_words = reference.split()
    if not reference_words:
        return float(bool(prediction.split()))
    return Levenshtein.distance(prediction.split(), reference_words) / len(reference_words)


# --- tables: TEDS ---------------------------------------------------------------------------


@dataclass
class _TreeNode:
    label: str
    text: str = ""
    children: list[_TreeNode] = field(default_factory=list)


def _table_tree(table: Table) -> _TreeNode:
    """table → tr → td tree; a cell's label carries its spans, its text is compared on rename."""
    rows = []
    for grid_row in table.grid():
        cells = [
            _TreeNode(f"td/{cell.row_span}/{cell.col_span}", normalize_whitespace(cell.text))
            for cell in grid_row
            if cell is not None
        ]
        rows.append(_TreeNode("tr", children=cells))
    return _TreeNode("table", children=rows)


def _postorder(root: _TreeNode) -> tuple[list[_TreeNode], list[int]]:
    """Nodes in post-order and, for each, the index of its leftmost leaf descendant."""
    nodes: list[_TreeNode] = []
    leftmost: list[int] = []

    def visit(node: _TreeNode) -> int:
        first_leaf = None
        for child in node.children:
            child_leaf = visit(child)
            first_leaf = child_leaf if first_leaf is None else first_leaf
        nodes.append(node)
        leftmost.append(len(nodes) - 1 if first_leaf is None else first_leaf)
        return leftmost[-1]

    visit(root)
    return nodes, leftmost


def _keyroots(leftmost: list[int]) -> list[int]:
    last_with_leaf = {leaf: index for index, leaf in enumerate(leftmost)}
    return sorted(last_with_leaf.values())


def _tree_edit_distance(
    a: _TreeNode, b: _TreeNode, rename_cost: Callable[[_TreeNode, _TreeNode], float]
) -> float:
    """Zhang–Shasha ordered tree edit distance; insert and delete cost 1."""
    nodes_a, left_a = _postorder(a)
    nodes_b, left_b = _postorder(b)
    tree_dist = [[0.0] * len(nodes_b) for _ in nodes_a]
    for i in _keyroots(left_a):
        for j in _keyroots(left_b):
            li, lj = left_a[i], left_b[j]
            rows, cols = i - li + 2, j - lj + 2
            forest = [[0.0] * cols for _ in range(rows)]
            for x in range(1, rows):
                forest[x][0] = forest[x - 1][0] + 1
            for y in range(1, cols):
                forest[0][y] = forest[0][y - 1] + 1
            for x in range(1, rows):
                for y in range(1, cols):
                    node_a, node_b = li + x - 1, lj + y - 1
                    edit = min(forest[x - 1][y] + 1, forest[x][y - 1] + 1)
                    if left_a[node_a] == li and left_b[node_b] == lj:
                        rename = rename_cost(nodes_a[node_a], nodes_b[node_b])
                        forest[x][y] = min(edit, forest[x - 1][y - 1] + rename)
                        tree_dist[node_a][node_b] = forest[x][y]
                    else:
                        p, q = left_a[node_a] - li, left_b[node_b] - lj
                        forest[x][y] = min(edit, forest[p][q] + tree_dist[node_a][node_b])
    return tree_dist[-1][-1]


def teds(prediction: Table, reference: Table, structure_only: bool = False) -> float:
    """Tree-edit-distance similarity of two tables (1 = identical), as in PubTabNet's TEDS.

    Cells with different spans cost 1 to rename; equal-span cells cost the normalized edit
    distance of their text (0 with `structure_only`, which gives TEDS-S).
    """

    def rename_cost(node_a: _TreeNode, node_b: _TreeNode) -> float:
        if node_a.label != node_b.label:
            return 1.0
        if structure_only or not node_a.label.startswith("td"):
            return 0.0
        return normalized_edit_distance(node_a.text, node_b.text)

    tree_a, tree_b = _table_tree(prediction), _table_tree(reference)
    size = max(len(_postorder(tree_a)[0]), len(_postorder(tree_b)[0]))
    return 1.0 - _tree_edit_distance(tree_a, tree_b, rename_cost) / size


# --- key-value fields: exact match, precision, recall, F1 -----------------------------------

_NUMBER = re.compile(r"^[-+]?[$€£¥]?\s*[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")


def normalize_field_value(value: Any) -> str:
    """Comparable form of a field: case and whitespace folded, numbers and dates canonical.

    "$1,234.50" and "1234.5" agree; "March 4, 2024", "2024/03/04" and "03/04/2024" become
    "2024-03-04" (slashed dates are read month-first, the same way on both sides).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = normalize_whitespace(str(value)).casefold()
    if any(ch.isdigit() for ch in text) and _NUMBER.match(text):
        number = float(re.sub(r"[^\d.+-]", "", text) or "nan")
        return format(number, ".12g")
    printed_date = parse_date(text, "mdy")
    return text if printed_date is None else printed_date.isoformat()


def flatten_fields(value: Any, prefix: str = "") -> dict[str, str]:
    """Leaf fields of a JSON value by path (`buyer.name`, `items[0].amount`), normalized."""
    if isinstance(value, dict):
        fields: dict[str, str] = {}
        for key, child in value.items():
            fields.update(flatten_fields(child, f"{prefix}.{key}" if prefix else str(key)))
        return fields
    if isinstance(value, list):
        fields = {}
        for index, child in enumerate(value):
            fields.update(flatten_fields(child, f"{prefix}[{index}]"))
        return fields
    return {prefix: normalize_field_value(value)}


@dataclass
class FieldScores:
    """Counts of correct, predicted and expected leaf fields, and the rates they give."""

    correct: int
    predicted: int
    expected: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else float(not self.expected)

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def exact_match(self) -> bool:
        """Every expected field right and nothing extra predicted."""
        return self.correct == self.expected == self.predicted

    def __add__(self, other: FieldScores) -> FieldScores:
        return FieldScores(
            self.correct + other.correct,
            self.predicted + other.predicted,
            self.expected + other.expected,
        )


def field_scores(prediction: Any, reference: Any) -> FieldScores:
    """Field-level match of a predicted JSON value against the reference (normalized values)."""
    predicted, expected = flatten_fields(prediction), flatten_fields(reference)
    correct = sum(1 for path, value in expected.items() if predicted.get(path) == value)
    return FieldScores(correct, len(predicted), len(expected))
