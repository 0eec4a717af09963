"""PutEvents, PutItems, PutUsers: real-time data checked against its dataset's schema, then stored all or nothing.

The protocol layer has already checked the request against the model (required members, lengths, 1-10 entries).
What is checked here is what the model cannot say: the tracker or dataset, and each `properties` JSON string
against the schema. `properties` keys are the camelCase forms of the schema's field names (NUMBER_OF_RATINGS ->
numberOfRatings), matched ignoring case and underscores. Every entry is checked before anything is stored, so a bad
entry stores none of its batch.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.utils import parse_to_aware_datetime

from tailor import schemas
from tailor.errors import InvalidInputException, ResourceNotFoundException
from tailor.operations import common, metric_attributions
from tailor.operations.event_trackers import tracking_lock
from tailor.operations.schemas import load as load_schema
from tailor.ports import Resource, StoredEvent, StoredRecord
from tailor.schemas import Field, Schema
from tailor.service import Service

# Interactions fields an event carries in its own members, so never in `properties`: the key a caller might try, and
# where the value goes instead. The event's `{i}` is filled in.
_SET_ELSEWHERE = {
    schemas.name_key(key): where
    for key, where in {
        "userId": "the request's userId",
        "sessionId": "the request's sessionId",
        "eventType": "eventList[{i}].eventType",
        "timestamp": "eventList[{i}].sentAt",
        "recommendationId": "eventList[{i}].recommendationId",
        "impression": "eventList[{i}].impression",
    }.items()
}
# Interactions fields that StoredEvent holds as attributes; the schema's other fields go into its properties.
EVENT_FIELDS = frozenset({"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "RECOMMENDATION_ID",
                          "IMPRESSION"})
# itemId and eventValue may also be given inside `properties`, as the 2019 API did (seeds/000's walkthrough).
_ITEM_ID_KEY = schemas.name_key("itemId")
_EVENT_VALUE_KEY = schemas.name_key("eventValue")
_ITEM_ID = Field("ITEM_ID", "string")
_EVENT_VALUE = Field("EVENT_VALUE", "float", nullable=True)
MAX_EVENT_BYTES = 10 * 1024  # Personalize's limit on one event (reference §4.4)
_MAX_SENT_AT = 253402300800.0  # 10000-01-01: beyond it the time is not a date (and no longer sorts as a key)


# ---- PutEvents --------------------------------------------------------------------------------------------


def put_events(svc: Service, req: dict[str, Any]) -> None:
    tracker = event_tracker(svc, req["trackingId"])
    group_arn = tracker.doc["datasetGroupArn"]
    schema = interactions_schema(svc, group_arn)
    session_id = req["sessionId"]
    user_id = req.get("userId") or session_id  # an anonymous user is known by the session until it signs in
    events = [_event(schema, user_id, session_id, raw, i) for i, raw in enumerate(req["eventList"])]
    svc.events.put_events(group_arn, events)
    metric_attributions.report_events(svc, group_arn, events)


def event_tracker(svc: Service, tracking_id: str) -> Resource:
    """The ACTIVE event tracker with this trackingId; InvalidInputException (PutEvents models no other) if none."""
    arn = common.cached_lock_owner(svc, tracking_lock(tracking_id))
    tracker = common.cached_get(svc, arn) if arn else None
    if tracker is None:
        raise InvalidInputException(f"trackingId {tracking_id} does not belong to any event tracker")
    if tracker.status != common.ACTIVE:
        raise InvalidInputException(
            f"The event tracker {tracker.arn} of trackingId {tracking_id} is in status {tracker.status}; "
            "it must be ACTIVE"
        )
    return tracker


def interactions_dataset(svc: Service, group_arn: str) -> Resource | None:
    """The dataset group's Interactions dataset, None if it has none."""
    for dataset in common.cached_children(svc, "dataset", group_arn):
        if dataset.doc.get("datasetType") == "INTERACTIONS":
            return dataset
    return None


def interactions_schema(svc: Service, group_arn: str) -> Schema:
    """The schema events put into the group are checked against; InvalidInputException if there is no ACTIVE
    Interactions dataset to put them into."""
    dataset = interactions_dataset(svc, group_arn)
    if dataset is None:
        raise InvalidInputException(
            f"The dataset group {group_arn} has no Interactions dataset; create one (CreateDataset with "
            "datasetType INTERACTIONS) before recording events"
        )
    if dataset.status != common.ACTIVE:
        raise InvalidInputException(
            f"The Interactions dataset {dataset.arn} is in status {dataset.status}; it must be ACTIVE to record events"
        )
    return _schema(svc, dataset)


def _schema(svc: Service, dataset: Resource) -> Schema:
    """A dataset's schema (schemas never change once created, so the parsed form is kept too)."""
    found = common.cached_get(svc, dataset.doc["schemaArn"])
    if found is None:
        raise ResourceNotFoundException(f"Could not find schema with ARN {dataset.doc['schemaArn']}")
    return load_schema(found)


