"""Filter evaluation: which catalog items (ItemID filters) or users (UserID filters) a parsed filter lets through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from tailor.errors import InvalidInputException
from tailor.filters.evaluate import (
    MAX_INTERACTIONS_PER_EVENT_TYPE,
    PreparedText,
    UserInteractions,
    item_mask,
    parse_filter_values,
    user_mask,
)
from tailor.filters.expression import parse_filter

# A six-item catalog: GENRE is categorical (item 2 multi-valued, item 4 missing, item 5 differs only in case), PRICE is
# numeric (item 3 missing), RATING is categorical but holds numbers (item 1 not a number, item 3 missing).
GENRE = np.array(["comedy", "drama", "comedy|drama", "horror", "", "Comedy"])
PRICE = np.array([5.0, 10.0, 15.0, np.nan, 20.0, 10.0])
RATING = np.array(["10", "x", "7", "", "10.0", "3|12"])
COLUMNS = {"GENRE": GENRE, "PRICE": PRICE, "RATING": RATING}
N_ITEMS = len(GENRE)


def allowed(
    expression: str,
    values: Mapping[str, str] | None = None,
    *,
    history: UserInteractions | None = None,
    user: Mapping[str, str | float] | None = None,
    current_item: int | None = None,
    columns: Mapping[str, np.ndarray | PreparedText] = COLUMNS,
) -> list[int]:
    """The catalog indices the filter lets through."""
    first = next(iter(columns.values()))
    n_items = len(first.values if isinstance(first, PreparedText) else first)
    mask = item_mask(
        parse_filter(expression),
        n_items=n_items,
        item_columns=columns,
        history=history,
        user=user,
        current_item=current_item,
        filter_values=values,
    )
    assert mask.dtype == bool and mask.shape == (n_items,)
    return [int(i) for i in np.flatnonzero(mask)]


def events(*pairs: tuple[int, str]) -> UserInteractions:
    """A user's history, oldest first, from (item, event type) pairs."""
    return UserInteractions(
        items=np.array([item for item, _ in pairs], dtype=np.int64),
        event_types=np.array([event for _, event in pairs], dtype=np.str_),
    )


def rejected(expression: str, values: Mapping[str, str] | None = None, **kwargs: Any) -> str:
    with pytest.raises(InvalidInputException) as info:
        allowed(expression, values, **kwargs)
    return info.value.message


# --- filterValues -------------------------------------------------------------------------------------------


def test_filter_values_documented_forms() -> None:
    # Given the forms the DG writes: a quoted list, a bare number, a quoted number
    parsed = parse_filter_values({"GENRES": '"comedy","drama"', "PRICE": "10", "AGE": '"18"'})
    # Then each becomes a tuple of plain strings
    assert parsed == {"GENRES": ("comedy", "drama"), "PRICE": ("10",), "AGE": ("18",)}


def test_filter_values_whitespace_escapes_and_commas_inside_quotes() -> None:
    parsed = parse_filter_values({"A": ' "x, y" , "say \\"hi\\"" ,"back\\\\slash"', "B": " 2.5 "})
    assert parsed == {"A": ("x, y", 'say "hi"', "back\\slash"), "B": ("2.5",)}
    assert parse_filter_values(None) == {}
    assert parse_filter_values({}) == {}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('"comedy', "not closed"),
        ('"comedy",', "empty"),
        ('"comedy",,"drama"', "empty"),
        ('"comedy"drama', "after a quoted value"),
        ('comedy"', "not balanced"),
        ("", "no value"),
        ("   ", "empty"),
    ],
)
def test_malformed_filter_values_name_the_parameter(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidInputException) as info:
        parse_filter_values({"GENRES": raw})
    assert "GENRES" in info.value.message
    assert fragment in info.value.message


def test_filter_values_limits() -> None:
    with pytest.raises(InvalidInputException, match="parameter name"):
        parse_filter_values({"bad-name": "1"})
    with pytest.raises(InvalidInputException, match="maximum of 25"):
        parse_filter_values({f"P{i}": "1" for i in range(26)})
    with pytest.raises(InvalidInputException, match="LONG"):
        parse_filter_values({"LONG": '"' + "x" * 1000 + '"'})


def test_malformed_value_fails_the_request() -> None:
    # Given a malformed value for a parameter the filter uses, the request fails instead of filtering wrongly
    message = rejected("INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)", {"GENRE": '"comedy'})
    assert "GENRE" in message


