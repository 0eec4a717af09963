"""Evaluate a parsed filter (tailor.filters.expression) into a boolean mask over the catalog or over the users.

Pure numpy: no I/O, nothing cached between calls. `item_mask` answers ItemID filters (which catalog items a request
may return), `user_mask` answers UserID filters (which users a batch segment job may return).

Semantics (reference §4.4 and §4.5; the points the docs leave open are decided here):

* `|` parts combine as (union of INCLUDE parts) minus (union of EXCLUDE parts), in any order. A part that is
  skipped (its IF clause is false, or it is an EXCLUDE part missing a parameter) counts as absent; when no INCLUDE
  part is left, everything starts allowed.
* Within one part AND binds tighter than OR: `A OR B AND C` is `A OR (B AND C)`. There is no grouping syntax.
* IN is an exact, case-sensitive string match. A categorical multi-value ('a|b') matches IN when ANY of its values is
  in the list; NOT IN is the exact complement of IN (so NONE of its values is in the list, and an item with no value
  matches NOT IN). List values that are empty or contain '|' never match a single value. On a numeric column the
  list values are read as numbers (`IN ("3")` matches 3.0); values that are not numbers match nothing.
* `=`, `<`, `<=`, `>`, `>=` compare numbers. A missing value (NaN or '') or a value that is not a number never
  matches. On a categorical column each of the item's values is read as a number, and `=` also matches a value that
  is the same string as the operand (so `Items.COLOR = $COLOR` with `"red"` works); ordered comparisons need a
  numeric operand. (Comparisons on categorical columns take a slower path over the column's distinct values.)
* Field names are matched exactly against the column keys (CreateFilter checks them against the schema with the
  same case), falling back to a case-insensitive match when exactly one key fits. A field with no column is an
  InvalidInputException.
* Interactions.EVENT_TYPE matching is case-insensitive, and "*" (written in the expression, or as a parameter value
  for EVENT_TYPE IN) matches every event type. Only each user's MAX_INTERACTIONS_PER_EVENT_TYPE most recent events
  per event type (event types compared case-insensitively) are considered. For ItemID filters a condition selects
  the items the user has at least one considered event on whose type matches (NOT IN: whose type is not in the
  list); conditions joined with AND/OR combine these per-item sets, so `IN ("click") AND IN ("buy")` is the items
  both clicked and bought. No history (None) is a cold user with no events. Events on indices outside the catalog
  are ignored (after the recency cut). For UserID filters a condition selects the users with at least one event of
  a matching type (NOT IN: of a type not in the list).
* `CurrentItem.FIELD` is the current item's value of FIELD: for IN/NOT IN its values are the list, for a comparison
  its number; a missing value makes IN and comparisons match nothing. Without a current item it is an error.
* IF CurrentUser conditions are ANDed and evaluated like Users conditions on the requesting user's metadata. A
  field absent from `user` (or user=None) is a missing value. When they are not all true the part is skipped.
* Parameters: every parameter an INCLUDE part uses (WHERE or IF) must have a value, else InvalidInputException
  naming it. An EXCLUDE part with any missing parameter is skipped as a whole (the `|` part, not just the clause: we
  read "that portion of the expression" as the expression that uses it, which never widens an exclusion). Unused
  filterValues are ignored. A parameter used with a comparison must hold exactly one value, a number unless the
  comparison is `=` on a categorical column.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from tailor.errors import InvalidInputException
from tailor.filters.expression import (
    MAX_PARAMETER_NAME_LENGTH,
    Condition,
    CurrentItem,
    Expr,
    FilterExpression,
    Literals,
    Param,
    Wildcard,
)

MAX_INTERACTIONS_PER_EVENT_TYPE = 100  # reference §4.4, Filters row
MAX_FILTER_VALUES = 25  # parameters per request (reference §4.4, filterValues row)
MAX_FILTER_VALUE_LENGTH = 1000

_PARAMETER_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
_SMALL_LIST = 4  # up to this many IN values, compare one by one; more, binary-search a sorted list
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, eq=False)
class UserInteractions:
    """One user's events, oldest first: catalog indices and event types (the evaluator applies the recency cut)."""

    items: np.ndarray  # int64 catalog indices
    event_types: np.ndarray  # str, same length


