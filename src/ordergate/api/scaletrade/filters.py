"""The filters of ``GET /trades`` in ScaleTrade's syntax, and their OpenAPI schema.

Each filter is an array of rules on the columns of ``structure``; every rule must hold:

- ``where``: ``[column, value]`` (equality) or ``[column, op, value]``, op ``=``, ``!=``
  (``<>``), ``<``, ``<=``, ``>``, ``>=`` on a number column, ``=``, ``!=`` (``<>``) or ``like``
  on a text column; ``whereNot``: the same rules, each excluding what it matches;
- ``whereIn`` / ``whereNotIn``: ``[column, [value, ...]]``;
- ``whereBetween`` / ``whereNotBetween``: ``[column, [low, high]]``, bounds inclusive, on a
  number column;
- ``orderBy``: ``[column, "asc" | "desc"]``, applied in turn, then by ticket.

An object ``{column: value}`` stands for the array ``[[column, value], ...]``. Text compares
ignoring letter case; ``like`` takes ``%`` (any run) and ``_`` (one character), ``\\``
escaping either. A value of the wrong type for its column, an unknown column or operator is
``InvalidInput``; nothing is read before the filters are checked.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ordergate.api.openapi import any_case
from ordergate.api.scaletrade.records import COLUMNS, INDEX, TEXT, Record
from ordergate.domain.errors import InvalidInput

__all__ = ["FILTERS", "SORT", "Selection", "parameters", "selection"]

FILTERS: Final = ("where", "whereNot", "whereIn", "whereNotIn", "whereBetween", "whereNotBetween")
SORT: Final = "orderBy"
#: Bounds that keep one query's work small; the schema states each.
MAX_RULES: Final = 50
MAX_VALUES: Final = 1000
MAX_TEXT: Final = 255

_NUMERIC = [c for c in COLUMNS if c not in TEXT]
_TEXTUAL = [c for c in COLUMNS if c in TEXT]
_ORDERING: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_EQUALITY = ("=", "!=", "<>")
_LIKE = "like"

Test = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class _Rule:
    column: int
    test: Test
    exclude: bool

    def __call__(self, record: Record) -> bool:
        return self.test(record[self.column]) is not self.exclude


@dataclass(frozen=True, slots=True)
class Selection:
    """A query's rules and its order: which records it takes, in which order."""

    rules: tuple[_Rule, ...]
    order: tuple[tuple[int, bool], ...]  # (column, descending)

    def apply(self, records: list[Record]) -> list[Record]:
        """The records every rule takes, in the asked order (``records`` is by ticket)."""
        found = [r for r in records if all(rule(r) for rule in self.rules)]
        for column, descending in reversed(self.order):  # stable: the first key sorts last
            if COLUMNS[column] in TEXT:
                found.sort(key=lambda r: r[column].casefold(), reverse=descending)
            else:
                found.sort(key=lambda r: r[column], reverse=descending)
        return found


def _column(name: Any, where: str) -> str:
    if not isinstance(name, str) or name not in INDEX:
        raise InvalidInput(f"{where}: unknown column {name!r}; one of {', '.join(COLUMNS)}")
    return name


def _value(column: str, value: Any, where: str) -> Any:
    """``value`` if it suits ``column``: text for a text column, a number for the others;
    text as it compares (folded)."""
    if column in TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise InvalidInput(f"{where}: {column} takes text of at most {MAX_TEXT} characters")
        return value.casefold()
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidInput(f"{where}: {column} takes a number")
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidInput(f"{where}: {column} takes a finite number")
    return value


def _like(pattern: str) -> Test:
    """SQL ``like`` over folded text, without backtracking: the pattern's pieces between
    ``%`` (each of fixed length) are found in turn, the first at the start and the last at
    the end, each as early as it can be."""
    pieces: list[list[str]] = [[]]
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            pieces[-1].append(re.escape(next(chars, "\\")))
        elif c == "%":
            pieces.append([])
        else:
            pieces[-1].append("." if c == "_" else re.escape(c))
    texts = ["".join(p) for p in pieces]
    if len(texts) == 1:
        whole = re.compile(texts[0], re.DOTALL)
        return lambda text: whole.fullmatch(text) is not None
    first = re.compile(texts[0], re.DOTALL)
    middle = [re.compile(t, re.DOTALL) for t in texts[1:-1]]
    last = re.compile(texts[-1] + r"\Z", re.DOTALL)

    def test(text: str) -> bool:
        head = first.match(text)
        if head is None:
            return False
        at = head.end()
        for piece in middle:
            found = piece.search(text, at)
            if found is None:
                return False
            at = found.end()
        return last.search(text, at) is not None

    return test


