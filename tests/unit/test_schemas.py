"""Tests for parsing Personalize Avro schemas and checking them against dataset types and domains."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tailor.errors import InvalidInputException
from tailor.schemas import (
    Field,
    Schema,
    check_fits,
    id_field,
    parse_schema,
    reserved_fields,
    schema_to_dict,
)

NS = "com.amazonaws.personalize.schema"

# The Interactions example from the Personalize Developer Guide (EVENT_VALUE float/null, DEVICE nullable).
DG_INTERACTIONS = {
    "type": "record",
    "name": "Interactions",
    "namespace": NS,
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": ["float", "null"]},
        {"name": "LOCATION", "type": "string", "categorical": True},
        {"name": "DEVICE", "type": ["string", "null"], "categorical": True},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "IMPRESSION", "type": "string"},
    ],
    "version": "1.0",
}

# The Items example from the Developer Guide: nullable categorical GENRES with "null" first.
DG_ITEMS = {
    "type": "record",
    "name": "Items",
    "namespace": NS,
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRES", "type": ["null", "string"], "categorical": True},
        {"name": "CREATION_TIMESTAMP", "type": "long"},
    ],
    "version": "1.0",
}

DG_USERS = {
    "type": "record",
    "name": "Users",
    "namespace": NS,
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "AGE", "type": "int"},
        {"name": "GENDER", "type": "string", "categorical": True},
    ],
    "version": "1.0",
}

# Default ECOMMERCE Items schema from the Developer Guide; note the one-member union ["string"].
ECOMMERCE_ITEMS = {
    "type": "record",
    "name": "Items",
    "namespace": NS,
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "PRICE", "type": "float"},
        {"name": "CATEGORY_L1", "type": ["string"], "categorical": True},
    ],
    "version": "1.0",
}

VOD_ITEMS = {
    "type": "record",
    "name": "Items",
    "namespace": NS,
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRES", "type": "string", "categorical": True},
        {"name": "CREATION_TIMESTAMP", "type": "long"},
    ],
    "version": "1.0",
}


def record(*fields: dict[str, Any], name: str = "Test") -> str:
    return json.dumps({"type": "record", "name": name, "namespace": NS, "fields": list(fields)})


def schema_of(*fields: dict[str, Any]) -> Schema:
    return parse_schema(record(*fields))


def rejected(text: str) -> str:
    with pytest.raises(InvalidInputException) as info:
        parse_schema(text)
    return info.value.message


def misfit(schema: Schema | dict[str, Any], dataset_type: str, domain: str | None = None) -> str:
    if isinstance(schema, dict):
        schema = parse_schema(json.dumps(schema))
    with pytest.raises(InvalidInputException) as info:
        check_fits(schema, dataset_type, domain)
    return info.value.message


def with_fields(base: dict[str, Any], *extra: dict[str, Any], drop: str | None = None) -> dict[str, Any]:
    fields = [f for f in base["fields"] if f["name"] != drop]
    return {**base, "fields": fields + list(extra)}


def replaced(base: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    fields = [{**f, **changes} if f["name"] == name else f for f in base["fields"]]
    return {**base, "fields": fields}


INTERACTIONS_MIN: dict[str, Any] = {
    "type": "record",
    "name": "Interactions",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
    ],
}


# --- parse_schema: accepted schemas -----------------------------------------------------------------------


def test_parses_developer_guide_interactions_schema() -> None:
    schema = parse_schema(json.dumps(DG_INTERACTIONS))

    assert schema.name == "Interactions"
    assert schema.field_names == (
        "USER_ID",
        "ITEM_ID",
        "EVENT_TYPE",
        "EVENT_VALUE",
        "LOCATION",
        "DEVICE",
        "TIMESTAMP",
        "IMPRESSION",
    )
    assert schema.field("EVENT_VALUE") == Field("EVENT_VALUE", "float", nullable=True)
    assert schema.field("DEVICE") == Field("DEVICE", "string", nullable=True, categorical=True)
    assert schema.field("TIMESTAMP") == Field("TIMESTAMP", "long")
    assert schema.field("MISSING") is None


def test_null_first_and_null_last_unions_are_both_nullable() -> None:
    schema = schema_of(
        {"name": "A", "type": ["null", "string"], "categorical": True},
        {"name": "B", "type": ["double", "null"]},
    )

    assert schema.field("A") == Field("A", "string", nullable=True, categorical=True)
    assert schema.field("B") == Field("B", "double", nullable=True)


def test_single_member_union_is_not_nullable() -> None:
    schema = parse_schema(json.dumps(ECOMMERCE_ITEMS))

    assert schema.field("CATEGORY_L1") == Field("CATEGORY_L1", "string", categorical=True)


@pytest.mark.parametrize("type_", ["string", "int", "long", "float", "double", "boolean"])
def test_every_primitive_type_is_accepted(type_: str) -> None:
    assert schema_of({"name": "X", "type": type_}).field("X") == Field("X", type_)


def test_textual_default_doc_and_false_flags_are_accepted() -> None:
    schema = schema_of(
        {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True, "default": None},
        {"name": "N", "type": "int", "categorical": False, "default": 0, "doc": "a number"},
    )

    assert schema.field("DESCRIPTION") == Field("DESCRIPTION", "string", nullable=True, textual=True)
    assert schema.field("N") == Field("N", "int")


def test_record_without_namespace_or_version_is_accepted() -> None:
    text = json.dumps({"type": "record", "name": "Users", "fields": [{"name": "USER_ID", "type": "string"}]})

    assert parse_schema(text).field_names == ("USER_ID",)


def test_schema_to_dict_round_trips() -> None:
    schema = parse_schema(json.dumps(DG_INTERACTIONS))

    assert parse_schema(json.dumps(schema_to_dict(schema))) == schema


# --- parse_schema: rejected schemas -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "{", "{'type': 'record'}", "not json"])
def test_invalid_json_is_rejected(text: str) -> None:
    assert "not valid JSON" in rejected(text)


@pytest.mark.parametrize("text", ["[]", '"record"', "42", "null"])
def test_json_that_is_not_an_object_is_rejected(text: str) -> None:
    assert "JSON object" in rejected(text)


def test_type_must_be_record() -> None:
    message = rejected(json.dumps({"type": "enum", "name": "X", "symbols": ["A"]}))

    assert '"type": "record"' in message
    assert '"enum"' in message


def test_missing_type_is_rejected() -> None:
    assert '"type": "record"' in rejected(json.dumps({"name": "X", "fields": [{"name": "A", "type": "int"}]}))


def test_record_needs_a_name() -> None:
    assert '"name"' in rejected(json.dumps({"type": "record", "fields": [{"name": "A", "type": "int"}]}))


def test_record_name_must_be_an_avro_name() -> None:
    doc = {"type": "record", "name": "1bad", "fields": [{"name": "A", "type": "int"}]}

    message = rejected(json.dumps(doc))

    assert '"1bad"' in message


@pytest.mark.parametrize("fields", [None, [], "USER_ID", {"name": "A", "type": "int"}])
def test_fields_must_be_a_non_empty_list(fields: Any) -> None:
    doc: dict[str, Any] = {"type": "record", "name": "X"}
    if fields is not None:
        doc["fields"] = fields

    assert 'non-empty "fields"' in rejected(json.dumps(doc))


@pytest.mark.parametrize("bad", ["1ABC", "A-B", "A B", "", "ÄBC", "A.B"])
def test_field_names_must_follow_avro_rules(bad: str) -> None:
    message = rejected(record({"name": bad, "type": "string"}))

    assert json.dumps(bad) in message
    assert "letters, digits and underscores" in message


def test_field_needs_name_and_type() -> None:
    assert '"name"' in rejected(record({"type": "string"}))
    assert "'A' has no \"type\"" in rejected(record({"name": "A"}))


def test_field_must_be_an_object() -> None:
    assert "#2 must be a JSON object" in rejected(record({"name": "A", "type": "int"}, "B"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "type_",
    [
        {"type": "record", "name": "Inner", "fields": [{"name": "X", "type": "int"}]},
        {"type": "array", "items": "string"},
        {"type": "map", "values": "string"},
        {"type": "enum", "name": "E", "symbols": ["A"]},
        {"type": "fixed", "name": "F", "size": 4},
        ["null", {"type": "array", "items": "string"}],
        "array",
    ],
)
def test_nested_types_are_rejected_as_not_flat(type_: Any) -> None:
    message = rejected(record({"name": "NESTED", "type": type_}))

    assert "'NESTED'" in message
    assert "schemas must be flat" in message


@pytest.mark.parametrize("type_", ["bytes", "STRING", "timestamp", 5])
def test_unsupported_primitive_types_are_rejected(type_: Any) -> None:
    message = rejected(record({"name": "A", "type": type_}))

    assert "'A'" in message
    assert "string, int, long, float, double, boolean" in message


def test_null_alone_is_rejected() -> None:
    assert "type null" in rejected(record({"name": "A", "type": "null"}))


@pytest.mark.parametrize("union", [["null"], [], ["null", "string", "int"], ["string", "int"]])
def test_union_must_hold_exactly_one_primitive(union: list[str]) -> None:
    message = rejected(record({"name": "A", "type": union}))

    assert "'A'" in message
    assert "exactly one" in message


def test_union_repeating_a_type_is_rejected() -> None:
    assert "repeats a type" in rejected(record({"name": "A", "type": ["null", "null"]}))


def test_union_with_unsupported_member_is_rejected() -> None:
    message = rejected(record({"name": "A", "type": ["null", "bytes"]}))

    assert '"bytes"' in message


@pytest.mark.parametrize("type_", ["int", "long", "float", "double", "boolean", ["null", "int"]])
def test_categorical_only_on_string_fields(type_: Any) -> None:
    message = rejected(record({"name": "AGE", "type": type_, "categorical": True}))

    assert "'AGE' is categorical" in message
    assert "must be of type string" in message


def test_textual_only_on_string_fields() -> None:
    message = rejected(record({"name": "RATING", "type": "float", "textual": True}))

    assert "'RATING' is textual" in message
    assert "must be of type string, got float" in message


def test_field_cannot_be_both_categorical_and_textual() -> None:
    message = rejected(record({"name": "DESC", "type": "string", "categorical": True, "textual": True}))

    assert "'DESC' cannot be both categorical and textual" in message


def test_flags_must_be_booleans() -> None:
    message = rejected(record({"name": "G", "type": "string", "categorical": "true"}))

    assert "'G'" in message
    assert "true or false" in message


def test_duplicate_field_names_are_rejected() -> None:
    message = rejected(record({"name": "USER_ID", "type": "string"}, {"name": "USER_ID", "type": "string"}))

    assert "'USER_ID' appears more than once" in message


@pytest.mark.parametrize(
    ("first", "second"),
    [("GENRES_FIELD_1", "GENRESFIELD1"), ("USER_ID", "user_id"), ("Price", "PRICE")],
)
def test_names_that_collide_without_underscores_or_case_are_rejected(first: str, second: str) -> None:
    message = rejected(record({"name": first, "type": "string"}, {"name": second, "type": "string"}))

    assert f"'{first}' and '{second}'" in message


# --- check_fits: custom dataset groups --------------------------------------------------------------------


def test_developer_guide_schemas_fit_their_dataset_types() -> None:
    check_fits(parse_schema(json.dumps(DG_INTERACTIONS)), "INTERACTIONS")
    check_fits(parse_schema(json.dumps(DG_ITEMS)), "ITEMS")
    check_fits(parse_schema(json.dumps(DG_USERS)), "USERS")


def test_minimal_interactions_schema_fits() -> None:
    check_fits(parse_schema(json.dumps(INTERACTIONS_MIN)), "INTERACTIONS")


def test_all_interactions_reserved_fields_with_allowed_types_fit() -> None:
    schema = with_fields(
        INTERACTIONS_MIN,
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": ["null", "double"]},
        {"name": "IMPRESSION", "type": ["null", "string"]},
        {"name": "RECOMMENDATION_ID", "type": ["null", "string"]},
        {"name": "EVENT_ATTRIBUTION_SOURCE", "type": ["null", "string"]},
    )

    check_fits(parse_schema(json.dumps(schema)), "INTERACTIONS")


@pytest.mark.parametrize("missing", ["USER_ID", "ITEM_ID", "TIMESTAMP"])
def test_interactions_require_user_item_and_timestamp(missing: str) -> None:
    schema = with_fields(INTERACTIONS_MIN, {"name": "X", "type": "int"}, drop=missing)

    message = misfit(schema, "INTERACTIONS")

    assert f"Schema for INTERACTIONS must have a field '{missing}'" in message


def test_timestamp_must_be_long() -> None:
    message = misfit(replaced(INTERACTIONS_MIN, "TIMESTAMP", type="string"), "INTERACTIONS")

    assert message == "Schema field 'TIMESTAMP' of INTERACTIONS must be of type long, got string"


@pytest.mark.parametrize("type_", ["int", "double"])
def test_timestamp_of_another_number_type_is_rejected(type_: str) -> None:
    message = misfit(replaced(INTERACTIONS_MIN, "TIMESTAMP", type=type_), "INTERACTIONS")

    assert f"must be of type long, got {type_}" in message


@pytest.mark.parametrize("name", ["USER_ID", "ITEM_ID", "TIMESTAMP"])
def test_required_interactions_fields_cannot_be_nullable(name: str) -> None:
    original = next(f for f in INTERACTIONS_MIN["fields"] if f["name"] == name)
    message = misfit(replaced(INTERACTIONS_MIN, name, type=["null", original["type"]]), "INTERACTIONS")

    assert f"'{name}' of INTERACTIONS must not be nullable" in message


@pytest.mark.parametrize("name", ["USER_ID", "ITEM_ID"])
def test_ids_must_be_strings(name: str) -> None:
    message = misfit(replaced(INTERACTIONS_MIN, name, type="int"), "INTERACTIONS")

    assert f"'{name}' of INTERACTIONS must be of type string, got int" in message


def test_categorical_ids_are_accepted() -> None:
    schema = replaced(INTERACTIONS_MIN, "USER_ID", categorical=True)

    check_fits(parse_schema(json.dumps(schema)), "INTERACTIONS")


def test_event_type_must_not_be_categorical() -> None:
    schema = with_fields(INTERACTIONS_MIN, {"name": "EVENT_TYPE", "type": "string", "categorical": True})

    assert "'EVENT_TYPE' of INTERACTIONS must not be categorical" in misfit(schema, "INTERACTIONS")


@pytest.mark.parametrize(
    ("name", "type_", "expected"),
    [
        ("EVENT_TYPE", "int", "string"),
        ("EVENT_VALUE", "string", "float or double"),
        ("EVENT_VALUE", "long", "float or double"),
        ("IMPRESSION", "long", "string"),
        ("RECOMMENDATION_ID", "int", "string"),
        ("EVENT_ATTRIBUTION_SOURCE", "boolean", "string"),
    ],
)
def test_interactions_reserved_fields_must_have_their_types(name: str, type_: str, expected: str) -> None:
    schema = with_fields(INTERACTIONS_MIN, {"name": name, "type": type_})

    assert misfit(schema, "INTERACTIONS") == (
        f"Schema field '{name}' of INTERACTIONS must be of type {expected}, got {type_}"
    )


def test_interactions_allow_five_metadata_fields_but_not_six() -> None:
    five: list[dict[str, Any]] = [
        {"name": f"CTX_{i}", "type": "string", "categorical": True} for i in range(5)
    ]
    check_fits(parse_schema(json.dumps(with_fields(INTERACTIONS_MIN, *five))), "INTERACTIONS")

    six = [*five, {"name": "CTX_5", "type": "int"}]
    message = misfit(with_fields(INTERACTIONS_MIN, *six), "INTERACTIONS")

    assert "6 metadata fields" in message
    assert "CTX_5" in message
    assert "at most 5" in message


def test_reserved_fields_do_not_count_as_metadata() -> None:
    five = [{"name": f"CTX_{i}", "type": "int"} for i in range(5)]
    schema = with_fields(
        INTERACTIONS_MIN,
        *five,
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": "float"},
        {"name": "IMPRESSION", "type": "string"},
    )

    check_fits(parse_schema(json.dumps(schema)), "INTERACTIONS")


def test_textual_field_is_rejected_outside_items() -> None:
    schema = with_fields(INTERACTIONS_MIN, {"name": "NOTE", "type": "string", "textual": True})

    assert "'NOTE' of INTERACTIONS is textual" in misfit(schema, "INTERACTIONS")


def test_items_require_item_id() -> None:
    message = misfit(schema_of({"name": "GENRES", "type": "string", "categorical": True}), "ITEMS")

    assert "Schema for ITEMS must have a field 'ITEM_ID' (string)" in message


def test_items_item_id_cannot_be_nullable() -> None:
    message = misfit(replaced(DG_ITEMS, "ITEM_ID", type=["null", "string"]), "ITEMS")

    assert "'ITEM_ID' of ITEMS must not be nullable" in message


def test_items_need_a_metadata_field_besides_creation_timestamp() -> None:
    schema = schema_of({"name": "ITEM_ID", "type": "string"}, {"name": "CREATION_TIMESTAMP", "type": "long"})

    assert "ITEMS must have at least one metadata field" in misfit(schema, "ITEMS")


def test_items_creation_timestamp_must_be_long() -> None:
    message = misfit(replaced(DG_ITEMS, "CREATION_TIMESTAMP", type="string"), "ITEMS")

    assert message == "Schema field 'CREATION_TIMESTAMP' of ITEMS must be of type long, got string"


def test_items_allow_one_textual_field_but_not_two() -> None:
    one = with_fields(DG_ITEMS, {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True})
    check_fits(parse_schema(json.dumps(one)), "ITEMS")

    two = with_fields(one, {"name": "SUMMARY", "type": "string", "textual": True})
    message = misfit(two, "ITEMS")

    assert "2 textual fields (DESCRIPTION, SUMMARY)" in message
    assert "at most 1" in message


def test_items_allow_100_metadata_fields_but_not_101() -> None:
    base = {"type": "record", "name": "Items", "fields": [{"name": "ITEM_ID", "type": "string"}]}
    hundred = [{"name": f"M{i}", "type": "int"} for i in range(100)]
    check_fits(parse_schema(json.dumps(with_fields(base, *hundred))), "ITEMS")

    message = misfit(with_fields(base, *hundred, {"name": "M100", "type": "int"}), "ITEMS")

    assert "101 metadata fields" in message
    assert "at most 100" in message


def test_users_require_user_id_and_a_metadata_field() -> None:
    no_id = misfit(schema_of({"name": "AGE", "type": "int"}), "USERS")
    only_id = misfit(schema_of({"name": "USER_ID", "type": "string"}), "USERS")

    assert "Schema for USERS must have a field 'USER_ID' (string)" in no_id
    assert "USERS must have at least one metadata field" in only_id


def test_users_allow_25_metadata_fields_but_not_26() -> None:
    base = {"type": "record", "name": "Users", "fields": [{"name": "USER_ID", "type": "string"}]}
    many = [{"name": f"M{i}", "type": "int"} for i in range(25)]
    check_fits(parse_schema(json.dumps(with_fields(base, *many))), "USERS")

    assert "at most 25" in misfit(with_fields(base, *many, {"name": "M25", "type": "int"}), "USERS")


def test_users_reject_textual_fields() -> None:
    schema = with_fields(DG_USERS, {"name": "BIO", "type": "string", "textual": True})

    assert "'BIO' of USERS is textual" in misfit(schema, "USERS")


def test_items_schema_does_not_fit_interactions() -> None:
    assert "Schema for INTERACTIONS must have a field 'USER_ID'" in misfit(DG_ITEMS, "INTERACTIONS")


def test_actions_require_action_id_and_metadata() -> None:
    fits = schema_of(
        {"name": "ACTION_ID", "type": "string"},
        {"name": "VALUE", "type": ["null", "long"]},
        {"name": "CATEGORY", "type": "string", "categorical": True},
    )
    check_fits(fits, "ACTIONS")

    assert "must have a field 'ACTION_ID'" in misfit(schema_of({"name": "X", "type": "int"}), "ACTIONS")
    only_id = schema_of({"name": "ACTION_ID", "type": "string"})
    assert "at least one metadata field" in misfit(only_id, "ACTIONS")


def test_action_interactions_require_their_fields() -> None:
    fields = [
        {"name": "USER_ID", "type": "string"},
        {"name": "ACTION_ID", "type": "string"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
    ]
    check_fits(schema_of(*fields), "ACTION_INTERACTIONS")

    message = misfit(schema_of(*fields[:3]), "ACTION_INTERACTIONS")

    assert message == "Schema for ACTION_INTERACTIONS must have a field 'TIMESTAMP' (long)"


def test_unknown_dataset_type_is_rejected() -> None:
    assert "Unknown dataset type 'CLICKS'" in misfit(DG_USERS, "CLICKS")


# --- check_fits: domain dataset groups --------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["ECOMMERCE", "VIDEO_ON_DEMAND"])
def test_domain_interactions_require_event_type(domain: str) -> None:
    message = misfit(INTERACTIONS_MIN, "INTERACTIONS", domain)

    assert message == (
        f"Schema for INTERACTIONS in the {domain} domain must have a field 'EVENT_TYPE' (string)"
    )

    with_event = with_fields(INTERACTIONS_MIN, {"name": "EVENT_TYPE", "type": "string"})
    check_fits(parse_schema(json.dumps(with_event)), "INTERACTIONS", domain)


def test_domain_event_type_cannot_be_nullable() -> None:
    schema = with_fields(INTERACTIONS_MIN, {"name": "EVENT_TYPE", "type": ["null", "string"]})

    assert "'EVENT_TYPE' of INTERACTIONS in the ECOMMERCE domain must not be nullable" in misfit(
        schema, "INTERACTIONS", "ECOMMERCE"
    )


def test_default_ecommerce_items_schema_fits() -> None:
    check_fits(parse_schema(json.dumps(ECOMMERCE_ITEMS)), "ITEMS", "ECOMMERCE")


def test_ecommerce_items_with_reserved_keywords_fit() -> None:
    schema = with_fields(
        ECOMMERCE_ITEMS,
        {"name": "CATEGORY_L2", "type": ["null", "string"], "categorical": True},
        {"name": "PRODUCT_DESCRIPTION", "type": ["null", "string"], "textual": True},
        {"name": "CREATION_TIMESTAMP", "type": "long"},
        {"name": "GENDER", "type": "string", "categorical": True},
    )

    check_fits(parse_schema(json.dumps(schema)), "ITEMS", "ECOMMERCE")


@pytest.mark.parametrize(
    ("missing", "described"), [("PRICE", "float or double"), ("CATEGORY_L1", "categorical string")]
)
def test_ecommerce_items_require_price_and_category(missing: str, described: str) -> None:
    message = misfit(with_fields(ECOMMERCE_ITEMS, drop=missing), "ITEMS", "ECOMMERCE")

    assert message == f"Schema for ITEMS in the ECOMMERCE domain must have a field '{missing}' ({described})"


def test_ecommerce_category_must_be_categorical() -> None:
    schema = replaced(ECOMMERCE_ITEMS, "CATEGORY_L1", categorical=False)

    assert "'CATEGORY_L1' of ITEMS in the ECOMMERCE domain must be categorical" in misfit(
        schema, "ITEMS", "ECOMMERCE"
    )


def test_ecommerce_price_must_be_a_float() -> None:
    message = misfit(replaced(ECOMMERCE_ITEMS, "PRICE", type="string"), "ITEMS", "ECOMMERCE")

    assert message == (
        "Schema field 'PRICE' of ITEMS in the ECOMMERCE domain must be of type float or double, got string"
    )


def test_ecommerce_reserved_category_levels_must_be_categorical() -> None:
    schema = with_fields(ECOMMERCE_ITEMS, {"name": "CATEGORY_L2", "type": "string"})

    assert "'CATEGORY_L2' of ITEMS in the ECOMMERCE domain must be categorical" in misfit(
        schema, "ITEMS", "ECOMMERCE"
    )


def test_ecommerce_items_fine_without_domain_fields_in_a_custom_group() -> None:
    check_fits(parse_schema(json.dumps(DG_ITEMS)), "ITEMS")
    assert "'PRICE'" in misfit(DG_ITEMS, "ITEMS", "ECOMMERCE")


def test_default_vod_items_schema_fits() -> None:
    check_fits(parse_schema(json.dumps(VOD_ITEMS)), "ITEMS", "VIDEO_ON_DEMAND")


@pytest.mark.parametrize(
    ("missing", "described"), [("GENRES", "categorical string"), ("CREATION_TIMESTAMP", "long")]
)
def test_vod_items_require_genres_and_creation_timestamp(missing: str, described: str) -> None:
    message = misfit(with_fields(VOD_ITEMS, drop=missing), "ITEMS", "VIDEO_ON_DEMAND")

    assert message == (
        f"Schema for ITEMS in the VIDEO_ON_DEMAND domain must have a field '{missing}' ({described})"
    )


def test_vod_reserved_keywords_must_have_their_types() -> None:
    ok = with_fields(
        VOD_ITEMS,
        {"name": "DURATION", "type": "float"},
        {"name": "AVERAGE_RATING", "type": ["null", "float"]},
        {"name": "CONTENT_OWNER", "type": ["null", "string"], "categorical": True},
    )
    check_fits(parse_schema(json.dumps(ok)), "ITEMS", "VIDEO_ON_DEMAND")

    bad = with_fields(VOD_ITEMS, {"name": "DURATION", "type": "int"})
    assert "'DURATION' of ITEMS in the VIDEO_ON_DEMAND domain must be of type float or double, got int" in (
        misfit(bad, "ITEMS", "VIDEO_ON_DEMAND")
    )


def test_vod_users_subscription_model_must_be_categorical() -> None:
    schema = with_fields(DG_USERS, {"name": "SUBSCRIPTION_MODEL", "type": "string"})
    check_fits(parse_schema(json.dumps(schema)), "USERS")

    assert "'SUBSCRIPTION_MODEL' of USERS in the VIDEO_ON_DEMAND domain must be categorical" in misfit(
        schema, "USERS", "VIDEO_ON_DEMAND"
    )


def test_domain_users_follow_the_custom_rules() -> None:
    check_fits(parse_schema(json.dumps(DG_USERS)), "USERS", "ECOMMERCE")
    only_id = schema_of({"name": "USER_ID", "type": "string"})

    assert "at least one metadata field" in misfit(only_id, "USERS", "ECOMMERCE")


def test_unknown_domain_is_rejected() -> None:
    assert "Unknown domain 'RETAIL'" in misfit(DG_USERS, "USERS", "RETAIL")


# --- helpers ----------------------------------------------------------------------------------------------


def test_id_field_per_dataset_type() -> None:
    assert id_field("ITEMS") == "ITEM_ID"
    assert id_field("USERS") == "USER_ID"
    assert id_field("ACTIONS") == "ACTION_ID"
    assert id_field("INTERACTIONS") is None
    assert id_field("ACTION_INTERACTIONS") is None


def test_reserved_fields_per_dataset_type() -> None:
    assert reserved_fields("INTERACTIONS") == {
        "USER_ID",
        "ITEM_ID",
        "TIMESTAMP",
        "EVENT_TYPE",
        "EVENT_VALUE",
        "IMPRESSION",
        "RECOMMENDATION_ID",
        "EVENT_ATTRIBUTION_SOURCE",
    }
    assert reserved_fields("ITEMS") == {"ITEM_ID", "CREATION_TIMESTAMP"}
    assert reserved_fields("USERS") == {"USER_ID"}
    assert "ACTION_ID" in reserved_fields("ACTIONS")
    assert {"USER_ID", "ACTION_ID", "EVENT_TYPE", "TIMESTAMP"} <= reserved_fields("ACTION_INTERACTIONS")


def test_helpers_reject_unknown_dataset_types() -> None:
    with pytest.raises(InvalidInputException, match="Unknown dataset type"):
        reserved_fields("items")
    with pytest.raises(InvalidInputException, match="Unknown dataset type"):
        id_field("CLICKS")
