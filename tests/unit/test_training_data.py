"""Tests for turning dataset snapshots into training data: event filters, weights, vocabularies, minimum data."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tailor.adapters.memory import MemoryBlobStore
from tailor.imports import import_csv
from tailor.schemas import Field, parse_schema
from tailor.snapshot import Column, Snapshot, column_values
from tailor.training.base import InteractionData, TrainingFailed
from tailor.training.data import (
    SMALL_DATA_HINT,
    BuiltInteractions,
    EventOptions,
    build,
    check_minimum,
    describe_shortfall,
    event_weight,
    options_from_solution,
    parse_event_weights,
    recent_history,
)

Row = tuple[str, str, int, str | None, float | None]  # USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE

INTERACTION_FIELDS = (
    Field("USER_ID", "string"),
    Field("ITEM_ID", "string"),
    Field("TIMESTAMP", "long"),
    Field("EVENT_TYPE", "string", nullable=True),
    Field("EVENT_VALUE", "float", nullable=True),
)


def strings(values: list[str | None], vocab: list[str] | None = None) -> Column:
    """A string column; `vocab` lets a test choose the dictionary order (and leave unused entries in it)."""
    vocab = vocab if vocab is not None else list(dict.fromkeys(v for v in values if v is not None))
    codes = [-1 if v is None else vocab.index(v) for v in values]
    return Column(np.array(codes, dtype=np.int32), vocab=np.array(vocab, dtype=np.str_))


def numbers(values: list, dtype: type) -> Column:
    mask = np.array([v is None for v in values], dtype=bool)
    data: np.ndarray = np.array([0 if v is None else v for v in values], dtype=dtype)
    return Column(data, mask=mask)


def interactions(rows: list[Row], *, with_type: bool = True, with_value: bool = True) -> Snapshot:
    users, items, times, types, values = (list(c) for c in zip(*rows, strict=True))
    columns = {
        "USER_ID": strings(users),
        "ITEM_ID": strings(items),
        "TIMESTAMP": Column(np.array(times, dtype=np.int64)),
        "EVENT_TYPE": strings(types),
        "EVENT_VALUE": numbers(values, np.float64),
    }
    fields = tuple(
        f
        for f in INTERACTION_FIELDS
        if (with_type or f.name != "EVENT_TYPE") and (with_value or f.name != "EVENT_VALUE")
    )
    return Snapshot(fields, {f.name: columns[f.name] for f in fields}, len(rows))


def events(data: InteractionData) -> list[tuple[str, str, int]]:
    """The events as (user id, item id, timestamp), decoded through the vocabularies."""
    return [
        (str(data.user_ids[u]), str(data.item_ids[i]), int(t))
        for u, i, t in zip(data.users, data.items, data.timestamps, strict=True)
    ]


def synthetic(n_users: int, per_user: int, extra_single_users: int = 0) -> InteractionData:
    """`n_users` users with `per_user` events each, plus users with one event each."""
    rows: list[Row] = [(f"u{u}", f"i{k % 7}", k, "click", None) for u in range(n_users) for k in range(per_user)]
    rows += [(f"s{u}", "i0", 0, "click", None) for u in range(extra_single_users)]
    return build(interactions(rows), None, None, EventOptions())


ROWS: list[Row] = [
    ("u2", "b", 30, "click", 1.0),
    ("u1", "a", 20, "purchase", 5.0),
    ("u2", "a", 10, "view", None),
    ("u1", "c", 20, "click", 0.5),
    ("u1", "b", 5, "view", 2.0),
    ("u3", "c", 1, "purchase", None),
]


# ---- vocabularies and order ----------------------------------------------------------------------------------


def test_ids_round_trip_through_the_indices() -> None:
    # Given the interactions, with no filter
    snap = interactions(ROWS)

    # When
    data = build(snap, None, None, EventOptions())

    # Then every event decodes back to a row of the dataset, and the vocabularies are sorted ids
    assert sorted(events(data)) == sorted((u, i, t) for u, i, t, _, _ in ROWS)
    assert data.user_ids.tolist() == ["u1", "u2", "u3"]
    assert data.item_ids.tolist() == ["a", "b", "c"]
    assert (data.users.dtype, data.items.dtype, data.timestamps.dtype) == (np.int32, np.int32, np.int64)
    assert data.weights.dtype == np.float32 and data.event_types.dtype == np.int16
    assert isinstance(data, InteractionData) and data.n_events == len(ROWS)


def test_vocabulary_does_not_depend_on_the_snapshot_encoding() -> None:
    # Given a snapshot whose dictionaries are in no order and hold a value no row uses
    snap = Snapshot(
        INTERACTION_FIELDS[:3],
        {
            "USER_ID": strings(["zed", "amy", "zed"], vocab=["zed", "ghost", "amy"]),
            "ITEM_ID": strings(["x", "y", "x"], vocab=["y", "x"]),
            "TIMESTAMP": Column(np.array([3, 2, 1], dtype=np.int64)),
        },
        3,
    )

    # When
    data = build(snap, None, None, EventOptions())

    # Then the unused id is gone and the ids are sorted
    assert data.user_ids.tolist() == ["amy", "zed"]
    assert data.item_ids.tolist() == ["x", "y"]
    assert events(data) == [("amy", "y", 2), ("zed", "x", 1), ("zed", "x", 3)]


def test_events_sort_by_user_then_time_then_row_order() -> None:
    # Given u1 has two events at the same time, c before a in the dataset
    rows: list[Row] = [
        ("u1", "c", 20, None, None),
        ("u2", "z", 1, None, None),
        ("u1", "a", 20, None, None),
        ("u1", "b", 5, None, None),
    ]

    # When
    data = build(interactions(rows), None, None, EventOptions())

    # Then
    assert events(data) == [("u1", "b", 5), ("u1", "c", 20), ("u1", "a", 20), ("u2", "z", 1)]


def test_event_types_are_sorted_names_and_minus_one_without_a_column() -> None:
    data = build(interactions(ROWS), None, None, EventOptions())
    assert data.event_type_names == ("click", "purchase", "view")
    names = [data.event_type_names[k] for k in data.event_types]
    assert names == ["view", "purchase", "click", "view", "click", "purchase"]  # u1: 5, 20, 20; u2: 10, 30; u3

    without = build(interactions(ROWS, with_type=False), None, None, EventOptions())
    assert without.event_type_names == ()
    assert without.event_types.tolist() == [-1] * len(ROWS)
    assert without.weights.tolist() == [1.0] * len(ROWS)


def test_a_null_event_type_is_minus_one_and_weighs_one() -> None:
    rows: list[Row] = [("u1", "a", 1, None, None), ("u1", "b", 2, "buy", None)]
    data = build(interactions(rows), None, None, EventOptions(weights={"buy": 3.0}))
    assert data.event_types.tolist() == [-1, 0]
    assert data.event_type_names == ("buy",)
    assert data.weights.tolist() == [1.0, 3.0]


# ---- filters and weights -------------------------------------------------------------------------------------


def test_event_type_filter_keeps_only_that_type() -> None:
    data = build(interactions(ROWS), None, None, EventOptions(event_type="purchase"))

    assert events(data) == [("u1", "a", 20), ("u3", "c", 1)]
    assert data.event_type_names == ("purchase",)
    assert data.event_types.tolist() == [0, 0]
    # Items and users without a kept event are not in the vocabularies
    assert data.user_ids.tolist() == ["u1", "u3"]
    assert data.item_ids.tolist() == ["a", "c"]
    assert isinstance(data, BuiltInteractions) and data.filtering is not None
    assert data.filtering.describe() == "(filter: eventType 'purchase' kept 2 of 6)"


def test_event_type_filter_that_keeps_nothing_names_the_filter_and_the_types() -> None:
    with pytest.raises(TrainingFailed) as failed:
        build(interactions(ROWS), None, None, EventOptions(event_type="Purchase"))

    reason = failed.value.reason
    assert "eventType 'Purchase' kept 0 of 6" in reason
    assert "'click', 'purchase', 'view'" in reason
    assert "did you mean 'purchase'?" in reason


def test_threshold_keeps_values_at_or_above_and_drops_nulls() -> None:
    data = build(interactions(ROWS), None, None, EventOptions(event_value_threshold=1.0))

    # 5.0, 1.0 and 2.0 pass; 0.5 and the two events with no value do not
    assert sorted(events(data)) == [("u1", "a", 20), ("u1", "b", 5), ("u2", "b", 30)]
    assert isinstance(data, BuiltInteractions) and data.filtering is not None
    assert data.filtering.describe() == "(filter: eventValueThreshold 1 kept 3 of 6)"


def test_threshold_that_keeps_nothing_says_the_largest_value() -> None:
    with pytest.raises(TrainingFailed, match=r"eventValueThreshold 10 kept 0 of 6\. The largest EVENT_VALUE .* is 5"):
        build(interactions(ROWS), None, None, EventOptions(event_value_threshold=10))


def test_filters_run_in_turn_and_the_report_names_each() -> None:
    data = build(interactions(ROWS), None, None, EventOptions(event_type="click", event_value_threshold=0.75))
    assert events(data) == [("u2", "b", 30)]
    assert isinstance(data, BuiltInteractions) and data.filtering is not None
    assert data.filtering.describe() == (
        "(filters: eventType 'click' kept 2 of 6; eventValueThreshold 0.75 kept 1 of 2)"
    )


def test_events_config_sets_per_type_thresholds_and_weights() -> None:
    # Given a solution whose eventsConfig filters and weighs purchases and weighs views
    solution = {
        "solutionConfig": {
            "eventsConfig": {
                "eventParametersList": [
                    {"eventType": "purchase", "eventValueThreshold": 3, "weight": 1.0},
                    {"eventType": "view", "weight": 0.2},
                    {"eventType": "never-seen", "eventValueThreshold": 1.0, "weight": 0.5},
                ]
            }
        }
    }
    options = options_from_solution(solution)
    assert options == EventOptions(
        weights={"purchase": 1.0, "view": 0.2, "never-seen": 0.5},
        per_type_thresholds={"purchase": 3.0, "never-seen": 1.0},
    )

    # When
    data = build(interactions(ROWS), None, None, options)

    # Then u3's purchase (no value) is dropped, u1's (5.0) kept; clicks and views are not filtered
    assert sorted(events(data)) == sorted((u, i, t) for u, i, t, _, _ in ROWS if u != "u3")
    weight_of = {data.event_type_names[k]: float(w) for k, w in zip(data.event_types, data.weights, strict=True)}
    assert weight_of == {"click": 1.0, "purchase": 1.0, "view": pytest.approx(0.2)}


def test_options_read_event_type_threshold_and_event_weights() -> None:
    solution = {
        "eventType": "click",
        "solutionConfig": {
            "eventValueThreshold": "0.5",
            "eventsConfig": {"eventParametersList": [{"eventType": "click", "weight": 0.5}]},
            "algorithmHyperParameters": {"event_weights": "purchase:5, click:2", "hidden_dimension": "64"},
        },
    }
    # event_weights overrides eventsConfig's weight for click
    assert options_from_solution(solution) == EventOptions(
        event_type="click", event_value_threshold=0.5, weights={"click": 2.0, "purchase": 5.0}
    )
    assert options_from_solution({"name": "s"}) == EventOptions()
    assert options_from_solution({"eventType": "", "solutionConfig": {"eventValueThreshold": ""}}) == EventOptions()


@pytest.mark.parametrize("threshold", ["abc", "nan", "inf", "1,5", True])
def test_a_bad_event_value_threshold_fails(threshold: object) -> None:
    with pytest.raises(TrainingFailed, match="eventValueThreshold"):
        options_from_solution({"solutionConfig": {"eventValueThreshold": threshold}})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"weight": 0.5}, r"\[0\] has no eventType"),
        ({"eventType": "a", "weight": 1.5}, "weight 1.5; expected a number from 0 to 1"),
        ({"eventType": "a", "eventValueThreshold": "3"}, "eventValueThreshold '3'; expected a number"),
    ],
)
def test_a_bad_events_config_entry_fails(entry: dict, message: str) -> None:
    solution = {"solutionConfig": {"eventsConfig": {"eventParametersList": [entry]}}}
    with pytest.raises(TrainingFailed, match=message):
        options_from_solution(solution)


def test_events_config_may_not_repeat_a_type() -> None:
    entries = [{"eventType": "a", "weight": 0.1}, {"eventType": "a", "weight": 0.2}]
    with pytest.raises(TrainingFailed, match="'a' more than once"):
        options_from_solution({"solutionConfig": {"eventsConfig": {"eventParametersList": entries}}})


def test_event_weights_parse() -> None:
    assert parse_event_weights("purchase:5,click:1") == {"purchase": 5.0, "click": 1.0}
    assert parse_event_weights(" purchase : 2.5 , like:0 ") == {"purchase": 2.5, "like": 0.0}
    assert parse_event_weights("ns:buy:3") == {"ns:buy": 3.0}  # the last ':' splits
    assert parse_event_weights("") == {}


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("purchase=5", "'purchase=5' is not EVENT_TYPE:WEIGHT"),
        ("purchase:5,,click:1", "empty part"),
        ("purchase:5,click:", "'click:' is not EVENT_TYPE:WEIGHT"),
        (":3", "':3' is not EVENT_TYPE:WEIGHT"),
        ("click:lots", "'click:lots' has weight 'lots', which is not a number"),
        ("click:-1", "'click:-1' has weight '-1'; weights are numbers >= 0"),
        ("click:nan", "'click:nan' has weight 'nan'"),
        ("click:1,click:2", "event type 'click' is given more than once"),
        (5, "must be a string"),
    ],
)
def test_event_weights_errors_name_the_bad_part(text: object, bad_part: str) -> None:
    with pytest.raises(TrainingFailed) as failed:
        options_from_solution({"solutionConfig": {"algorithmHyperParameters": {"event_weights": text}}})
    assert "event_weights" in failed.value.reason
    assert bad_part in failed.value.reason


def test_weights_apply_per_type_and_unlisted_types_weigh_one() -> None:
    data = build(interactions(ROWS), None, None, EventOptions(weights={"purchase": 5.0, "view": 0.0}))
    weight_of = {data.event_type_names[k]: float(w) for k, w in zip(data.event_types, data.weights, strict=True)}
    assert weight_of == {"click": 1.0, "purchase": 5.0, "view": 0.0}
    assert data.n_events == len(ROWS)  # a weight of 0 keeps the event


@pytest.mark.parametrize(
    ("options", "with_type", "with_value", "message"),
    [
        (EventOptions(event_type="click"), False, True, "eventType is 'click', but .* no EVENT_TYPE field"),
        (EventOptions(weights={"click": 2.0}), False, True, "no EVENT_TYPE field"),
        (EventOptions(event_value_threshold=1.0), True, False, "eventValueThreshold is 1, but .* no EVENT_VALUE"),
        (EventOptions(per_type_thresholds={"click": 1.0}), True, False, "no EVENT_VALUE field"),
    ],
)
def test_a_filter_on_a_missing_field_fails(
    options: EventOptions, with_type: bool, with_value: bool, message: str
) -> None:
    snap = interactions(ROWS, with_type=with_type, with_value=with_value)
    with pytest.raises(TrainingFailed, match=message):
        build(snap, None, None, options)


def test_an_empty_interactions_dataset_fails() -> None:
    with pytest.raises(TrainingFailed, match="no rows"):
        build(Snapshot.empty(INTERACTION_FIELDS), None, None, EventOptions())


# ---- items ---------------------------------------------------------------------------------------------------

ITEM_FIELDS = (
    Field("ITEM_ID", "string"),
    Field("GENRES", "string", nullable=True, categorical=True),
    Field("PRICE", "double", nullable=True),
    Field("YEAR", "int"),
    Field("IN_STOCK", "boolean", nullable=True),
    Field("CREATION_TIMESTAMP", "long", nullable=True),
)


def catalog(rows: list[tuple]) -> Snapshot:
    ids, genres, prices, years, stock, created = (list(c) for c in zip(*rows, strict=True))
    return Snapshot(
        ITEM_FIELDS,
        {
            "ITEM_ID": strings(ids),
            "GENRES": strings(genres),
            "PRICE": numbers(prices, np.float64),
            "YEAR": Column(np.array(years, dtype=np.int64)),
            "IN_STOCK": Column(np.array([-1 if s is None else int(s) for s in stock], dtype=np.int8)),
            "CREATION_TIMESTAMP": numbers(created, np.int64),
        },
        len(rows),
    )


def test_cold_items_from_the_items_dataset_come_after_the_warm_ones() -> None:
    # Given items "z" and "0" with no events, and "b" with events
    items = catalog(
        [
            ("z", "drama", 1.0, 2001, True, 100),
            ("b", "comedy|drama", None, 2002, None, None),
            ("0", None, 3.5, 2003, False, 300),
        ]
    )

    # When
    data = build(interactions(ROWS), items, None, EventOptions())

    # Then the warm items (sorted) come first, then the cold ones (sorted); cold items have no events
    assert data.item_ids.tolist() == ["a", "b", "c", "0", "z"]
    assert set(data.items.tolist()) == {0, 1, 2}


def test_item_features_align_with_the_item_vocabulary() -> None:
    items = catalog(
        [
            ("z", "drama", 1.0, 2001, True, 100),
            ("b", "comedy|drama", None, 2002, None, None),
            ("0", None, 3.5, 2003, False, 300),
        ]
    )

    data = build(interactions(ROWS), items, None, EventOptions())

    # item_ids: a, b, c (warm), 0, z (cold); a and c are not in the Items dataset
    features = data.item_features
    assert set(features) == {"GENRES", "PRICE", "YEAR", "IN_STOCK"}
    assert features["GENRES"].tolist() == ["", "comedy|drama", "", "", "drama"]
    assert features["GENRES"].dtype.kind == "U"

    def floats(values: np.ndarray) -> list[float | None]:
        assert values.dtype == np.float64
        return [None if math.isnan(v) else v for v in values.tolist()]

    assert floats(features["PRICE"]) == [None, None, None, 3.5, 1.0]
    assert floats(features["YEAR"]) == [None, 2002.0, None, 2003.0, 2001.0]
    assert floats(features["IN_STOCK"]) == [None, None, None, 0.0, 1.0]
    assert data.item_created is not None
    assert floats(data.item_created) == [None, None, None, 300.0, 100.0]


def test_without_an_items_dataset_there_are_no_features() -> None:
    data = build(interactions(ROWS), None, None, EventOptions())
    assert dict(data.item_features) == {}
    assert data.item_created is None


def test_items_without_creation_timestamp_and_repeated_ids() -> None:
    # Given a hand-made Items snapshot that repeats an id (the later row wins) and has no CREATION_TIMESTAMP
    fields = (Field("ITEM_ID", "string"), Field("GENRES", "string", nullable=True, categorical=True))
    items = Snapshot(fields, {"ITEM_ID": strings(["a", "q", "a"]), "GENRES": strings(["old", "x", "new"])}, 3)

    data = build(interactions(ROWS), items, None, EventOptions())

    assert data.item_ids.tolist() == ["a", "b", "c", "q"]
    assert data.item_features["GENRES"].tolist() == ["new", "", "", "x"]
    assert data.item_created is None


def test_items_filtered_out_of_the_interactions_stay_as_cold_items() -> None:
    items = catalog([("b", "g", 1.0, 1, True, 1)])
    data = build(interactions(ROWS), items, None, EventOptions(event_type="purchase"))
    assert data.item_ids.tolist() == ["a", "c", "b"]  # b has only clicks and views: it is cold here


def test_build_from_imported_csv() -> None:
    # Given datasets imported the way the service imports them
    blobs = MemoryBlobStore()
    blobs.put("s3://b/i.csv", b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu2,i1,5,click\nu1,i2,7,buy\nu1,i1,6,click\n")
    blobs.put("s3://b/items.csv", b"ITEM_ID,GENRES\ni3,a|b\ni1,c\n")
    interaction_schema = parse_schema(
        '{"type":"record","name":"Interactions","fields":[{"name":"USER_ID","type":"string"},'
        '{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"},'
        '{"name":"EVENT_TYPE","type":"string"}],"version":"1.0"}'
    )
    item_schema = parse_schema(
        '{"type":"record","name":"Items","fields":[{"name":"ITEM_ID","type":"string"},'
        '{"name":"GENRES","type":["null","string"],"categorical":true}],"version":"1.0"}'
    )
    snap, _ = import_csv(blobs, "s3://b/i.csv", interaction_schema, "INTERACTIONS", "FULL", None)
    items, _ = import_csv(blobs, "s3://b/items.csv", item_schema, "ITEMS", "FULL", None)
    assert column_values(snap, "USER_ID") == ["u2", "u1", "u1"]

    # When
    data = build(snap, items, None, EventOptions(weights={"buy": 4.0}))

    # Then
    assert events(data) == [("u1", "i1", 6), ("u1", "i2", 7), ("u2", "i1", 5)]
    assert data.weights.tolist() == [1.0, 4.0, 1.0]
    assert data.item_ids.tolist() == ["i1", "i2", "i3"]
    assert data.item_features["GENRES"].tolist() == ["c", "", "a|b"]


# ---- minimum data --------------------------------------------------------------------------------------------


def test_check_minimum_passes_exactly_at_the_limits() -> None:
    # 25 users with 40 events each: 1000 interactions, 25 users with 2 or more
    data = synthetic(n_users=25, per_user=40)
    assert data.n_events == 1000
    check_minimum(data)
    assert describe_shortfall(data) is None


def test_check_minimum_names_too_few_interactions_and_the_filter() -> None:
    # Given 5,001 events of which 412 are purchases by 412 different users
    rows: list[Row] = [(f"u{k}", "i", k, "purchase" if k < 412 else "view", None) for k in range(5001)]
    data = build(interactions(rows), None, None, EventOptions(event_type="purchase"))

    with pytest.raises(TrainingFailed) as failed:
        check_minimum(data)

    assert failed.value.reason == (
        "Training needs at least 1000 interactions after the eventType/eventValueThreshold filters; the dataset "
        "has 412 (filter: eventType 'purchase' kept 412 of 5,001). It also needs at least 25 users with 2 or "
        f"more interactions; found 0. {SMALL_DATA_HINT}"
    )
    assert "allow_small_data=true" in failed.value.reason


def test_check_minimum_names_too_few_users_with_two_interactions() -> None:
    # 7 users with many events, and 1,000 users with one each
    data = synthetic(n_users=7, per_user=200, extra_single_users=1000)
    with pytest.raises(TrainingFailed) as failed:
        check_minimum(data)
    assert failed.value.reason == (
        f"Training needs at least 25 users with 2 or more interactions; found 7. {SMALL_DATA_HINT}"
    )


def test_check_minimum_without_filters_and_custom_limits() -> None:
    data = synthetic(n_users=3, per_user=2)
    reason = describe_shortfall(data, min_interactions=10, min_users_with_two=3)
    assert reason is not None
    assert reason.startswith(
        "Training needs at least 10 interactions after the eventType/eventValueThreshold filters; the dataset has 6. "
    )
    assert "users" not in reason
    check_minimum(data, min_interactions=6, min_users_with_two=3)

    # A plain InteractionData (no filter report) is checked the same way
    plain = InteractionData(**{f.name: getattr(data, f.name) for f in dataclasses.fields(InteractionData)})
    assert describe_shortfall(plain, min_interactions=10, min_users_with_two=3) == reason


def test_recent_history_keeps_each_users_newest_events_per_event_type_in_time_order() -> None:
    # Given user 0 with 150 clicks then 20 buys interleaved at the end, user 1 with no events, user 2 with 3 clicks
    types = [0] * 140 + [1, 0] * 10 + [1] * 10
    n0 = len(types)
    data = InteractionData(
        user_ids=np.array(["a", "b", "c"]), item_ids=np.array([f"i{i}" for i in range(200)]),
        users=np.array([0] * n0 + [2] * 3, dtype=np.int32),
        items=np.array([*range(n0), 5, 6, 7], dtype=np.int32) % 200,
        timestamps=np.arange(n0 + 3, dtype=np.int64), weights=np.ones(n0 + 3, dtype=np.float32),
        event_types=np.array([*types, 0, 0, 0], dtype=np.int16), event_type_names=("click", "buy"))
    history = recent_history(data, per_event_type=100)
    # Then user 0 keeps the newest 100 clicks and all 20 buys, oldest first; user 1 has none; user 2 all 3
    assert history["indptr"].tolist() == [0, 120, 120, 123]
    kept_times = history["timestamps"][:120]
    assert (np.diff(kept_times) > 0).all()
    clicks = kept_times[history["event_types"][:120] == 0]
    assert len(clicks) == 100 and clicks[-1] == n0 - 11  # the last click comes before the final 10 buys
    assert (history["event_types"][:120] == 1).sum() == 20
    assert history["items"][120:].tolist() == [5, 6, 7]


def test_event_weight_weighs_one_event_as_build_weighs_imported_ones() -> None:
    # Given a solution keeping purchases and clicks worth at least 2, with purchases weighing 5
    options = EventOptions(event_value_threshold=None, weights={"purchase": 5.0}, per_type_thresholds={"click": 2.0})
    # Then each event counts as training counts it, and the filtered-out ones not at all
    assert event_weight(options, "purchase", None) == 5.0
    assert event_weight(options, "click", 3.0) == 1.0
    assert event_weight(options, "click", 1.0) is None
    assert event_weight(options, "click", None) is None  # no value never passes a threshold
    assert event_weight(EventOptions(event_type="watch"), "click", 1.0) is None
    assert event_weight(EventOptions(event_value_threshold=0.5), "watch", 0.5) == 1.0
