"""Tokenizer and recursive-descent parser for Personalize filter expressions, producing a typed AST."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, NoReturn

from tailor.errors import InvalidInputException

Action = Literal["INCLUDE", "EXCLUDE"]
Target = Literal["ItemID", "UserID", "ActionID"]
Op = Literal["IN", "NOT IN", "=", "<", "<=", ">", ">="]
Connector = Literal["AND", "OR"]

MAX_EXPRESSION_LENGTH = 2500  # CreateFilter model constraint (reference §4.4)
MAX_DISTINCT_FIELDS = 5  # distinct dataset fields per filter, across all `|` parts (reference §4.4)
MAX_PARAMETER_NAME_LENGTH = 50  # filterValues key constraint (reference §4.4)

#: Normalised dataset name (Condition.dataset, FilterExpression.fields) -> CreateDataset datasetType,
#: so callers can check that the dataset group has the datasets a filter reads.
DATASET_TYPES: dict[str, str] = {
    "Items": "ITEMS",
    "Users": "USERS",
    "Interactions": "INTERACTIONS",
    "Actions": "ACTIONS",
    "ActionInteractions": "ACTION_INTERACTIONS",
}

# Dataset names as written in expressions (case-sensitive, as in every DG example) -> normalised name.
_DATASET_NAMES: dict[str, str] = {
    "Items": "Items",
    "Users": "Users",
    "Interactions": "Interactions",
    "Actions": "Actions",
    "Action_Interactions": "ActionInteractions",
}
# Near misses worth a "did you mean" (the DG itself once wrote `Action.MEMBERSHIP_LEVEL`).
_DATASET_HINTS: dict[str, str] = {
    "Item": "Items",
    "User": "Users",
    "Interaction": "Interactions",
    "Action": "Actions",
    "ActionInteractions": "Action_Interactions",
    "Action_Interaction": "Action_Interactions",
}
_INTERACTION_DATASETS = frozenset({"Interactions", "ActionInteractions"})

# Which datasets a WHERE clause may read for each target (DG "Filter expressions" and the example pages).
_TARGET_DATASETS: dict[str, tuple[str, ...]] = {
    "ItemID": ("Items", "Interactions"),
    "UserID": ("Users", "Interactions"),
    "ActionID": ("Actions", "ActionInteractions"),
}
_WRITTEN_NAME = {v: k for k, v in _DATASET_NAMES.items()}

_ACTIONS: dict[str, Action] = {"INCLUDE": "INCLUDE", "EXCLUDE": "EXCLUDE"}
_TARGETS: dict[str, Target] = {"ItemID": "ItemID", "UserID": "UserID", "ActionID": "ActionID"}
_COMPARISONS: dict[str, Op] = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_CONNECTORS: dict[str, Connector] = {"AND": "AND", "OR": "OR"}


# --- AST ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literals:
    """Fixed values: double-quoted strings for IN / NOT IN, a single number for a comparison."""

    values: tuple[str | float, ...]


@dataclass(frozen=True)
class Param:
    """A `$NAME` placeholder, filled from `filterValues` at recommendation time (name without the `$`)."""

    name: str


@dataclass(frozen=True)
class CurrentItem:
    """`CurrentItem.FIELD`: the same field of the item a related-items request names."""

    field: str


@dataclass(frozen=True)
class Wildcard:
    """`IN ("*")` on an interactions EVENT_TYPE: any event type."""


Value = Literals | Param | CurrentItem | Wildcard


@dataclass(frozen=True)
class Condition:
    """`dataset.field op values`; dataset is a normalised name, or "CurrentUser" inside an IF clause."""

    dataset: str
    field: str
    op: Op
    values: Value


@dataclass(frozen=True)
class Expr:
    """One `INCLUDE|EXCLUDE target WHERE ... [IF ...]` part of a filter.

    `connectors[i]` joins `conditions[i]` and `conditions[i + 1]`. The list is kept flat because the DG
    documents no precedence or grouping for AND/OR; the evaluator decides. `user_conditions` (the IF clause)
    are all ANDed.
    """

    action: Action
    target: Target
    conditions: tuple[Condition, ...]
    connectors: tuple[Connector, ...]
    user_conditions: tuple[Condition, ...] = ()

    @property
    def dataset(self) -> str:
        """The dataset every WHERE condition reads (they must all use the first condition's dataset)."""
        return self.conditions[0].dataset

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset(
            c.values.name for c in (*self.conditions, *self.user_conditions) if isinstance(c.values, Param)
        )

    @property
    def fields(self) -> frozenset[tuple[str, str]]:
        """(dataset, field) pairs read, with CurrentUser counted as Users and CurrentItem as Items."""
        found: set[tuple[str, str]] = set()
        for c in self.conditions:
            found.add((c.dataset, c.field))
            if isinstance(c.values, CurrentItem):
                found.add(("Items", c.values.field))
        for c in self.user_conditions:
            found.add(("Users", c.field))
        return frozenset(found)


@dataclass(frozen=True)
class FilterExpression:
    """A whole filter: one or more expressions joined with `|`, all with the same target."""

    parts: tuple[Expr, ...]

    @property
    def target(self) -> Target:
        return self.parts[0].target

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset[str]().union(*(p.parameters for p in self.parts))

    @property
    def fields(self) -> frozenset[tuple[str, str]]:
        return frozenset[tuple[str, str]]().union(*(p.fields for p in self.parts))


# --- Tokenizer ----------------------------------------------------------------------------------------------

TokenKind = Literal["NAME", "STRING", "NUMBER", "PARAM", "OP", "LPAREN", "RPAREN", "COMMA", "PIPE", "EOF"]


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str  # the source text, for error messages
    pos: int  # 0-based offset into the expression
    value: str | float = ""  # decoded string, number, parameter name or dotted name


# A dotted name is one token so that `Items . GENRE` is rejected and errors can quote `Items.GENRE` whole.
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_PARAM_RE = re.compile(r"\$[A-Za-z0-9_]*")
_IDENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_WHITESPACE = frozenset(" \t\r\n\f\v")
_PUNCT: dict[str, TokenKind] = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", "|": "PIPE"}
_WRONG_QUOTES = frozenset("'\u2018\u2019\u201c\u201d")


def _fail(pos: int, message: str) -> NoReturn:
    # Positions are 1-based character offsets, as people count columns.
    raise InvalidInputException(f"Invalid filter expression at position {pos + 1}: {message}")


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _tokenize(src: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch in _WHITESPACE:
            i += 1
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            m = _NAME_RE.match(src, i)
            assert m is not None  # the first character always matches
            end = m.end()
            if end < n and src[end] == ".":
                _fail(end + 1, f"expected a field name after {_show(src[i : end + 1])}")
            tokens.append(_Token("NAME", m.group(), i, m.group()))
            i = end
        elif ch == '"':
            tokens.append(_string(src, i))
            i = tokens[-1].pos + len(tokens[-1].text)
        elif ch == "-" or ch in "0123456789":
            m = _NUMBER_RE.match(src, i)
            if m is None:
                _fail(i, f"unexpected character {ch!r}")
            end = m.end()
            if end < n and (src[end] in _IDENT_CHARS or src[end] == "."):
                while end < n and (src[end] in _IDENT_CHARS or src[end] == "."):
                    end += 1
                _fail(i, f"malformed number {_show(src[i:end])}")
            number = float(m.group())
            if not math.isfinite(number):
                _fail(i, f"number {_show(m.group())} is out of range")
            tokens.append(_Token("NUMBER", m.group(), i, number))
            i = end
        elif ch == "$":
            m = _PARAM_RE.match(src, i)
            assert m is not None
            name = m.group()[1:]
            if not name:
                _fail(i, "expected a parameter name ([A-Za-z0-9_]+) after '$'")
            if len(name) > MAX_PARAMETER_NAME_LENGTH:
                _fail(i, f"parameter name ${name[:20]}... is longer than {MAX_PARAMETER_NAME_LENGTH} characters")
            tokens.append(_Token("PARAM", m.group(), i, name))
            i = m.end()
        elif ch in "<>=!":
            two = src[i : i + 2]
            if two in ("!=", "<>"):
                _fail(i, f"{two!r} is not supported; use NOT IN to exclude values")
            text = two if two in ("<=", ">=") else ch
            if text == "!":
                _fail(i, "unexpected character '!'")
            tokens.append(_Token("OP", text, i, text))
            i += len(text)
        elif ch in _PUNCT:
            tokens.append(_Token(_PUNCT[ch], ch, i))
            i += 1
        elif ch in _WRONG_QUOTES:
            _fail(i, f'unexpected character {ch!r}; string values must be in double quotes, as in "drama"')
        else:
            _fail(i, f"unexpected character {ch!r}")
    tokens.append(_Token("EOF", "", n))
    return tokens


def _string(src: str, start: int) -> _Token:
    # Only \" and \\ are escapes; any other backslash is kept literally so Windows-ish values survive.
    chars: list[str] = []
    i, n = start + 1, len(src)
    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and src[i + 1] in '"\\':
            chars.append(src[i + 1])
            i += 2
        elif ch == '"':
            return _Token("STRING", src[start : i + 1], start, "".join(chars))
        else:
            chars.append(ch)
            i += 1
    _fail(start, "unterminated string literal (missing closing double quote)")


# --- Parser -------------------------------------------------------------------------------------------------


def parse_filter(expression: str) -> FilterExpression:
    """Parse and validate a filter expression; InvalidInputException names the problem and its position."""
    if not expression or expression.isspace():
        raise InvalidInputException("Invalid filter expression: the expression is empty")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise InvalidInputException(
            f"Invalid filter expression: it is {len(expression)} characters long, "
            f"more than the maximum of {MAX_EXPRESSION_LENGTH}"
        )
    result = _Parser(_tokenize(expression)).parse()
    fields = result.fields
    if len(fields) > MAX_DISTINCT_FIELDS:
        listed = ", ".join(f"{_WRITTEN_NAME.get(d, d)}.{f}" for d, f in sorted(fields))
        raise InvalidInputException(
            f"Invalid filter expression: a filter can use at most {MAX_DISTINCT_FIELDS} distinct dataset "
            f"fields, this one uses {len(fields)} ({listed})"
        )
    return result


def _describe(tok: _Token) -> str:
    return "end of expression" if tok.kind == "EOF" else _show(tok.text)


def _case_hint(tok: _Token, words: tuple[str, ...]) -> str:
    if tok.kind == "NAME":
        for word in words:
            if tok.text != word and tok.text.upper() == word.upper():
                return f" (keywords are case-sensitive: write {word})"
    return ""


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._i = 0

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        tok = self._tokens[self._i]
        if tok.kind != "EOF":
            self._i += 1
        return tok

    def _at_word(self, word: str) -> bool:
        tok = self._peek()
        return tok.kind == "NAME" and tok.text == word

    def _expect_word(self, word: str, context: str) -> _Token:
        tok = self._next()
        if tok.kind != "NAME" or tok.text != word:
            _fail(tok.pos, f"expected {word} {context}, found {_describe(tok)}{_case_hint(tok, (word,))}")
        return tok

    def parse(self) -> FilterExpression:
        parts = [self._expr(None)]
        while self._peek().kind == "PIPE":
            self._next()
            parts.append(self._expr(parts[0].target))
        tok = self._peek()
        if tok.kind != "EOF":  # _expr only returns at '|' or EOF; kept as a guard
            _fail(tok.pos, f"unexpected {_describe(tok)} after a complete expression")
        return FilterExpression(tuple(parts))

    def _expr(self, first_target: Target | None) -> Expr:
        tok = self._next()
        action = _ACTIONS.get(tok.text) if tok.kind == "NAME" else None
        if action is None:
            where = "after '|'" if first_target else "at the start of an expression"
            hint = _case_hint(tok, ("INCLUDE", "EXCLUDE"))
            _fail(tok.pos, f"expected INCLUDE or EXCLUDE {where}, found {_describe(tok)}{hint}")

        tok = self._next()
        target = _TARGETS.get(tok.text) if tok.kind == "NAME" else None
        if target is None:
            hint = _case_hint(tok, ("ItemID", "UserID", "ActionID"))
            _fail(tok.pos, f"expected ItemID, UserID or ActionID after {action}, found {_describe(tok)}{hint}")
        if first_target is not None and target != first_target:
            _fail(
                tok.pos,
                f"all expressions joined with '|' must filter the same target; the first filters "
                f"{first_target}, this one {target}",
            )
        self._expect_word("WHERE", f"after {target}")

        first = self._condition(target, None)
        conditions = [first]
        connectors: list[Connector] = []
        while (tok := self._peek()).kind == "NAME" and tok.text in _CONNECTORS:
            self._next()
            connectors.append(_CONNECTORS[tok.text])
            conditions.append(self._condition(target, first.dataset))

        user_conditions: list[Condition] = []
        if self._at_word("IF"):
            if_tok = self._next()
            if target == "UserID":
                _fail(if_tok.pos, "IF CurrentUser conditions are only allowed in ItemID and ActionID filters")
            user_conditions.append(self._user_condition())
            while self._at_word("AND"):
                self._next()
                user_conditions.append(self._user_condition())
            tok = self._peek()
            if tok.kind == "NAME" and tok.text == "OR":
                _fail(tok.pos, "conditions in an IF clause can only be joined with AND")
            if tok.kind == "NAME" and tok.text == "IF":
                _fail(tok.pos, "IF can be used only once, at the end of an expression")
            expected = "AND, '|' or end of expression after an IF condition"
            words: tuple[str, ...] = ("AND",)
        else:
            expected = "AND, OR, IF, '|' or end of expression after a condition"
            words = ("AND", "OR", "IF")

        tok = self._peek()
        if tok.kind not in ("PIPE", "EOF"):
            _fail(tok.pos, f"unexpected {_describe(tok)}; expected {expected}{_case_hint(tok, words)}")
        return Expr(action, target, tuple(conditions), tuple(connectors), tuple(user_conditions))

    def _reference(self, tok: _Token, context: str) -> tuple[str, str]:
        parts = tok.text.split(".") if tok.kind == "NAME" else []
        if len(parts) != 2:
            _fail(tok.pos, f"expected {context}, found {_describe(tok)}")
        return parts[0], parts[1]

    def _condition(self, target: Target, expr_dataset: str | None) -> Condition:
        tok = self._next()
        written, field = self._reference(tok, "Dataset.FIELD (for example Items.GENRE)")
        if written == "CurrentUser":
            _fail(tok.pos, "CurrentUser.FIELD can only be used in an IF condition at the end of an expression")
        if written == "CurrentItem":
            _fail(
                tok.pos,
                "CurrentItem.FIELD can only be used as a value, as in Items.GENRE IN CurrentItem.GENRE",
            )
        dataset = _DATASET_NAMES.get(written)
        allowed = _TARGET_DATASETS[target]
        known = " or ".join(_WRITTEN_NAME[d] for d in allowed)
        if dataset is None:
            guess = _DATASET_HINTS.get(written) or next(
                (name for name in _DATASET_NAMES if name.lower() == written.lower()), None
            )
            # Only suggest a name that would be valid here, or the hint just leads to the next error.
            hint = f"; did you mean {guess}?" if guess and _DATASET_NAMES[guess] in allowed else ""
            _fail(tok.pos, f"unknown dataset {_show(written)}, {target} expressions use {known}{hint}")
        if dataset not in allowed:
            extra = "; check the current user with IF CurrentUser.FIELD" if dataset == "Users" else ""
            _fail(tok.pos, f"{target} expressions can only use the {known} datasets, found {written}{extra}")
        if expr_dataset is not None and dataset != expr_dataset:
            first = _WRITTEN_NAME[expr_dataset]
            _fail(
                tok.pos,
                f"all conditions in one expression must use the dataset of the first condition ({first}), "
                f"found {tok.text}; combine expressions on different datasets with '|'",
            )
        interactions = dataset in _INTERACTION_DATASETS
        if interactions:
            if field.upper() != "EVENT_TYPE":
                _fail(tok.pos, f"{written} conditions can only use EVENT_TYPE, found {tok.text}")
            field = "EVENT_TYPE"
        subject = f"{written}.{field}"

        op_tok, op = self._operator(subject)
        current_item_error = None
        if interactions:
            current_item_error = f'{subject} can only be matched against quoted strings, "*" or a $PARAM'
        elif target != "ItemID":
            current_item_error = "CurrentItem.FIELD can only be used in ItemID filters (related-items recommendations)"
        if op in ("IN", "NOT IN"):
            wildcard_error = None
            if not interactions:
                wildcard_error = 'the "*" wildcard can only be used with Interactions.EVENT_TYPE IN'
            elif op == "NOT IN":
                wildcard_error = f'the "*" wildcard can only be used with IN, not NOT IN, on {subject}'
            values = self._list_values(subject, op, current_item_error, wildcard_error)
        else:
            if interactions:
                _fail(op_tok.pos, f"{subject} supports only IN and NOT IN, found {op}")
            values = self._comparison_value(subject, op, current_item_error)
        return Condition(dataset, field, op, values)

    def _user_condition(self) -> Condition:
        tok = self._next()
        written, field = self._reference(tok, "CurrentUser.FIELD after IF")
        if written != "CurrentUser":
            _fail(tok.pos, f"IF conditions can only check CurrentUser.FIELD, found {_describe(tok)}")
        subject = tok.text
        _, op = self._operator(subject)
        in_if = "CurrentItem.FIELD cannot be used in an IF condition"
        if op in ("IN", "NOT IN"):
            wildcard = 'the "*" wildcard can only be used with Interactions.EVENT_TYPE IN'
            values = self._list_values(subject, op, in_if, wildcard)
        else:
            values = self._comparison_value(subject, op, in_if)
        return Condition("CurrentUser", field, op, values)

    def _operator(self, subject: str) -> tuple[_Token, Op]:
        tok = self._next()
        if tok.kind == "NAME" and tok.text == "IN":
            return tok, "IN"
        if tok.kind == "NAME" and tok.text == "NOT":
            self._expect_word("IN", "after NOT")
            return tok, "NOT IN"
        if tok.kind == "OP":
            return tok, _COMPARISONS[tok.text]
        hint = _case_hint(tok, ("IN", "NOT"))
        _fail(tok.pos, f"expected IN, NOT IN, =, <, <=, > or >= after {subject}, found {_describe(tok)}{hint}")

    def _current_item(self, tok: _Token, error: str | None) -> CurrentItem | None:
        if tok.kind != "NAME" or tok.text.split(".")[0] != "CurrentItem":
            return None
        _, field = self._reference(tok, "CurrentItem.FIELD")
        if error:
            _fail(tok.pos, error)
        return CurrentItem(field)

    def _list_values(self, subject: str, op: Op, current_item_error: str | None, wildcard_error: str | None) -> Value:
        tok = self._next()
        current = self._current_item(tok, current_item_error)
        if current is not None:
            return current
        if tok.kind != "LPAREN":
            example = f" (write {op} ({tok.text}))" if tok.kind in ("PARAM", "STRING") else ""
            _fail(
                tok.pos,
                f"expected '(' or CurrentItem.FIELD after {subject} {op}, found {_describe(tok)}{example}",
            )

        tok = self._next()
        if tok.kind == "PARAM":
            end = self._next()
            if end.kind == "COMMA":
                _fail(end.pos, f"a $PARAM must be the only value in the list after {op}")
            if end.kind != "RPAREN":
                _fail(end.pos, f"expected ')' after {tok.text}, found {_describe(end)}")
            return Param(str(tok.value))

        strings: list[str] = []
        wildcard_pos = -1
        while True:
            if tok.kind == "PARAM":
                _fail(tok.pos, f"a $PARAM must be the only value in the list after {op}")
            if tok.kind == "NUMBER":
                _fail(tok.pos, f"values after {op} must be double-quoted strings, found {tok.text}")
            if tok.kind != "STRING":
                current_hint = ""
                if tok.kind == "NAME" and tok.text.startswith("CurrentItem."):
                    current_hint = f" (write {op} {tok.text} without parentheses)"
                _fail(
                    tok.pos,
                    f"expected a double-quoted string or $PARAM in the list after {subject} {op}, "
                    f"found {_describe(tok)}{current_hint}",
                )
            strings.append(str(tok.value))
            if tok.value == "*" and wildcard_pos < 0:
                wildcard_pos = tok.pos
            sep = self._next()
            if sep.kind == "RPAREN":
                break
            if sep.kind != "COMMA":
                _fail(sep.pos, f"expected ',' or ')' in the list after {subject} {op}, found {_describe(sep)}")
            tok = self._next()

        if wildcard_pos >= 0:
            if wildcard_error:
                _fail(wildcard_pos, wildcard_error)
            if len(strings) > 1:
                _fail(wildcard_pos, 'the "*" wildcard must be the only value in the list')
            return Wildcard()
        return Literals(tuple(strings))

    def _comparison_value(self, subject: str, op: Op, current_item_error: str | None) -> Value:
        tok = self._next()
        current = self._current_item(tok, current_item_error)
        if current is not None:
            return current
        # The DG writes `Actions.VALUE > ($VALUE)`, so one parenthesised number or $PARAM is accepted too.
        parenthesised = tok.kind == "LPAREN"
        if parenthesised:
            tok = self._next()
        if tok.kind == "NUMBER":
            value: Value = Literals((float(tok.value),))
        elif tok.kind == "PARAM":
            value = Param(str(tok.value))
        elif tok.kind == "STRING":
            _fail(
                tok.pos,
                f"{op} compares numbers, found the string {tok.text}; use IN ({tok.text}) to match strings",
            )
        else:
            what = "a number or $PARAM" if parenthesised else "a number, $PARAM or CurrentItem.FIELD"
            _fail(tok.pos, f"expected {what} after {subject} {op}, found {_describe(tok)}")
        if parenthesised:
            end = self._next()
            if end.kind != "RPAREN":
                _fail(end.pos, f"expected ')' after {tok.text}, found {_describe(end)}")
        return value