def newest_per_group(groups: np.ndarray, limit: int) -> np.ndarray:
    """Over events in time order, labelled by group (an event type; a user and event type): True for each group's
    `limit` newest events. The cut interaction filters apply (MAX_INTERACTIONS_PER_EVENT_TYPE)."""
    groups = np.asarray(groups).reshape(-1)
    if groups.size == 0:
        return np.zeros(0, dtype=bool)
    _, codes = np.unique(groups, return_inverse=True)
    codes = codes.reshape(-1)
    order = np.argsort(codes, kind="stable")  # by group, oldest first within a group
    ends = np.cumsum(np.bincount(codes))
    from_newest = ends[codes[order]] - 1 - np.arange(len(order))
    keep = np.zeros(len(codes), dtype=bool)
    keep[order[from_newest < limit]] = True
    return keep


# --- filterValues -------------------------------------------------------------------------------------------


def parse_filter_values(filter_values: Mapping[str, str] | None) -> dict[str, tuple[str, ...]]:
    """`{"GENRES": "\\"comedy\\",\\"drama\\""}` -> `{"GENRES": ("comedy", "drama")}`.

    A value is a comma-separated list of items, each a double-quoted string (`\\"` and `\\\\` are its escapes) or a
    bare word such as `10` (surrounding whitespace trimmed). Malformed values raise InvalidInputException naming the
    parameter."""
    if not filter_values:
        return {}
    if len(filter_values) > MAX_FILTER_VALUES:
        raise InvalidInputException(
            f"filterValues has {len(filter_values)} parameters, more than the maximum of {MAX_FILTER_VALUES}"
        )
    parsed: dict[str, tuple[str, ...]] = {}
    for name, raw in filter_values.items():
        if not isinstance(name, str) or not _PARAMETER_NAME_RE.fullmatch(name):
            raise InvalidInputException(f"Invalid filterValues parameter name {name!r}: use [A-Za-z0-9_]+")
        if len(name) > MAX_PARAMETER_NAME_LENGTH:
            raise InvalidInputException(
                f"Invalid filterValues parameter name {name[:20]}...: "
                f"longer than {MAX_PARAMETER_NAME_LENGTH} characters"
            )
        if not isinstance(raw, str):
            raise InvalidInputException(f"Invalid filterValues value for {name}: it must be a string")
        if len(raw) > MAX_FILTER_VALUE_LENGTH:
            raise InvalidInputException(
                f"Invalid filterValues value for {name}: {len(raw)} characters, more than {MAX_FILTER_VALUE_LENGTH}"
            )
        parsed[name] = _split_value(name, raw)
    return parsed


def _split_value(name: str, raw: str) -> tuple[str, ...]:
    def fail(message: str) -> InvalidInputException:
        return InvalidInputException(
            f"Invalid filterValues value for {name}: {message}; write quoted, comma-separated values such as "
            '"\\"comedy\\",\\"drama\\"" or a number such as "10"'
        )

    values: list[str] = []
    i, n = 0, len(raw)
    while True:
        while i < n and raw[i].isspace():
            i += 1
        if i < n and raw[i] == '"':
            chars: list[str] = []
            i += 1
            while i < n and raw[i] != '"':
                if raw[i] == "\\" and i + 1 < n and raw[i + 1] in '"\\':
                    i += 1
                chars.append(raw[i])
                i += 1
            if i >= n:
                raise fail("a double quote is not closed")
            i += 1
            values.append("".join(chars))
            while i < n and raw[i].isspace():
                i += 1
            if i < n and raw[i] != ",":
                raise fail(f"unexpected {raw[i]!r} after a quoted value")
        else:
            end = raw.find(",", i)
            end = n if end < 0 else end
            word = raw[i:end].strip()
            if not word:
                raise fail("a value is empty" if n else "no value given")
            if '"' in word:
                raise fail("a double quote is not balanced")
            values.append(word)
            i = end
        if i >= n:
            return tuple(values)
        i += 1  # the comma


# --- Columns ------------------------------------------------------------------------------------------------