def _event(schema: Schema, user_id: str, session_id: str, raw: Mapping[str, Any], i: int) -> StoredEvent:
    where = f"eventList[{i}]"
    size = len(json.dumps(raw, default=str).encode())
    if size > MAX_EVENT_BYTES:
        raise InvalidInputException(f"{where} is {size} bytes; an event may be at most {MAX_EVENT_BYTES}")
    sent_at = _epoch_seconds(raw["sentAt"], f"{where}.sentAt")
    item_id: str | None = raw.get("itemId")
    event_value = raw.get("eventValue")
    if event_value is not None:
        event_value = _convert(schema.field("EVENT_VALUE") or _EVENT_VALUE, event_value, f"{where}.eventValue")

    props = parse_properties(raw.get("properties"), f"{where}.properties")
    others: dict[str, Any] = {}
    for key, value in props.items():
        path = f"{where}.properties.{key}"
        norm = schemas.name_key(key)
        if norm in _SET_ELSEWHERE:
            raise InvalidInputException(f"{path} is not allowed in properties; set {_SET_ELSEWHERE[norm].format(i=i)}")
        if norm == _ITEM_ID_KEY:
            given = _convert(schema.field("ITEM_ID") or _ITEM_ID, value, path)
            item_id = _agree(item_id, given, f"{where}.itemId", path)
        elif norm == _EVENT_VALUE_KEY:
            given = _convert(schema.field("EVENT_VALUE") or _EVENT_VALUE, value, path)
            event_value = _agree(event_value, given, f"{where}.eventValue", path)
        else:
            others[key] = value
    metadata = [f for f in schema.fields if f.name not in EVENT_FIELDS]
    properties = schema_values(others, metadata, f"{where}.properties", "Interactions",
                               extra_keys=("itemId", "eventValue"))
    source = (raw.get("metricAttribution") or {}).get("eventAttributionSource")
    if source is not None and schema.field("EVENT_ATTRIBUTION_SOURCE") is not None:
        properties["EVENT_ATTRIBUTION_SOURCE"] = _agree(
            properties["EVENT_ATTRIBUTION_SOURCE"], source, f"{where}.metricAttribution.eventAttributionSource",
            f"{where}.properties.eventAttributionSource",
        )

    if item_id is None and schema.field("ITEM_ID") is not None:
        raise InvalidInputException(
            f"{where}.itemId is required: give the event's itemId (or itemId in its properties)"
        )
    value_field = schema.field("EVENT_VALUE")
    if event_value is None and value_field is not None and not value_field.nullable:
        raise InvalidInputException(
            f"{where}.eventValue is required: the Interactions schema's EVENT_VALUE is not nullable"
        )
    impression = tuple(raw.get("impression") or ())
    recommendation_id = raw.get("recommendationId")
    event_type = raw["eventType"]
    event_id = raw.get("eventId") or derived_event_id(
        user_id, session_id, sent_at, event_type, item_id, event_value, recommendation_id, impression, properties
    )
    return StoredEvent(
        user_id=user_id,
        event_id=event_id,
        event_type=event_type,
        timestamp=sent_at,
        session_id=session_id,
        item_id=item_id,
        event_value=event_value,
        recommendation_id=recommendation_id,
        impression=impression,
        properties=properties,
        event_attribution_source=properties.get("EVENT_ATTRIBUTION_SOURCE") or source,
    )


def derived_event_id(
    user_id: str,
    session_id: str,
    sent_at: float,
    event_type: str,
    item_id: str | None,
    event_value: float | None,
    recommendation_id: str | None,
    impression: Sequence[str],
    properties: Mapping[str, Any],
) -> str:
    """An eventId for an event sent without one: a hash of everything the event says.

    SDKs retry a PutEvents call that timed out or was throttled, and the retry carries the same events; with the id
    derived from the content it lands on the same key and is stored once rather than counted twice in training and in
    the user's recent history. The price: two identical events of a user in the same second (botocore sends sentAt in
    whole seconds) are one event; callers who mean two send distinct eventIds."""
    content = [user_id, session_id, sent_at, event_type, item_id, event_value, recommendation_id, list(impression),
               dict(properties)]
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"tailor-{digest[:32]}"