# --- IN / NOT IN --------------------------------------------------------------------------------------------


def test_in_is_exact_and_matches_any_of_a_multi_value() -> None:
    # Then the multi-valued item 2 matches through one of its values; "Comedy" (case) and the missing item do not
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("comedy")') == [0, 2]
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("drama", "horror")') == [1, 2, 3]


def test_not_in_matches_when_none_of_the_values_is_listed() -> None:
    # Then item 2 (comedy|drama) fails because one value is listed, and the item without a genre passes
    assert allowed('INCLUDE ItemID WHERE Items.GENRE NOT IN ("comedy")') == [1, 3, 4, 5]


def test_in_with_a_parameter_list() -> None:
    assert allowed("INCLUDE ItemID WHERE Items.GENRE IN ($G)", {"G": '"horror","Comedy"'}) == [3, 5]
    assert allowed("EXCLUDE ItemID WHERE Items.GENRE IN ($G)", {"G": '"drama"'}) == [0, 3, 4, 5]


def test_list_values_that_cannot_be_one_value_match_nothing() -> None:
    # A listed "comedy|drama" is not one value, and "" is not a value: neither matches (not even the missing genre)
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("comedy|drama", "")') == []


def test_in_on_a_numeric_column_compares_numbers() -> None:
    assert allowed('INCLUDE ItemID WHERE Items.PRICE IN ("10", "15.0", "cheap")') == [1, 2, 5]
    # NaN (item 3) is never in a list, so NOT IN lets it through
    assert allowed('INCLUDE ItemID WHERE Items.PRICE NOT IN ("10")') == [0, 2, 3, 4]


@pytest.mark.parametrize("n_values", [1, 3, 12])
def test_in_agrees_with_a_plain_python_reading_on_random_multi_values(n_values: int) -> None:
    # Given a catalog of random multi-values (up to four each, some missing) and lists short and long
    rng = np.random.default_rng(n_values)
    vocabulary = [f"g{i}" for i in range(20)]
    genres = np.array(["|".join(rng.choice(vocabulary, size=rng.integers(0, 5), replace=False)) for _ in range(500)])
    listed = [str(v) for v in rng.choice(vocabulary, size=n_values, replace=False)]
    values = {"G": ",".join(f'"{v}"' for v in listed)}
    # When IN and NOT IN are evaluated
    got_in = allowed("INCLUDE ItemID WHERE Items.G IN ($G)", values, columns={"G": genres})
    got_not_in = allowed("INCLUDE ItemID WHERE Items.G NOT IN ($G)", values, columns={"G": genres})
    # Then they match "any value listed" and its complement exactly
    expected = [i for i, g in enumerate(genres) if set(str(g).split("|")) & set(listed)]
    assert got_in == expected
    assert got_not_in == sorted(set(range(len(genres))) - set(expected))
    # And the runtime's prepared form of the column gives the same answers
    prepared = {"G": PreparedText(genres)}
    assert allowed("INCLUDE ItemID WHERE Items.G IN ($G)", values, columns=prepared) == expected
    assert allowed("INCLUDE ItemID WHERE Items.G NOT IN ($G)", values, columns=prepared) == got_not_in


@pytest.mark.parametrize("expression", [
    'INCLUDE ItemID WHERE Items.GENRE IN ("comedy")',
    'INCLUDE ItemID WHERE Items.GENRE NOT IN ("comedy", "horror")',
    'INCLUDE ItemID WHERE Items.GENRE IN ("comedy|drama", "")',
    'INCLUDE ItemID WHERE Items.RATING = 10 OR Items.GENRE IN ("drama")',
    'INCLUDE ItemID WHERE Items.RATING >= 7',
    'INCLUDE ItemID WHERE Items.GENRE IN CurrentItem.GENRE',
])
def test_prepared_text_columns_answer_as_plain_ones(expression: str) -> None:
    prepared = {"GENRE": PreparedText(GENRE), "PRICE": PRICE, "RATING": PreparedText(RATING)}
    assert allowed(expression, current_item=2, columns=prepared) == allowed(expression, current_item=2)