class PreparedText:
    """A text column prepared once for many IN / NOT IN evaluations (the runtime keeps one per catalog column): each
    '|'-separated value maps to the distinct column values holding it, so a request's IN costs one integer `isin`
    over the column instead of a string search. Same answers as the plain str array it wraps."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values)
        if self.values.dtype.kind != "U":
            raise TypeError(f"PreparedText wraps a str array, not {self.values.dtype}")

    @cached_property
    def _index(self) -> tuple[np.ndarray, dict[str, list[int]]]:
        distinct, inverse = np.unique(self.values, return_inverse=True)
        holders: dict[str, list[int]] = {}
        for code, value in enumerate(distinct.tolist()):
            for part in value.split("|"):
                holders.setdefault(part, []).append(code)
        return inverse.reshape(-1), holders

    def any_of(self, listed: Collection[str]) -> np.ndarray:
        """Rows with ANY of their '|'-separated values in `listed` (see _text_in)."""
        inverse, holders = self._index
        codes = sorted({c for v in listed if v and "|" not in v for c in holders.get(v, ())})
        if not codes:
            return np.zeros(len(inverse), dtype=bool)
        return np.isin(inverse, codes)


Column = np.ndarray | PreparedText


def _as_column(values: np.ndarray, length: int, what: str) -> np.ndarray:
    """A str array ('' = missing) or a float64 array (NaN = missing)."""
    arr = np.asarray(values)
    if arr.shape != (length,):
        raise ValueError(f"{what} has shape {arr.shape}, expected ({length},)")
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "S":
        return arr.astype(np.str_)
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False)
    raise TypeError(f"{what} must be a str or numeric array, not {arr.dtype}")


def _is_text(column: np.ndarray) -> bool:
    return column.dtype.kind == "U"


def _lookup(columns: Mapping[str, Column], field: str) -> Column | None:
    if field in columns:
        return columns[field]
    folded = [key for key in columns if key.lower() == field.lower()]
    if len(folded) == 1:
        return columns[folded[0]]
    return None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def number_text(value: float) -> str:
    """A number as filter values and item metadata write it: 3.0 -> '3', 2.5 -> '2.5'."""
    return str(int(value)) if value.is_integer() else repr(value)


def _members(column: np.ndarray, values: Sequence[str]) -> np.ndarray:
    """column[i] is one of `values` (exact strings)."""
    if len(values) <= _SMALL_LIST:
        mask = column == values[0]
        for value in values[1:]:
            mask |= column == value
        return mask
    ordered = np.array(sorted(values))
    at = np.searchsorted(ordered, column)
    at[at == len(ordered)] = 0
    return np.asarray(ordered[at] == column)


def _padded_search(column: np.ndarray, values: Sequence[str]) -> np.ndarray:
    """'|a|b|' contains '|v|' for some v: any-value membership, one substring search per value."""
    padded = np.strings.add(np.strings.add("|", column), "|")
    mask = np.zeros(column.shape, dtype=bool)
    for value in values:
        mask |= np.strings.find(padded, f"|{value}|") >= 0
    return mask


def _text_in(column: np.ndarray, listed: Collection[str]) -> np.ndarray:
    """Items with ANY of their '|'-separated values in `listed`."""
    values = sorted({v for v in listed if v and "|" not in v})
    if not values or column.size == 0:
        return np.zeros(column.shape, dtype=bool)
    multi = np.flatnonzero(np.strings.find(column, "|") >= 0)
    small = len(values) <= _SMALL_LIST
    if small and 2 * multi.size > column.size:  # mostly multi-valued: one padded search per value over everything
        return _padded_search(column, values)
    mask = _members(column, values)  # single-valued items
    if multi.size:
        sub = column[multi]
        if small:
            hit = _padded_search(sub, values)
        else:  # peel off one value per round, so the cost follows the longest multi-value, not the list length
            hit = np.zeros(multi.size, dtype=bool)
            rows, rest = np.arange(multi.size), sub
            while rows.size:
                head, _, rest = np.strings.partition(rest, "|")
                hit[rows[_members(head, values)]] = True
                more = rest != ""
                rows, rest = rows[more], rest[more]
        mask[multi] |= hit
    return mask


def _in(column: np.ndarray, listed: Collection[str]) -> np.ndarray:
    if _is_text(column):
        return _text_in(column, listed)
    numbers = [x for x in (_number(v) for v in listed) if x is not None]
    if not numbers:
        return np.zeros(column.shape, dtype=bool)
    return np.isin(column, numbers)


@dataclass(frozen=True)
class _Operand:
    """A comparison's right-hand side: its number (NaN when it has none) and, for `=` on text, its string."""

    number: float
    text: str | None