def _epoch_seconds(value: Any, where: str) -> float:
    """sentAt as epoch seconds: boto3 sends whole seconds, other SDKs may send fractions or a date string."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, datetime):
        seconds = (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    elif isinstance(value, str):
        try:
            seconds = parse_to_aware_datetime(value).timestamp()
        except (TypeError, ValueError, OverflowError, OSError):
            seconds = None
    if seconds is None or not math.isfinite(seconds):
        raise InvalidInputException(f"{where} is not a timestamp: {str(value)[:60]!r}")
    if not 0 <= seconds < _MAX_SENT_AT:
        raise InvalidInputException(
            f"{where} is {seconds:.0f} epoch seconds; it must be a time between 1970 and the year 9999"
        )
    return round(seconds, 3)


# ---- PutItems / PutUsers ----------------------------------------------------------------------------------


def put_items(svc: Service, req: dict[str, Any]) -> None:
    _put_records(svc, req["datasetArn"], req["items"], "ITEMS", "items", "itemId")


def put_users(svc: Service, req: dict[str, Any]) -> None:
    _put_records(svc, req["datasetArn"], req["users"], "USERS", "users", "userId")


_OPERATION = {"ITEMS": ("PutItems", "PutUsers"), "USERS": ("PutUsers", "PutItems")}


def _put_records(svc: Service, dataset_arn: str, entries: Sequence[Mapping[str, Any]], dataset_type: str,
                 list_name: str, id_member: str) -> None:
    dataset = common.get(svc, dataset_arn, "dataset")
    actual = dataset.doc.get("datasetType")
    if actual != dataset_type:
        this_op, other_op = _OPERATION[dataset_type]
        hint = f" (use {other_op} for it)" if actual in _OPERATION else ""
        raise InvalidInputException(
            f"{this_op} takes an {dataset_type} dataset; {dataset.arn} is an {actual} dataset{hint}"
        )
    common.require_active(dataset)
    schema = _schema(svc, dataset)
    id_field = schemas.id_field(dataset_type)
    fields = [f for f in schema.fields if f.name != id_field]
    now = svc.now()
    records = []
    for i, entry in enumerate(entries):
        where = f"{list_name}[{i}].properties"
        props = parse_properties(entry.get("properties"), where)
        if "CREATION_TIMESTAMP" in {f.name for f in fields} and not any(
            schemas.name_key(k) == "CREATIONTIMESTAMP" for k in props
        ):
            # Personalize dates an item put without one at the time it was put.
            props = {**props, "creationTimestamp": int(now)}
        values = schema_values(props, fields, where, dataset_type.capitalize(), reserved={
            schemas.name_key(id_member): f"{list_name}[{i}].{id_member}",
        })
        records.append(StoredRecord(entry[id_member], values))
    svc.events.put_records(dataset.arn, records)


# ---- shared: properties against a schema ----------------------------------------------------------------


def parse_properties(text: str | None, where: str) -> dict[str, Any]:
    """The JSON object a `properties` string holds ({} when absent); InvalidInputException naming `where` if it is
    not one."""
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as err:
        raise InvalidInputException(f"{where} is not a JSON object: {err}") from None
    if not isinstance(value, dict):
        raise InvalidInputException(f"{where} is not a JSON object: it holds {type(value).__name__} {text[:60]!r}")
    return value


def schema_values(
    props: Mapping[str, Any],
    fields: Sequence[Field],
    where: str,
    schema_name: str,
    *,
    extra_keys: Sequence[str] = (),
    reserved: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`properties` keys matched to `fields` and their values converted (imports.convert_value): every field's name ->
    its value, None for an absent nullable field. InvalidInputException naming `where`.<key> for an unknown key, a
    key in `reserved` (name_key -> the member to set instead), two keys for one field, a bad value, or a missing
    non-nullable field. `extra_keys` are other keys the caller accepts, listed in the unknown-key message."""
    by_key = {schemas.name_key(f.name): f for f in fields}
    values: dict[str, Any] = {f.name: None for f in fields}
    given: dict[str, str] = {}
    for key, value in props.items():
        norm = schemas.name_key(key)
        if reserved and norm in reserved:
            raise InvalidInputException(f"{where}.{key} is not allowed in properties; set {reserved[norm]}")
        field = by_key.get(norm)
        if field is None:
            allowed = [*(schemas.property_name(f.name) for f in fields), *extra_keys]
            raise InvalidInputException(
                f"{where}.{key} is not a field of the {schema_name} schema; allowed keys: "
                f"{', '.join(allowed) or 'none'}"
            )
        if field.name in given:
            raise InvalidInputException(
                f"{where} has both {given[field.name]} and {key}, which name the same field {field.name}"
            )
        given[field.name] = key
        values[field.name] = _convert(field, value, f"{where}.{key}")
    for field in fields:
        if field.name not in given and not field.nullable:
            raise InvalidInputException(
                f"{where}.{schemas.property_name(field.name)} is required: the {schema_name} schema's field "
                f"{field.name} is not nullable"
            )
    return values


def _convert(field: Field, value: Any, where: str) -> Any:
    from tailor import imports  # numpy: loaded by the first Put* call, not at every cold start

    try:
        return imports.convert_value(field, value)
    except ValueError as err:
        raise InvalidInputException(f"{where}: {err}") from None


def _agree(current: Any, given: Any, member: str, path: str) -> Any:
    """A value given both as a member and in properties must be the same."""
    if current is not None and given is not None and current != given:
        raise InvalidInputException(
            f"{path} ({json.dumps(given)}) disagrees with {member} ({json.dumps(current)}); give it once"
        )
    return given if current is None else current