# --- Comparisons --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "expected"),
    [("<", [0]), ("<=", [0, 1, 5]), ("=", [1, 5]), (">=", [1, 2, 4, 5]), (">", [2, 4])],
)
def test_numeric_comparisons_skip_missing_values(op: str, expected: list[int]) -> None:
    # Item 3 has no price: it never matches, whichever way the comparison goes
    assert allowed(f"INCLUDE ItemID WHERE Items.PRICE {op} 10") == expected
    assert allowed(f"INCLUDE ItemID WHERE Items.PRICE {op} $P", {"P": "10"}) == expected
    assert allowed(f"INCLUDE ItemID WHERE Items.PRICE {op} $P", {"P": '"10"'}) == expected


def test_exclude_by_comparison_keeps_missing_values() -> None:
    # EXCLUDE removes what matches; an item with no price never matches, so it stays
    assert allowed("EXCLUDE ItemID WHERE Items.PRICE >= 10") == [0, 3]


def test_comparison_parameter_must_be_one_number() -> None:
    assert "P" in rejected("INCLUDE ItemID WHERE Items.PRICE <= $P", {"P": '"cheap"'})
    assert "exactly one value" in rejected("INCLUDE ItemID WHERE Items.PRICE <= $P", {"P": '"1","2"'})


def test_comparisons_on_a_categorical_column_read_its_values_as_numbers() -> None:
    # "x" and the missing value never match; "10.0" equals 10; "3|12" matches through either of its values
    assert allowed("INCLUDE ItemID WHERE Items.RATING >= 10") == [0, 4, 5]
    assert allowed("INCLUDE ItemID WHERE Items.RATING = 10") == [0, 4]
    assert allowed("INCLUDE ItemID WHERE Items.RATING < 5") == [5]


def test_equals_on_a_categorical_column_compares_strings() -> None:
    assert allowed("INCLUDE ItemID WHERE Items.GENRE = $G", {"G": '"drama"'}) == [1, 2]
    # an ordered comparison still needs a number
    assert "G" in rejected("INCLUDE ItemID WHERE Items.GENRE > $G", {"G": '"drama"'})


# --- AND / OR and | ------------------------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    # A OR B AND C  ==  A OR (B AND C): the cheap item 0 passes on A alone, whatever its genre
    got = allowed('INCLUDE ItemID WHERE Items.PRICE < 6 OR Items.GENRE IN ("drama") AND Items.PRICE > 12')
    assert got == [0, 2]
    # ((A OR B) AND C) would have dropped item 0; C AND B OR A gives the same answer as the first reading
    assert allowed('INCLUDE ItemID WHERE Items.PRICE > 12 AND Items.GENRE IN ("drama") OR Items.PRICE < 6') == got


def test_and_and_or_chains() -> None:
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("comedy") AND Items.PRICE > 1 AND Items.PRICE < 10') == [0]
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("horror") OR Items.PRICE = 20 OR Items.PRICE = 5') == [0, 3, 4]


def test_include_parts_are_unioned() -> None:
    got = allowed('INCLUDE ItemID WHERE Items.GENRE IN ("horror") | INCLUDE ItemID WHERE Items.PRICE > 16')
    assert got == [3, 4]


def test_exclude_parts_are_unioned() -> None:
    got = allowed('EXCLUDE ItemID WHERE Items.GENRE IN ("horror") | EXCLUDE ItemID WHERE Items.PRICE > 16')
    assert got == [0, 1, 2, 5]


def test_include_minus_exclude_in_either_order() -> None:
    include = 'INCLUDE ItemID WHERE Items.GENRE IN ("comedy", "drama")'
    exclude = "EXCLUDE ItemID WHERE Items.PRICE >= 15"
    assert allowed(f"{include} | {exclude}") == [0, 1]
    assert allowed(f"{exclude} | {include}") == [0, 1]


# --- Interactions -------------------------------------------------------------------------------------------


def test_exclude_interacted_items_case_insensitively() -> None:
    # Given a user who CLICKED item 1, Streamed item 3 and bought item 4
    history = events((1, "CLICK"), (3, "Stream"), (4, "buy"))
    # Then event types match whatever their case
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")', history=history) == [
        0,
        2,
        4,
        5,
    ]
    assert allowed('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("BUY")', history=history) == [4]


