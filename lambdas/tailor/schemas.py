"""Personalize dataset schemas: flat Avro records, checked per dataset type (reference §4.7)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tailor.errors import InvalidInputException

# Avro primitive types a field may have (besides "null" in a nullable union).
FIELD_TYPES = ("string", "int", "long", "float", "double", "boolean")
DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS")
DOMAINS = ("ECOMMERCE", "VIDEO_ON_DEMAND")


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # one of FIELD_TYPES
    nullable: bool = False
    categorical: bool = False
    textual: bool = False


@dataclass(frozen=True)
class Schema:
    name: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


# ---------------------------------------------------------------------------------------------------------
# Parsing

_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPLEX_TYPES = frozenset({"record", "array", "map", "enum", "fixed", "error"})
_FLAT = "schemas must be flat"


def _fail(message: str) -> InvalidInputException:
    return InvalidInputException(message)


def _is_avro_name(value: object) -> bool:
    return isinstance(value, str) and _AVRO_NAME.fullmatch(value) is not None


def _is_avro_fullname(value: object) -> bool:
    return isinstance(value, str) and all(_is_avro_name(part) for part in value.split("."))


def _describe_type(value: object) -> str:
    if isinstance(value, dict):
        inner = value.get("type")
        return f"a nested {inner}" if isinstance(inner, str) else "an object"
    return json.dumps(value)


def _parse_type(field_name: str, raw: object) -> tuple[str, bool]:
    """The field's primitive type and whether it is nullable."""
    allowed = ", ".join(FIELD_TYPES)
    if isinstance(raw, str):
        if raw in FIELD_TYPES:
            return raw, False
        if raw == "null":
            raise _fail(f"Schema field '{field_name}' has type null; it needs one of: {allowed}")
        if raw in _COMPLEX_TYPES:
            raise _fail(f"Schema field '{field_name}' has type {raw}; {_FLAT} (one of: {allowed})")
        raise _fail(f"Schema field '{field_name}' has unsupported type {raw!r}; expected one of: {allowed}")
    if isinstance(raw, dict):
        raise _fail(
            f"Schema field '{field_name}' has {_describe_type(raw)} type; {_FLAT}: "
            f"use one of {allowed}, or a union of null and one of them"
        )
    if isinstance(raw, list):
        for member in raw:
            if isinstance(member, (dict, list)) or member in _COMPLEX_TYPES:
                raise _fail(
                    f"Schema field '{field_name}' has {_describe_type(member)} type in its union; {_FLAT}"
                )
            if not isinstance(member, str) or (member != "null" and member not in FIELD_TYPES):
                raise _fail(
                    f"Schema field '{field_name}' has unsupported type {json.dumps(member)} in its union; "
                    f"expected null and one of: {allowed}"
                )
        if len(set(raw)) != len(raw):
            raise _fail(f"Schema field '{field_name}' repeats a type in its union {json.dumps(raw)}")
        primitives = [m for m in raw if m != "null"]
        if len(primitives) != 1 or len(raw) > 2:
            raise _fail(
                f"Schema field '{field_name}' has union {json.dumps(raw)}; a union must hold exactly one "
                f"of {allowed}, optionally with null"
            )
        return primitives[0], "null" in raw
    raise _fail(
        f"Schema field '{field_name}' has type {json.dumps(raw)}; expected one of {allowed}, "
        f"or a union of null and one of them"
    )