def _compare(column: str, op: Any, value: Any, where: str) -> Test:
    text = column in TEXT
    if not isinstance(op, str):
        raise InvalidInput(f"{where}: the operator must be text")
    if text and op.lower() == _LIKE:
        match = _like(value)
        return lambda cell: match(cell.casefold())
    if op in _EQUALITY:
        equal = op == "="
        if text:
            return lambda cell: (cell.casefold() == value) is equal
        return lambda cell: (cell == value) is equal
    if not text and op in _ORDERING:
        compare = _ORDERING[op]
        return lambda cell: compare(cell, value)
    ops = ", ".join([*_EQUALITY, _LIKE] if text else [*_EQUALITY, *_ORDERING])
    raise InvalidInput(f"{where}: operator {op!r} does not apply to {column}; one of {ops}")


def _entries(name: str, given: Any) -> list[tuple[str, list[Any]]]:
    """The rules of one filter, each with where it is: an array of arrays, or an object."""
    if isinstance(given, Mapping):
        entries = [(f"{name}.{k}", [k, v]) for k, v in given.items()]
    elif isinstance(given, list):
        entries = [(f"{name}[{i}]", rule) for i, rule in enumerate(given)]
    else:
        raise InvalidInput(f"{name} must be an array of rules [[column, ...], ...] or an object")
    if len(entries) > MAX_RULES:
        raise InvalidInput(f"{name} takes at most {MAX_RULES} rules")
    for where, rule in entries:
        if not isinstance(rule, list):
            raise InvalidInput(f"{where} must be an array [column, ...]")
    return entries


def _where(rule: list[Any], where: str, exclude: bool) -> _Rule:
    if len(rule) not in (2, 3):
        raise InvalidInput(f"{where} must be [column, value] or [column, operator, value]")
    column = _column(rule[0], where)
    op = "=" if len(rule) == 2 else rule[1]
    test = _compare(column, op, _value(column, rule[-1], where), where)
    return _Rule(INDEX[column], test, exclude)


def _in(rule: list[Any], where: str, exclude: bool) -> _Rule:
    if len(rule) != 2 or not isinstance(rule[1], list) or len(rule[1]) > MAX_VALUES:
        raise InvalidInput(f"{where} must be [column, [value, ...]] (at most {MAX_VALUES})")
    column = _column(rule[0], where)
    values = {_value(column, v, f"{where}[1]") for v in rule[1]}
    if column in TEXT:
        return _Rule(INDEX[column], lambda cell: cell.casefold() in values, exclude)
    return _Rule(INDEX[column], lambda cell: cell in values, exclude)


def _between(rule: list[Any], where: str, exclude: bool) -> _Rule:
    if len(rule) != 2 or not isinstance(rule[1], list) or len(rule[1]) != 2:
        raise InvalidInput(f"{where} must be [column, [low, high]]")
    column = _column(rule[0], where)
    if column in TEXT:
        raise InvalidInput(f"{where}: a range takes a number column; {column} is text")
    low, high = (_value(column, v, where) for v in rule[1])
    return _Rule(INDEX[column], lambda cell: bool(low <= cell <= high), exclude)


_KINDS: Final[dict[str, tuple[Callable[[list[Any], str, bool], _Rule], bool]]] = {
    "where": (_where, False),
    "whereNot": (_where, True),
    "whereIn": (_in, False),
    "whereNotIn": (_in, True),
    "whereBetween": (_between, False),
    "whereNotBetween": (_between, True),
}