def _compare(column: np.ndarray, op: str, operand: _Operand) -> np.ndarray:
    compare = _COMPARE[op]
    if not _is_text(column):
        if math.isnan(operand.number):
            return np.zeros(column.shape, dtype=bool)
        return np.asarray(compare(column, operand.number))
    if column.size == 0:
        return np.zeros(0, dtype=bool)
    distinct, inverse = np.unique(column, return_inverse=True)

    def matches(value: str) -> bool:
        for part in value.split("|"):
            if not part:
                continue
            if op == "=" and part == operand.text:
                return True
            number = _number(part)
            if number is not None and bool(compare(number, operand.number)):
                return True
        return False

    found = np.fromiter((matches(str(v)) for v in distinct), dtype=bool, count=len(distinct))
    return found[inverse.reshape(-1)]


# --- Conditions ---------------------------------------------------------------------------------------------


class _Context:
    """What one evaluation call knows: parameters, the current item, the catalog columns, the user's events."""

    def __init__(
        self,
        params: Mapping[str, tuple[str, ...]],
        columns: Mapping[str, Column],
        length: int,
        current_item: int | None = None,
        history: UserInteractions | None = None,
        event_types: Sequence[frozenset[str]] | None = None,
    ) -> None:
        self.params = params
        self.columns = columns
        self.length = length
        self.current_item = current_item
        self.history = history
        self.event_types = event_types

    def column(self, dataset: str, field: str) -> Column:
        found = _lookup(self.columns, field)
        if found is None:
            known = ", ".join(sorted(self.columns)) or "none"
            raise InvalidInputException(
                f"The filter uses {dataset}.{field} but the {dataset} data has no field {field} (fields: {known})"
            )
        if isinstance(found, PreparedText):
            if found.values.shape != (self.length,):
                raise ValueError(f"{dataset}.{field} has shape {found.values.shape}, expected ({self.length},)")
            return found
        return _as_column(found, self.length, f"{dataset}.{field}")

    def current_value(self, field: str) -> str | float:
        if self.current_item is None:
            raise InvalidInputException(
                f"The filter uses CurrentItem.{field}, which needs a current item (a related-items request with an "
                "itemId)"
            )
        found = self.column("Items", field)
        column = found.values if isinstance(found, PreparedText) else found
        if not 0 <= self.current_item < self.length:
            raise ValueError(f"current_item {self.current_item} is not a catalog index (0..{self.length - 1})")
        value = column[self.current_item]
        return str(value) if _is_text(column) else float(value)

    @cached_property
    def recent_events(self) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, lower-cased event types) of the considered events: the newest per event type."""
        if self.history is None or len(self.history.items) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.str_)
        items = np.asarray(self.history.items, dtype=np.int64)
        types = np.strings.lower(np.asarray(self.history.event_types, dtype=np.str_))
        if types.shape != items.shape:
            raise ValueError("UserInteractions.items and event_types differ in length")
        keep = newest_per_group(types, MAX_INTERACTIONS_PER_EVENT_TYPE) & (items >= 0) & (items < self.length)
        return items[keep], types[keep]

    @cached_property
    def user_event_types(self) -> list[frozenset[str]]:
        if self.event_types is None:
            return [frozenset()] * self.length
        if len(self.event_types) != self.length:
            raise ValueError(f"user_event_types has {len(self.event_types)} entries, expected {self.length}")
        return [frozenset(t.lower() for t in types) for types in self.event_types]

    def param(self, name: str) -> tuple[str, ...]:
        return self.params[name]  # presence is checked per part before evaluation


def _list_values(cond: Condition, ctx: _Context) -> tuple[str, ...]:
    values = cond.values
    if isinstance(values, Literals):
        return tuple(v if isinstance(v, str) else number_text(v) for v in values.values)
    if isinstance(values, Param):
        return ctx.param(values.name)
    if isinstance(values, CurrentItem):
        current = ctx.current_value(values.field)
        if isinstance(current, str):
            return tuple(v for v in current.split("|") if v)
        return () if math.isnan(current) else (number_text(current),)
    raise AssertionError(f"unexpected list value {values!r}")


def _comparison_operand(cond: Condition, ctx: _Context, text_column: bool) -> _Operand:
    values = cond.values
    if isinstance(values, Literals):
        number = float(values.values[0])
        return _Operand(number, number_text(number))
    if isinstance(values, CurrentItem):
        current = ctx.current_value(values.field)
        if isinstance(current, str):
            parsed = _number(current)
            return _Operand(math.nan if parsed is None else parsed, current or None)
        return _Operand(current, None if math.isnan(current) else number_text(current))
    if isinstance(values, Param):
        given = ctx.param(values.name)
        subject = f"{cond.dataset}.{cond.field} {cond.op} ${values.name}"
        if len(given) != 1:
            raise InvalidInputException(
                f"Invalid filterValues value for {values.name}: {subject} needs exactly one value, got {len(given)}"
            )
        parsed = _number(given[0])
        if parsed is None and not (cond.op == "=" and text_column):
            raise InvalidInputException(
                f"Invalid filterValues value for {values.name}: {subject} needs a number, got {given[0]!r}"
            )
        return _Operand(math.nan if parsed is None else parsed, given[0])
    raise AssertionError(f"unexpected comparison value {values!r}")


def _column_condition(cond: Condition, column: Column, ctx: _Context) -> np.ndarray:
    if cond.op in ("IN", "NOT IN"):
        listed = _list_values(cond, ctx)
        mask = column.any_of(listed) if isinstance(column, PreparedText) else _in(column, listed)
        return ~mask if cond.op == "NOT IN" else mask
    values = column.values if isinstance(column, PreparedText) else column
    return _compare(values, cond.op, _comparison_operand(cond, ctx, _is_text(values)))


def _event_type_list(cond: Condition, ctx: _Context) -> frozenset[str] | None:
    """The lower-cased event types a condition lists, or None for the "*" wildcard."""
    if isinstance(cond.values, Wildcard):
        return None
    listed = _list_values(cond, ctx)
    if cond.op == "IN" and "*" in listed:
        return None
    return frozenset(v.lower() for v in listed)


def _item_condition(cond: Condition, ctx: _Context) -> np.ndarray:
    if cond.dataset == "Items":
        return _column_condition(cond, ctx.column("Items", cond.field), ctx)
    if cond.dataset != "Interactions":
        raise InvalidInputException(f"ItemID filters cannot use the {cond.dataset} dataset")
    items, types = ctx.recent_events
    listed = _event_type_list(cond, ctx)
    if listed is None:
        matching = np.ones(len(items), dtype=bool)
    else:
        matching = np.isin(types, sorted(listed)) if listed else np.zeros(len(items), dtype=bool)
        if cond.op == "NOT IN":
            matching = ~matching
    mask = np.zeros(ctx.length, dtype=bool)
    mask[items[matching]] = True
    return mask


def _user_condition(cond: Condition, ctx: _Context) -> np.ndarray:
    if cond.dataset == "Users":
        return _column_condition(cond, ctx.column("Users", cond.field), ctx)
    if cond.dataset != "Interactions":
        raise InvalidInputException(f"UserID filters cannot use the {cond.dataset} dataset")
    listed = _event_type_list(cond, ctx)
    per_user = ctx.user_event_types
    if listed is None:
        found = (bool(types) for types in per_user)
    elif cond.op == "NOT IN":
        found = (bool(types - listed) for types in per_user)
    else:
        found = (not types.isdisjoint(listed) for types in per_user)
    return np.fromiter(found, dtype=bool, count=ctx.length)


def _where(expr: Expr, ctx: _Context, condition: Callable[[Condition, _Context], np.ndarray]) -> np.ndarray:
    """The WHERE clause, AND binding tighter than OR."""
    result: np.ndarray | None = None
    term = condition(expr.conditions[0], ctx)
    for connector, cond in zip(expr.connectors, expr.conditions[1:], strict=True):
        mask = condition(cond, ctx)
        if connector == "AND":
            term &= mask
        else:
            result = term if result is None else result | term
            term = mask
    return term if result is None else result | term


def _user_matches(expr: Expr, user: Mapping[str, str | float] | None, ctx: _Context) -> bool:
    """Whether the requesting user satisfies every IF CurrentUser condition."""
    for cond in expr.user_conditions:
        value = None
        if user is not None:
            key = cond.field if cond.field in user else next((k for k in user if k.lower() == cond.field.lower()), None)
            value = None if key is None else user[key]
        if value is None:
            column = np.array([""])
        elif isinstance(value, str):
            column = np.array([value])
        else:
            column = np.array([float(value)])
        if not bool(_column_condition(cond, column, ctx)[0]):
            return False
    return True


def _applies(expr: Expr, params: Mapping[str, tuple[str, ...]]) -> bool:
    """False when an EXCLUDE part lacks a parameter (it is skipped); an INCLUDE part lacking one is an error."""
    missing = sorted(expr.parameters - params.keys())
    if not missing:
        return True
    if expr.action == "EXCLUDE":
        return False
    names = ", ".join(f"${name}" for name in missing)
    raise InvalidInputException(
        f"The filter needs a filterValues entry for {names}: INCLUDE expressions need a value for every parameter "
        "they use"
    )


def _combine(includes: list[np.ndarray], excludes: list[np.ndarray], length: int) -> np.ndarray:
    allowed = np.logical_or.reduce(includes) if includes else np.ones(length, dtype=bool)
    if excludes:
        allowed = allowed & ~np.logical_or.reduce(excludes)
    return np.asarray(allowed, dtype=bool)


# --- Entry points -------------------------------------------------------------------------------------------


def item_mask(
    expression: FilterExpression,
    *,
    n_items: int,
    item_columns: Mapping[str, Column],
    history: UserInteractions | None,
    user: Mapping[str, str | float] | None,
    current_item: int | None,
    filter_values: Mapping[str, str] | None,
) -> np.ndarray:
    """bool[n_items] for an ItemID filter: True where the item may be recommended to this request."""
    if expression.target != "ItemID":
        raise InvalidInputException(
            f"This filter selects {expression.target}s; item recommendations need an ItemID filter"
        )
    params = parse_filter_values(filter_values)
    ctx = _Context(params, item_columns, n_items, current_item=current_item, history=history)
    includes: list[np.ndarray] = []
    excludes: list[np.ndarray] = []
    for expr in expression.parts:
        if not _applies(expr, params) or not _user_matches(expr, user, ctx):
            continue
        (includes if expr.action == "INCLUDE" else excludes).append(_where(expr, ctx, _item_condition))
    return _combine(includes, excludes, n_items)


def user_mask(
    expression: FilterExpression,
    *,
    n_users: int,
    user_columns: Mapping[str, Column],
    user_event_types: Sequence[frozenset[str]] | None,
    filter_values: Mapping[str, str] | None,
) -> np.ndarray:
    """bool[n_users] for a UserID filter (batch segment jobs): True where the user may be returned.

    `user_columns` are the Users dataset fields per user (same conventions as item columns); `user_event_types[u]`
    is the set of event types user u has (None: no user has events)."""
    if expression.target != "UserID":
        raise InvalidInputException(f"This filter selects {expression.target}s; user segments need a UserID filter")
    params = parse_filter_values(filter_values)
    ctx = _Context(params, user_columns, n_users, event_types=user_event_types)
    includes: list[np.ndarray] = []
    excludes: list[np.ndarray] = []
    for expr in expression.parts:
        if not _applies(expr, params):
            continue
        (includes if expr.action == "INCLUDE" else excludes).append(_where(expr, ctx, _user_condition))
    return _combine(includes, excludes, n_users)