def test_wildcard_and_not_in_on_event_types() -> None:
    history = events((1, "click"), (3, "stream"), (1, "buy"))
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', history=history) == [0, 2, 4, 5]
    # NOT IN: items with an event of another type (item 1 also has a buy)
    assert allowed('INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("click")', history=history) == [1, 3]
    # a parameter value "*" is the wildcard too
    by_parameter = allowed("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($E)", {"E": '"*"'}, history=history)
    assert by_parameter == [0, 2, 4, 5]


def test_interaction_conditions_combine_per_item() -> None:
    history = events((1, "click"), (1, "buy"), (2, "click"), (3, "buy"))
    both = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") AND Interactions.EVENT_TYPE IN ("buy")'
    either = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") OR Interactions.EVENT_TYPE IN ("buy")'
    assert allowed(both, history=history) == [1]
    assert allowed(either, history=history) == [1, 2, 3]


def test_cold_user_has_no_events() -> None:
    assert allowed('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")') == []
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")') == list(range(N_ITEMS))
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', history=events()) == list(range(N_ITEMS))


def test_only_the_most_recent_events_per_event_type_count() -> None:
    # Given an old click on item 0, then 100 clicks (in any case) on item 1, and an even older purchase of item 2
    limit = MAX_INTERACTIONS_PER_EVENT_TYPE
    history = events((2, "buy"), (0, "click"), *[(1, "CLICK" if i % 2 else "click") for i in range(limit)])
    # Then the click on item 0 has dropped out of the window, but the purchase is the newest of its own type
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "buy")', history=history) == [0, 3, 4, 5]
    # And with one click fewer, item 0 is back in the window
    shorter = events((2, "buy"), (0, "click"), *[(1, "click") for _ in range(limit - 1)])
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', history=shorter) == [2, 3, 4, 5]


def test_events_on_unknown_items_are_ignored() -> None:
    history = events((-1, "click"), (N_ITEMS + 3, "click"), (2, "click"))
    assert allowed('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', history=history) == [2]


def test_items_and_interactions_parts_together() -> None:
    # Comedies the user has not watched yet
    history = events((0, "watch"))
    got = allowed(
        'INCLUDE ItemID WHERE Items.GENRE IN ("comedy") | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")',
        history=history,
    )
    assert got == [2]


# --- Parameters ---------------------------------------------------------------------------------------------


def test_missing_include_parameter_is_an_error_naming_it() -> None:
    message = rejected("INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) AND Items.PRICE < $MAX", {"GENRE": '"drama"'})
    assert "$MAX" in message and "$GENRE" not in message
    # the IF clause's parameters count too, even when the IF would be false
    assert "$AGE" in rejected("INCLUDE ItemID WHERE Items.PRICE < 9 IF CurrentUser.AGE > $AGE", user={"AGE": 1.0})


def test_missing_exclude_parameter_skips_that_whole_part() -> None:
    # Given an EXCLUDE part whose second condition has no value, and another EXCLUDE part that is complete
    expression = (
        'EXCLUDE ItemID WHERE Items.GENRE IN ("comedy") AND Items.PRICE > $MIN | EXCLUDE ItemID WHERE Items.PRICE > 16'
    )
    # Then only the complete part filters: comedies are not excluded wholesale
    assert allowed(expression) == [0, 1, 2, 3, 5]
    # And with the value both parts apply
    assert allowed(expression, {"MIN": "12"}) == [0, 1, 3, 5]


def test_unused_filter_values_are_ignored() -> None:
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("horror")', {"OTHER": '"x"'}) == [3]


# --- IF CurrentUser -----------------------------------------------------------------------------------------


def test_if_clause_applies_the_expression_only_to_matching_users() -> None:
    expression = (
        'EXCLUDE ItemID WHERE Items.GENRE IN ("horror") IF CurrentUser.AGE < 18 AND CurrentUser.TIER IN ("kid")'
    )
    assert allowed(expression, user={"AGE": 12.0, "TIER": "kid|free"}) == [0, 1, 2, 4, 5]
    # one IF condition false (AND), the user's metadata missing, or no user at all: the part is skipped
    assert allowed(expression, user={"AGE": 30.0, "TIER": "kid"}) == list(range(N_ITEMS))
    assert allowed(expression, user={"AGE": float("nan"), "TIER": "kid"}) == list(range(N_ITEMS))
    assert allowed(expression, user={"TIER": "kid"}) == list(range(N_ITEMS))
    assert allowed(expression, user=None) == list(range(N_ITEMS))