def _order(given: Any) -> list[tuple[int, bool]]:
    order = []
    for where, rule in _entries(SORT, given):
        direction = rule[1] if len(rule) == 2 else None
        if not isinstance(direction, str) or direction.lower() not in ("asc", "desc"):
            raise InvalidInput(f'{where} must be [column, "asc" or "desc"]')
        order.append((INDEX[_column(rule[0], where)], direction.lower() == "desc"))
    return order


def selection(query: Mapping[str, Any]) -> Selection:
    """The rules and order of a query's ``FILTERS`` and ``SORT`` fields (None: not given)."""
    rules = []
    for name, (make, exclude) in _KINDS.items():
        if query.get(name) is not None:
            rules += [make(rule, where, exclude) for where, rule in _entries(name, query[name])]
    order = _order(query[SORT]) if query.get(SORT) is not None else []
    return Selection(tuple(rules), tuple(order))


def _tuple(*items: dict[str, Any]) -> dict[str, Any]:
    """A JSON array of exactly these items. The length bounds say "no more items" rather
    than ``items: false``: some client generators refuse a boolean schema."""
    size = len(items)
    return {"type": "array", "prefixItems": list(items), "minItems": size, "maxItems": size}


def _schemas() -> dict[str, tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]]:
    """Each filter's rule schemas (an element of its array) and its object form's
    properties, as ``selection`` takes them."""
    number: dict[str, Any] = {"type": "number"}
    text: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT}
    numeric, textual = {"enum": _NUMERIC}, {"enum": _TEXTUAL}
    on_text = {"anyOf": [{"enum": list(_EQUALITY)}, {"type": "string", "pattern": any_case(_LIKE)}]}
    where = [
        _tuple(numeric, number),
        _tuple(numeric, {"enum": [*_EQUALITY, *_ORDERING]}, number),
        _tuple(textual, text),
        _tuple(textual, on_text, text),
    ]
    numbers = {"type": "array", "items": number, "maxItems": MAX_VALUES}
    texts = {"type": "array", "items": text, "maxItems": MAX_VALUES}
    pair = {"type": "array", "items": number, "minItems": 2, "maxItems": 2}
    direction = {"type": "string", "pattern": any_case("asc", "desc")}
    by_type = dict.fromkeys(_NUMERIC, number) | dict.fromkeys(_TEXTUAL, text)
    lists = dict.fromkeys(_NUMERIC, numbers) | dict.fromkeys(_TEXTUAL, texts)
    return {
        "where": (where, by_type),
        "whereIn": ([_tuple(numeric, numbers), _tuple(textual, texts)], lists),
        "whereBetween": ([_tuple(numeric, pair)], dict.fromkeys(_NUMERIC, pair)),
        SORT: ([_tuple({"enum": list(COLUMNS)}, direction)], dict.fromkeys(COLUMNS, direction)),
    }


_TEXTS = {
    "where": 'Rules that must hold: [["symbol", "EURUSD"], ["net_profit", "<", 0]]',
    "whereNot": 'Rules that must not hold: [["state", 6]]',
    "whereIn": 'Values a column must be among: [["cmd", [2, 3]]]',
    "whereNotIn": 'Values a column must not be among: [["symbol", ["ES 12-26"]]]',
    "whereBetween": 'Inclusive ranges: [["open_time", [1767600000, 1767699999]]]',
    "whereNotBetween": 'Inclusive ranges a column must be outside: [["volume", [1, 10]]]',
    SORT: 'The order of the rows: [["open_time", "desc"]] (then by ticket)',
}


def parameters() -> list[dict[str, Any]]:
    """The query parameters of the filters and ``orderBy``: JSON, an array of rules or an
    object {column: value} (the same names are taken in a JSON body)."""
    schemas = _schemas()
    out = []
    for name in (*FILTERS, SORT):
        rules, properties = schemas[name.replace("Not", "")]
        schema = {
            "anyOf": [
                {"type": "array", "items": {"anyOf": rules}, "maxItems": MAX_RULES},
                {
                    "type": "object",
                    "properties": properties,
                    "additionalProperties": False,
                },
            ]
        }
        out.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"JSON. {_TEXTS[name]}",
                "content": {"application/json": {"schema": schema}},
            }
        )
    return out
