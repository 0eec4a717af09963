"""Filter expression parser: the documented examples, the AST, and every rejection rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailor.errors import InvalidInputException
from tailor.filters.expression import (
    DATASET_TYPES,
    Condition,
    CurrentItem,
    Expr,
    FilterExpression,
    Literals,
    Param,
    Wildcard,
    parse_filter,
)


def reject(expression: str, *fragments: str) -> str:
    with pytest.raises(InvalidInputException) as info:
        parse_filter(expression)
    message = info.value.message
    assert message.startswith("Invalid filter expression")
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- Documented examples (reference §4.5, DG item/user/action example pages) --------------------------------


def test_interactions_event_types() -> None:
    f = parse_filter('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")')
    assert f == FilterExpression(
        (
            Expr(
                "EXCLUDE",
                "ItemID",
                (Condition("Interactions", "EVENT_TYPE", "IN", Literals(("click", "stream"))),),
                (),
            ),
        )
    )
    assert f.target == "ItemID"
    assert f.parameters == frozenset()
    assert f.fields == {("Interactions", "EVENT_TYPE")}


def test_in_parameter() -> None:
    f = parse_filter("INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)")
    assert f.parts[0].conditions == (Condition("Items", "GENRE", "IN", Param("GENRE")),)
    assert f.parts[0].action == "INCLUDE"
    assert f.parameters == {"GENRE"}
    assert f.fields == {("Items", "GENRE")}


def test_comparison_parameter() -> None:
    f = parse_filter("INCLUDE ItemID WHERE Items.PRICE <= $PRICE")
    assert f.parts[0].conditions == (Condition("Items", "PRICE", "<=", Param("PRICE")),)
    assert f.parameters == {"PRICE"}


def test_current_item() -> None:
    f = parse_filter("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE")
    expr = f.parts[0]
    assert expr.conditions == (
        Condition("Items", "PRICE", "<", CurrentItem("PRICE")),
        Condition("Items", "GENRE", "IN", CurrentItem("GENRE")),
    )
    assert expr.connectors == ("AND",)
    assert expr.dataset == "Items"
    assert f.fields == {("Items", "PRICE"), ("Items", "GENRE")}
    assert f.parameters == frozenset()


def test_if_current_user() -> None:
    f = parse_filter("EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE")
    expr = f.parts[0]
    assert expr.conditions == (Condition("Items", "GENRE", "IN", Param("GENRE")),)
    assert expr.user_conditions == (Condition("CurrentUser", "AGE", "=", Param("AGE")),)
    assert f.parameters == {"GENRE", "AGE"}
    # CurrentUser fields are Users dataset fields for the distinct-field limit.
    assert f.fields == {("Items", "GENRE"), ("Users", "AGE")}


def test_user_segment() -> None:
    f = parse_filter("INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)")
    assert f.target == "UserID"
    assert f.parts[0].conditions == (Condition("Users", "MEMBERSHIP_STATUS", "IN", Param("MEMBERSHIP")),)
    assert f.fields == {("Users", "MEMBERSHIP_STATUS")}


@pytest.mark.parametrize(
    "expression",
    [
        'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")',
        "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)",
        "EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)",
        'EXCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("shoe") AND Items.CATEGORY_L2 NOT IN ("boot")',
        "INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP < $DATE",
        "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.CREATION_TIMESTAMP > $DATE",
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("watch") AND Items.DESCRIPTION IN ("luxury") IF CurrentUser.AGE > 18',
        "EXCLUDE ItemID WHERE Items.NUMBER_OF_DOWNLOADS < 20 IF CurrentUser.AGE > 18 AND CurrentUser.AGE < 30",
        "EXCLUDE UserID WHERE Users.AGE < $AGE",
        'INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click, rating")',
        "EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)",
        "INCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ($EVENT_TYPE)",
        'EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("NOT_TAKEN")',
        "EXCLUDE ActionID WHERE Actions.CATEGORY IN ($CATEGORY)",
        "EXCLUDE ActionID WHERE Actions.VALUE < ($VALUE) IF CurrentUser.MEMBERSHIP = $PREMIUM",
    ],
)
def test_other_documented_examples_parse(expression: str) -> None:
    assert parse_filter(expression).parts


def test_numbers_and_if_chain() -> None:
    f = parse_filter(
        "EXCLUDE ItemID WHERE Items.NUMBER_OF_DOWNLOADS < 20 IF CurrentUser.AGE > 18 AND CurrentUser.AGE < 30"
    )
    expr = f.parts[0]
    assert expr.conditions == (Condition("Items", "NUMBER_OF_DOWNLOADS", "<", Literals((20.0,))),)
    assert expr.user_conditions == (
        Condition("CurrentUser", "AGE", ">", Literals((18.0,))),
        Condition("CurrentUser", "AGE", "<", Literals((30.0,))),
    )


def test_actions_parenthesised_comparison_and_normalised_dataset() -> None:
    f = parse_filter("INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)")
    assert f.parts[0].conditions == (Condition("Actions", "VALUE", ">", Param("VALUE")),)
    g = parse_filter('EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("NOT_TAKEN")')
    assert g.target == "ActionID"
    assert g.fields == {("ActionInteractions", "EVENT_TYPE")}
    assert {d for d, _ in g.fields} <= DATASET_TYPES.keys()


def test_wildcard() -> None:
    f = parse_filter('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")')
    assert f.parts[0].conditions[0].values == Wildcard()


def test_literal_forms() -> None:
    f = parse_filter(
        'INCLUDE ItemID WHERE Items.TITLE IN ("say \\"hi\\"", "back\\\\slash", "a\\b") '
        "OR Items.PRICE >= -1.5 AND Items.YEAR = 2001"
    )
    conds = f.parts[0].conditions
    assert conds[0].values == Literals(('say "hi"', "back\\slash", "a\\b"))
    assert conds[1].values == Literals((-1.5,))
    assert conds[2].values == Literals((2001.0,))
    assert f.parts[0].connectors == ("OR", "AND")


def test_whitespace_is_free() -> None:
    a = parse_filter('INCLUDE ItemID WHERE Items.GENRE NOT IN ("a","b")')
    b = parse_filter('\n  INCLUDE\tItemID WHERE Items.GENRE NOT   IN ( "a" , "b" )  ')
    assert a == b
    assert a.parts[0].conditions[0].op == "NOT IN"


# --- Combining expressions with | ---------------------------------------------------------------------------


def test_multiple_expressions() -> None:
    f = parse_filter(
        "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)"
        ' | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")'
    )
    assert [(p.action, p.dataset) for p in f.parts] == [("INCLUDE", "Items"), ("EXCLUDE", "Interactions")]
    assert f.target == "ItemID"
    assert f.parameters == {"GENRE"}
    assert f.fields == {("Items", "GENRE"), ("Interactions", "EVENT_TYPE")}


def test_multiple_includes() -> None:
    f = parse_filter(
        "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"
        ' | INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("favorite")'
    )
    assert len(f.parts) == 2
    assert f.parts[1].conditions == (Condition("Interactions", "EVENT_TYPE", "IN", Literals(("favorite",))),)


def test_if_then_pipe() -> None:
    f = parse_filter(
        'EXCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE < 18 | EXCLUDE ItemID WHERE Items.X IN ("y")'
    )
    assert f.parts[0].user_conditions and not f.parts[1].user_conditions


def test_mixed_targets_rejected() -> None:
    reject(
        'INCLUDE ItemID WHERE Items.GENRE IN ("a") | INCLUDE UserID WHERE Users.X IN ("b")',
        "position 53",
        "same target",
        "ItemID",
        "UserID",
    )


@pytest.mark.parametrize(
    "expression", ['INCLUDE ItemID WHERE Items.A IN ("a") |', 'INCLUDE ItemID WHERE Items.A IN ("a") ||']
)
def test_dangling_pipe(expression: str) -> None:
    reject(expression, "expected INCLUDE or EXCLUDE after '|'")


# --- Rejections ---------------------------------------------------------------------------------------------


def test_message_names_position_and_token() -> None:
    message = reject('INCLUDE ItemID WHERE Items.GENRE LIKE ("x")')
    assert message == (
        "Invalid filter expression at position 34: expected IN, NOT IN, =, <, <=, > or >= after Items.GENRE, "
        "found 'LIKE'"
    )


@pytest.mark.parametrize("expression", ["", "   \n"])
def test_empty(expression: str) -> None:
    reject(expression, "empty")


def test_too_long() -> None:
    long = 'INCLUDE ItemID WHERE Items.GENRE IN ("' + "x" * 2500 + '")'
    reject(long, "2500")
    # 2500 characters exactly is fine.
    pad = 2500 - len('INCLUDE ItemID WHERE Items.GENRE IN ("")')
    assert parse_filter('INCLUDE ItemID WHERE Items.GENRE IN ("' + "x" * pad + '")')


def test_too_many_fields() -> None:
    four = 'INCLUDE ItemID WHERE Items.A IN ("a") AND Items.B IN ("a") AND Items.C = 1 AND Items.D = 1'
    assert len(parse_filter(four + " IF CurrentUser.E = 1").fields) == 5
    # The same field twice counts once.
    assert len(parse_filter(four + " AND Items.A IN ($A) IF CurrentUser.E = 1").fields) == 5
    too_many = four + " IF CurrentUser.E = 1 AND CurrentUser.F = 2"
    reject(too_many, "at most 5 distinct dataset fields", "Users.F")
    # Fields count across `|` parts, and CurrentItem fields are Items fields.
    reject(four + ' AND Items.E = 1 | EXCLUDE ItemID WHERE Items.G IN ("x")', "uses 6")
    reject(four + " AND Items.PRICE < CurrentItem.COST", "uses 6", "Items.COST")


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        ('include ItemID WHERE Items.X IN ("a")', ("position 1", "INCLUDE or EXCLUDE", "case-sensitive")),
        ('INCLUDE ItemId WHERE Items.X IN ("a")', ("ItemID, UserID or ActionID", "'ItemId'")),
        ('INCLUDE ItemID Items.X IN ("a")', ("expected WHERE after ItemID", "'Items.X'")),
        ('INCLUDE ItemID where Items.X IN ("a")', ("expected WHERE", "case-sensitive")),
        ('INCLUDE ItemID WHERE Items.X in ("a")', ("expected IN, NOT IN", "case-sensitive: write IN")),
        ('INCLUDE ItemID WHERE Items.X NOT ("a")', ("expected IN after NOT",)),
        ('INCLUDE ItemID WHERE Items.X IN ("a") and Items.Y IN ("b")', ("unexpected 'and'", "write AND")),
        ("INCLUDE ItemID WHERE", ("Dataset.FIELD", "end of expression")),
        ('INCLUDE ItemID WHERE GENRE IN ("a")', ("Dataset.FIELD", "'GENRE'")),
        ('INCLUDE ItemID WHERE Items.A.B IN ("a")', ("Dataset.FIELD", "'Items.A.B'")),
        ('INCLUDE ItemID WHERE Items. GENRE IN ("a")', ("field name after 'Items.'",)),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a")) ', ("unexpected ')'",)),
    ],
)
def test_syntax_errors(expression: str, fragments: tuple[str, ...]) -> None:
    reject(expression, *fragments)


def test_trailing_tokens() -> None:
    reject('INCLUDE ItemID WHERE Items.GENRE IN ("a") foo', "position 43", "unexpected 'foo'", "AND, OR, IF")
    reject(
        'INCLUDE ItemID WHERE Items.GENRE IN ("a") IF CurrentUser.AGE > 1 WHERE',
        "unexpected 'WHERE'",
        "AND, '|' or end of expression",
    )
    reject("INCLUDE ItemID WHERE Items.PRICE < 5 5", "unexpected '5'")


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        ('INCLUDE ItemID WHERE Items.X IN ("a', ("position 34", "unterminated string")),
        ("INCLUDE ItemID WHERE Items.X IN ('a')", ("double quotes",)),
        ("INCLUDE ItemID WHERE Items.X IN (\u201ca\u201d)", ("double quotes",)),
        ("INCLUDE ItemID WHERE Items.X != 3", ("'!=' is not supported", "NOT IN")),
        ("INCLUDE ItemID WHERE Items.X <> 3", ("'<>' is not supported",)),
        ("INCLUDE ItemID WHERE Items.X < 1.2.3", ("malformed number '1.2.3'",)),
        ("INCLUDE ItemID WHERE Items.X < 12abc", ("malformed number",)),
        ("INCLUDE ItemID WHERE Items.X < - 1", ("unexpected character '-'",)),
        ("INCLUDE ItemID WHERE Items.X < $", ("parameter name", "after '$'")),
        ("INCLUDE ItemID WHERE Items.X < $" + "P" * 51, ("longer than 50",)),
        ("INCLUDE ItemID WHERE Items.X IN (#)", ("unexpected character '#'",)),
        ("INCLUDE ItemID WHERE Items.X < 1" + "0" * 400, ("out of range",)),
    ],
)
def test_lexical_errors(expression: str, fragments: tuple[str, ...]) -> None:
    reject(expression, *fragments)


def test_parameter_name_length_limit() -> None:
    assert parse_filter("INCLUDE ItemID WHERE Items.X < $" + "P" * 50).parameters == {"P" * 50}
    assert parse_filter("INCLUDE ItemID WHERE Items.X IN ($0_a)").parameters == {"0_a"}


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        # IN needs a parenthesised list of strings, a lone $PARAM, or CurrentItem.FIELD.
        ("INCLUDE ItemID WHERE Items.X IN $G", ("expected '('", "write IN ($G)")),
        ('INCLUDE ItemID WHERE Items.X IN "a"', ("expected '('",)),
        ("INCLUDE ItemID WHERE Items.X IN ()", ("double-quoted string or $PARAM", "')'")),
        ('INCLUDE ItemID WHERE Items.X IN ("a",)', ("double-quoted string or $PARAM",)),
        ('INCLUDE ItemID WHERE Items.X IN ("a" "b")', ("expected ',' or ')'",)),
        ("INCLUDE ItemID WHERE Items.X IN (1, 2)", ("must be double-quoted strings", "found 1")),
        ('INCLUDE ItemID WHERE Items.X IN ("a", $G)', ("$PARAM must be the only value",)),
        ('INCLUDE ItemID WHERE Items.X IN ($G, "a")', ("$PARAM must be the only value",)),
        ("INCLUDE ItemID WHERE Items.X IN ($G", ("expected ')' after $G",)),
        ("INCLUDE ItemID WHERE Items.X IN (CurrentItem.X)", ("without parentheses",)),
        # Comparisons need a number, $PARAM or CurrentItem.FIELD.
        ('INCLUDE ItemID WHERE Items.GENRE = "drama"', ("= compares numbers", 'IN ("drama")')),
        ('INCLUDE ItemID WHERE Items.PRICE < ("5")', ("< compares numbers",)),
        (
            "INCLUDE ItemID WHERE Items.PRICE < Items.COST",
            ("number, $PARAM or CurrentItem.FIELD", "'Items.COST'"),
        ),
        ("INCLUDE ItemID WHERE Items.PRICE < (1, 2)", ("expected ')' after 1",)),
        ("INCLUDE ItemID WHERE Items.PRICE < (CurrentItem.PRICE)", ("a number or $PARAM",)),
        ("INCLUDE ItemID WHERE Items.PRICE <", ("end of expression",)),
    ],
)
def test_value_errors(expression: str, fragments: tuple[str, ...]) -> None:
    reject(expression, *fragments)


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        ('INCLUDE ItemID WHERE Items.GENRE IN ("*")', ('"*" wildcard', "Interactions.EVENT_TYPE IN")),
        ('INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("*")', ('"*" wildcard', "not NOT IN")),
        ('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "*")', ("position 59", "only value")),
        ('INCLUDE ItemID WHERE Items.X IN ("a") IF CurrentUser.Y IN ("*")', ('"*" wildcard',)),
    ],
)
def test_wildcard_rules(expression: str, fragments: tuple[str, ...]) -> None:
    reject(expression, *fragments)


def test_wildcard_inside_a_string_is_a_plain_value() -> None:
    f = parse_filter('INCLUDE ItemID WHERE Items.X IN ("a*", "**")')
    assert f.parts[0].conditions[0].values == Literals(("a*", "**"))


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        # All WHERE conditions use the first condition's dataset; Items and Interactions never mix.
        (
            'INCLUDE ItemID WHERE Items.GENRE IN ("a") AND Interactions.EVENT_TYPE IN ("click")',
            ("position 47", "dataset of the first condition (Items)", "Interactions.EVENT_TYPE", "'|'"),
        ),
        (
            'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") OR Items.GENRE IN ("a")',
            ("dataset of the first condition (Interactions)",),
        ),
        (
            'INCLUDE ActionID WHERE Actions.X IN ("a") AND Action_Interactions.EVENT_TYPE IN ("TAKEN")',
            ("dataset of the first condition (Actions)",),
        ),
        # Datasets allowed per target.
        (
            "INCLUDE ItemID WHERE Users.AGE < 5",
            ("ItemID expressions can only use the Items or Interac", "IF"),
        ),
        (
            'INCLUDE UserID WHERE Items.GENRE IN ("a")',
            ("UserID expressions can only use the Users or Inter",),
        ),
        ('INCLUDE ActionID WHERE Items.GENRE IN ("a")', ("ActionID", "Actions or Action_Interactions")),
        ('INCLUDE ItemID WHERE Actions.X IN ("a")', ("ItemID expressions can only use",)),
        ('INCLUDE ActionID WHERE Interactions.EVENT_TYPE IN ("a")', ("ActionID expressions can only use",)),
        # Unknown datasets, with a hint only where the suggestion is valid.
        ('INCLUDE ItemID WHERE Products.X IN ("a")', ("unknown dataset 'Products'", "Items or Interactions")),
        ('INCLUDE ItemID WHERE items.X IN ("a")', ("unknown dataset 'items'", "did you mean Items?")),
        ('INCLUDE ActionID WHERE Action.X IN ("a")', ("unknown dataset 'Action'", "did you mean Actions?")),
        ('INCLUDE ActionID WHERE ActionInteractions.EVENT_TYPE IN ("a")', ("mean Action_Interactions?",)),
        # Interactions: EVENT_TYPE only, IN / NOT IN only.
        (
            'INCLUDE ItemID WHERE Interactions.ITEM_ID IN ("a")',
            ("only use EVENT_TYPE", "Interactions.ITEM_ID"),
        ),
        ("INCLUDE ItemID WHERE Interactions.EVENT_TYPE = $E", ("supports only IN and NOT IN", "found =")),
        ("INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN CurrentItem.X", ('strings, "*" or a $PARAM',)),
        # CurrentItem: a value only, ItemID only, never in IF.
        ("INCLUDE ItemID WHERE CurrentItem.PRICE > 5", ("CurrentItem.FIELD can only be used as a value",)),
        ("INCLUDE UserID WHERE Users.AGE < CurrentItem.AGE", ("only be used in ItemID filters",)),
        ("INCLUDE ActionID WHERE Actions.X IN CurrentItem.X", ("only be used in ItemID filters",)),
        (
            "INCLUDE ItemID WHERE Items.X < 1 IF CurrentUser.AGE < CurrentItem.AGE",
            ("cannot be used in an IF",),
        ),
        ("INCLUDE ItemID WHERE Items.X IN CurrentItem", ("expected CurrentItem.FIELD",)),
        # CurrentUser: only in an IF clause, once, at the end, joined with AND.
        ("INCLUDE ItemID WHERE CurrentUser.AGE > 5", ("position 22", "only be used in an IF condition")),
        (
            'INCLUDE ItemID WHERE Items.X IN ("a") IF Items.Y IN ("b")',
            ("only check CurrentUser.", "'Items.Y'"),
        ),
        (
            'INCLUDE ItemID WHERE Items.X IN ("a") IF CurrentUser.A > 1 OR CurrentUser.B > 2',
            ("only be joined with AND",),
        ),
        ('INCLUDE ItemID WHERE Items.X IN ("a") IF CurrentUser.A > 1 IF CurrentUser.B > 2', ("only once",)),
        (
            'INCLUDE ItemID WHERE Items.X IN ("a") IF CurrentUser.A > 1 AND Items.Y IN ("b")',
            ("only check CurrentUser.FIELD",),
        ),
        ('INCLUDE ItemID WHERE Items.X IN ("a") IF', ("CurrentUser.FIELD after IF", "end of expression")),
        ('INCLUDE UserID WHERE Users.X IN ("a") IF CurrentUser.AGE > 5', ("only allowed in ItemID and Act",)),
    ],
)
def test_semantic_rules(expression: str, fragments: tuple[str, ...]) -> None:
    reject(expression, *fragments)


def test_if_in_list_and_event_type_case() -> None:
    f = parse_filter('INCLUDE ItemID WHERE Interactions.event_type IN ("click") IF CurrentUser.TIER NOT IN ($T)')
    expr = f.parts[0]
    # EVENT_TYPE is normalised so the evaluator and the field limit see one name.
    assert expr.conditions[0].field == "EVENT_TYPE"
    assert expr.user_conditions == (Condition("CurrentUser", "TIER", "NOT IN", Param("T")),)


# --- Robustness ---------------------------------------------------------------------------------------------

_VOCAB = [
    "INCLUDE", "EXCLUDE", "ItemID", "UserID", "ActionID", "WHERE", "AND", "OR", "IF", "IN", "NOT",
    "Items.GENRE", "Users.AGE", "Interactions.EVENT_TYPE", "Actions.VALUE", "Action_Interactions.EVENT_TYPE",
    "CurrentUser.AGE", "CurrentItem.PRICE", "Items.", "(", ")", ",", "|", "=", "<", "<=", ">", ">=",
    '"a"', '"*"', '"x\\"y"', "$P", "$", "12", "-3.5", "1.", '"', "!",
]  # fmt: skip


def _parses_or_rejects(expression: str) -> None:
    try:
        parse_filter(expression)
    except InvalidInputException as e:
        assert e.message.startswith("Invalid filter expression")


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.characters(categories=("L", "N", "P", "S", "Zs")), max_size=120))
def test_random_text_only_raises_invalid_input(expression: str) -> None:
    _parses_or_rejects(expression)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(_VOCAB), max_size=25), st.sampled_from([" ", "", "  "]))
def test_token_soup_only_raises_invalid_input(words: list[str], sep: str) -> None:
    _parses_or_rejects(sep.join(words))