def _flag(field_name: str, raw: dict[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _fail(f"Schema field '{field_name}' has \"{key}\": {json.dumps(value)}; expected true or false")
    return value


def _parse_field(index: int, raw: object) -> Field:
    if not isinstance(raw, dict):
        raise _fail(f"Schema field #{index + 1} must be a JSON object with \"name\" and \"type\"")
    name = raw.get("name")
    if name is None:
        raise _fail(f"Schema field #{index + 1} has no \"name\"")
    if not _is_avro_name(name):
        raise _fail(
            f"Schema field name {json.dumps(name)} is not a valid name: it must start with a letter or "
            f"underscore and contain only letters, digits and underscores"
        )
    if "type" not in raw:
        raise _fail(f"Schema field '{name}' has no \"type\"")
    type_, nullable = _parse_type(name, raw["type"])
    categorical = _flag(name, raw, "categorical")
    textual = _flag(name, raw, "textual")
    if categorical and type_ != "string":
        raise _fail(f"Schema field '{name}' is categorical, so it must be of type string, got {type_}")
    if textual and type_ != "string":
        raise _fail(f"Schema field '{name}' is textual, so it must be of type string, got {type_}")
    if categorical and textual:
        raise _fail(f"Schema field '{name}' cannot be both categorical and textual")
    return Field(name=name, type=type_, nullable=nullable, categorical=categorical, textual=textual)


def _normalized(name: str) -> str:
    return name.replace("_", "").upper()


def property_name(field_name: str) -> str:
    """The key personalize-events `properties` use for a schema field: its camelCase form
    (NUMBER_OF_RATINGS -> numberOfRatings, ITEM_ID -> itemId; a name already in camelCase is kept)."""
    if "_" not in field_name and not field_name.isupper():
        return field_name[:1].lower() + field_name[1:]
    head, *rest = [part for part in field_name.lower().split("_") if part] or [""]
    return head + "".join(part.capitalize() for part in rest)


def name_key(name: str) -> str:
    """What a field name or a `properties` key is compared by: case ignored and underscores dropped (numberOfRatings
    and NUMBER_OF_RATINGS match), the rule that also makes GENRES_FIELD_1 and GENRESFIELD1 duplicates in a schema,
    so at most one field of a schema matches a key."""
    return _normalized(name)


def parse_schema(text: str) -> Schema:
    """Parse and check an Avro schema string; InvalidInputException saying what is wrong."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise _fail(f"Schema is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _fail("Schema must be a JSON object describing an Avro record")
    if doc.get("type") != "record":
        found = json.dumps(doc["type"]) if "type" in doc else "nothing"
        raise _fail(f"Schema must have \"type\": \"record\", got {found}")
    name = doc.get("name")
    if name is None:
        raise _fail("Schema record must have a \"name\"")
    if not _is_avro_fullname(name):
        raise _fail(
            f"Schema record name {json.dumps(name)} is not a valid Avro name: letters, digits and "
            f"underscores, not starting with a digit"
        )
    namespace = doc.get("namespace")
    if namespace is not None and namespace != "" and not _is_avro_fullname(namespace):
        raise _fail(f"Schema namespace {json.dumps(namespace)} is not a valid dotted Avro namespace")
    if "doc" in doc and not isinstance(doc["doc"], str):
        raise _fail("Schema \"doc\" must be a string")
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise _fail("Schema record must have a non-empty \"fields\" list")

    fields: list[Field] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(raw_fields):
        field = _parse_field(index, raw)
        key = _normalized(field.name)
        if key in seen:
            other = seen[key]
            if other == field.name:
                raise _fail(f"Schema field '{field.name}' appears more than once")
            raise _fail(
                f"Schema fields '{other}' and '{field.name}' are duplicates: field names must differ "
                f"when underscores are removed and case is ignored"
            )
        seen[key] = field.name
        fields.append(field)
    return Schema(name=name, fields=tuple(fields))


def schema_to_dict(schema: Schema) -> dict[str, Any]:
    """The Avro record for a parsed schema (without namespace/version/doc); parse_schema reads it back."""
    fields: list[dict[str, Any]] = []
    for f in schema.fields:
        entry: dict[str, Any] = {"name": f.name, "type": ["null", f.type] if f.nullable else f.type}
        if f.categorical:
            entry["categorical"] = True
        if f.textual:
            entry["textual"] = True
        fields.append(entry)
    return {"type": "record", "name": schema.name, "fields": fields}


# ---------------------------------------------------------------------------------------------------------
# Dataset-type rules


@dataclass(frozen=True)
class _Spec:
    """What a required or reserved field must look like."""

    types: tuple[str, ...]
    nullable: bool = False  # whether ["null", type] is allowed
    categorical: bool | None = False  # True: must be categorical; False: must not be; None: either
    textual: bool | None = False  # likewise for "textual"


_ID = _Spec(("string",), categorical=None)
_LONG = _Spec(("long",))
_FLOAT = ("float", "double")
_PLAIN_STRING = _Spec(("string",))
_NULLABLE_STRING = _Spec(("string",), nullable=True)
_CATEGORY = _Spec(("string",), nullable=True, categorical=True)
_TEXT = _Spec(("string",), nullable=True, textual=True)

# Per dataset type: (required fields, reserved optional fields), for Custom dataset groups.
_RULES: dict[str, tuple[dict[str, _Spec], dict[str, _Spec]]] = {
    "INTERACTIONS": (
        {"USER_ID": _ID, "ITEM_ID": _ID, "TIMESTAMP": _LONG},
        {
            "EVENT_TYPE": _PLAIN_STRING,
            "EVENT_VALUE": _Spec(_FLOAT, nullable=True),
            "IMPRESSION": _NULLABLE_STRING,
            "RECOMMENDATION_ID": _NULLABLE_STRING,
            "EVENT_ATTRIBUTION_SOURCE": _NULLABLE_STRING,
        },
    ),
    "ITEMS": ({"ITEM_ID": _ID}, {"CREATION_TIMESTAMP": _LONG}),
    "USERS": ({"USER_ID": _ID}, {}),
    "ACTIONS": (
        {"ACTION_ID": _ID},
        {
            "CREATION_TIMESTAMP": _LONG,
            "VALUE": _Spec(("long",), nullable=True),
            "TYPE": _Spec(("string",), nullable=True, categorical=None),
            "EXPIRATION_TIMESTAMP": _Spec(("long",), nullable=True),
            "REPEAT_FREQUENCY": _Spec(("long",), nullable=True),
        },
    ),
    "ACTION_INTERACTIONS": (
        {"USER_ID": _ID, "ACTION_ID": _ID, "EVENT_TYPE": _PLAIN_STRING, "TIMESTAMP": _LONG},
        {"IMPRESSION": _NULLABLE_STRING, "RECOMMENDATION_ID": _NULLABLE_STRING},
    ),
}

# Extra (required, reserved) fields for Domain dataset groups; DG "<DOMAIN>-datasets-and-schemas".
_DOMAIN_RULES: dict[str, dict[str, tuple[dict[str, _Spec], dict[str, _Spec]]]] = {
    "ECOMMERCE": {
        "INTERACTIONS": ({"EVENT_TYPE": _PLAIN_STRING}, {}),
        "ITEMS": (
            {"PRICE": _Spec(_FLOAT), "CATEGORY_L1": _Spec(("string",), categorical=True)},
            {
                "CATEGORY_L2": _CATEGORY,
                "CATEGORY_L3": _CATEGORY,
                "PRODUCT_DESCRIPTION": _TEXT,
                "AGE_GROUP": _CATEGORY,
                "ADULT": _CATEGORY,
                "GENDER": _CATEGORY,
            },
        ),
    },
    "VIDEO_ON_DEMAND": {
        "INTERACTIONS": ({"EVENT_TYPE": _PLAIN_STRING}, {}),
        "USERS": ({}, {"SUBSCRIPTION_MODEL": _CATEGORY}),
        "ITEMS": (
            {"GENRES": _Spec(("string",), categorical=True), "CREATION_TIMESTAMP": _LONG},
            {
                "PRICE": _Spec(_FLOAT),
                "DURATION": _Spec(_FLOAT),
                "GENRE_L2": _CATEGORY,
                "GENRE_L3": _CATEGORY,
                "AVERAGE_RATING": _Spec(_FLOAT, nullable=True),
                "PRODUCT_DESCRIPTION": _TEXT,
                "CONTENT_OWNER": _CATEGORY,
                "CONTENT_CLASSIFICATION": _CATEGORY,
            },
        ),
    },
}

# Most metadata (non-reserved) fields per dataset type, and whether at least one is needed.
_MAX_METADATA = {"INTERACTIONS": 5, "ITEMS": 100, "USERS": 25}
_NEEDS_METADATA = frozenset({"ITEMS", "USERS", "ACTIONS"})
_MAX_TEXTUAL = 1  # textual fields are allowed in ITEMS only

_ID_FIELDS = {"ITEMS": "ITEM_ID", "USERS": "USER_ID", "ACTIONS": "ACTION_ID"}


def _rules(dataset_type: str) -> tuple[dict[str, _Spec], dict[str, _Spec]]:
    try:
        return _RULES[dataset_type]
    except KeyError:
        raise _fail(
            f"Unknown dataset type {dataset_type!r}; expected one of: {', '.join(DATASET_TYPES)}"
        ) from None


def reserved_fields(dataset_type: str) -> frozenset[str]:
    """Field names with a fixed meaning for the dataset type: its required fields and reserved keywords.

    Any other field in a schema is a metadata field. Domain-specific fields (PRICE, GENRES, ...) are
    metadata here.
    """
    required, reserved = _rules(dataset_type)
    return frozenset(required) | frozenset(reserved)


def id_field(dataset_type: str) -> str | None:
    """The field that identifies a record of the dataset type, or None for interaction datasets."""
    _rules(dataset_type)
    return _ID_FIELDS.get(dataset_type)


def _type_text(types: tuple[str, ...]) -> str:
    return " or ".join(types)


def _spec_text(spec: _Spec) -> str:
    kind = "categorical " if spec.categorical else "textual " if spec.textual else ""
    return kind + _type_text(spec.types)


def _check_field(field: Field, spec: _Spec, where: str) -> None:
    if field.type not in spec.types:
        raise _fail(
            f"Schema field '{field.name}' of {where} must be of type {_type_text(spec.types)}, "
            f"got {field.type}"
        )
    if field.nullable and not spec.nullable:
        raise _fail(
            f"Schema field '{field.name}' of {where} must not be nullable (remove \"null\" from its type)"
        )
    if spec.categorical is True and not field.categorical:
        raise _fail(f"Schema field '{field.name}' of {where} must be categorical (\"categorical\": true)")
    if spec.categorical is False and field.categorical:
        raise _fail(f"Schema field '{field.name}' of {where} must not be categorical")
    if spec.textual is True and not field.textual:
        raise _fail(f"Schema field '{field.name}' of {where} must be textual (\"textual\": true)")
    if spec.textual is False and field.textual:
        raise _fail(f"Schema field '{field.name}' of {where} must not be textual")


def _names(fields: list[Field]) -> str:
    return ", ".join(f.name for f in fields)


def check_fits(schema: Schema, dataset_type: str, domain: str | None = None) -> None:
    """InvalidInputException unless the schema has the required fields/types for the dataset type."""
    required, reserved = _rules(dataset_type)
    where = dataset_type
    if domain is not None:
        if domain not in DOMAINS:
            raise _fail(f"Unknown domain {domain!r}; expected one of: {', '.join(DOMAINS)}")
        extra_required, extra_reserved = _DOMAIN_RULES[domain].get(dataset_type, ({}, {}))
        if extra_required or extra_reserved:
            where = f"{dataset_type} in the {domain} domain"
        reserved = {**reserved, **extra_reserved}
        # A domain may turn a reserved keyword into a required field (EVENT_TYPE, CREATION_TIMESTAMP).
        required = {**required, **extra_required}
        reserved = {k: v for k, v in reserved.items() if k not in required}

    for name, spec in required.items():
        found = schema.field(name)
        if found is None:
            raise _fail(f"Schema for {where} must have a field '{name}' ({_spec_text(spec)})")
        _check_field(found, spec, where)
    for name, spec in reserved.items():
        found = schema.field(name)
        if found is not None:
            _check_field(found, spec, where)

    textual = [f for f in schema.fields if f.textual]
    if textual and dataset_type != "ITEMS":
        raise _fail(
            f"Schema field '{textual[0].name}' of {dataset_type} is textual; "
            f"textual fields are only allowed in ITEMS schemas"
        )
    if len(textual) > _MAX_TEXTUAL:
        raise _fail(
            f"Schema for {dataset_type} has {len(textual)} textual fields ({_names(textual)}); "
            f"at most {_MAX_TEXTUAL} is allowed"
        )

    fixed = reserved_fields(dataset_type)
    metadata = [f for f in schema.fields if f.name not in fixed]
    if dataset_type in _NEEDS_METADATA and not metadata:
        raise _fail(
            f"Schema for {dataset_type} must have at least one metadata field besides its reserved "
            f"fields ({', '.join(sorted(fixed))})"
        )
    limit = _MAX_METADATA.get(dataset_type)
    if limit is not None and len(metadata) > limit:
        raise _fail(
            f"Schema for {dataset_type} has {len(metadata)} metadata fields ({_names(metadata)}); "
            f"at most {limit} are allowed besides reserved fields"
        )