def test_skipped_include_part_does_not_restrict() -> None:
    expression = 'INCLUDE ItemID WHERE Items.GENRE IN ("comedy") IF CurrentUser.SEGMENT = $SEG'
    assert allowed(expression, {"SEG": "1"}, user={"SEGMENT": 1}) == [0, 2]
    assert allowed(expression, {"SEG": "1"}, user={"SEGMENT": 2}) == list(range(N_ITEMS))


# --- CurrentItem --------------------------------------------------------------------------------------------


def test_current_item_values() -> None:
    # Given the current item 2 (comedy|drama, price 15): cheaper items sharing a genre
    expression = "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE"
    assert allowed(expression, current_item=2) == [0, 1]
    # With the current item 1 (drama, 10) nothing cheaper shares its genre
    assert allowed(expression, current_item=1) == []


def test_current_item_with_a_missing_value_matches_nothing() -> None:
    assert allowed("INCLUDE ItemID WHERE Items.GENRE IN CurrentItem.GENRE", current_item=4) == []
    assert allowed("INCLUDE ItemID WHERE Items.PRICE >= CurrentItem.PRICE", current_item=3) == []


def test_current_item_is_required() -> None:
    assert "CurrentItem.PRICE" in rejected("EXCLUDE ItemID WHERE Items.PRICE > CurrentItem.PRICE")


# --- Fields and targets -------------------------------------------------------------------------------------


def test_unknown_field_is_an_error() -> None:
    message = rejected('INCLUDE ItemID WHERE Items.COLOUR IN ("red")')
    assert "Items.COLOUR" in message and "GENRE" in message


def test_field_names_fall_back_to_a_case_insensitive_match() -> None:
    assert allowed('INCLUDE ItemID WHERE Items.genre IN ("horror")') == [3]


def test_wrong_target_is_an_error() -> None:
    assert "ItemID" in rejected('INCLUDE UserID WHERE Users.TIER IN ("a")')
    with pytest.raises(InvalidInputException, match="UserID"):
        user_mask(
            parse_filter('INCLUDE ItemID WHERE Items.GENRE IN ("a")'),
            n_users=1,
            user_columns={},
            user_event_types=None,
            filter_values=None,
        )


# --- UserID filters -----------------------------------------------------------------------------------------

TIER = np.array(["gold", "silver|gold", "bronze", ""])
AGE = np.array([34.0, 17.0, np.nan, 61.0])
USER_EVENTS = [frozenset({"Click"}), frozenset({"buy", "click"}), frozenset(), frozenset({"RATE"})]


def users(expression: str, values: Mapping[str, str] | None = None, *, with_events: bool = True) -> list[int]:
    mask = user_mask(
        parse_filter(expression),
        n_users=len(TIER),
        user_columns={"TIER": TIER, "AGE": AGE},
        user_event_types=USER_EVENTS if with_events else None,
        filter_values=values,
    )
    assert mask.dtype == bool and mask.shape == (len(TIER),)
    return [int(i) for i in np.flatnonzero(mask)]


def test_user_fields() -> None:
    assert users("INCLUDE UserID WHERE Users.TIER IN ($T)", {"T": '"gold"'}) == [0, 1]
    assert users("EXCLUDE UserID WHERE Users.AGE < $AGE", {"AGE": "18"}) == [0, 2, 3]
    assert users('INCLUDE UserID WHERE Users.TIER NOT IN ("gold") AND Users.AGE > 40') == [3]


def test_user_event_types() -> None:
    assert users('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("CLICK")') == [0, 1]
    assert users('EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click")') == [2, 3]
    assert users('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("*")') == [0, 1, 3]
    assert users('INCLUDE UserID WHERE Interactions.EVENT_TYPE NOT IN ("click")') == [1, 3]
    assert users('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("*")', with_events=False) == []


def test_user_parts_combine_and_parameters() -> None:
    expression = 'INCLUDE UserID WHERE Users.TIER IN ("gold") | EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ($E)'
    assert users(expression, {"E": '"buy"'}) == [0]
    assert users(expression) == [0, 1]  # the EXCLUDE part has no value: skipped
    with pytest.raises(InvalidInputException, match=r"\$T"):
        users("INCLUDE UserID WHERE Users.TIER IN ($T)")
