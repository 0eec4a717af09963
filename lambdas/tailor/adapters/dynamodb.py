"""ResourceStore on one DynamoDB table: conditional writes for uniqueness, GSIs for List*."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from tailor import config
from tailor.errors import ResourceAlreadyExistsException, ResourceInUseException, ResourceNotFoundException
from tailor.ports import Page, Resource

_MAX_RETRIES = 8


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _list_key(created: float, arn: str) -> str:
    return f"{created:017.3f}#{arn}"


class DynamoResourceStore:
    def __init__(self, client: Any, table: str) -> None:
        self._ddb = client
        self._table = table

    # -- encoding: the wire document is stored as JSON text, so numbers never become Decimals
    @staticmethod
    def _item(resource: Resource, locks: tuple[str, ...], version: int) -> dict[str, Any]:
        created = float(resource.doc.get("creationDateTime", 0.0))
        item = {
            config.RESOURCES_PK: _s(resource.arn),
            config.BY_KIND_PK: _s(resource.kind),
            config.LIST_SK: _s(_list_key(created, resource.arn)),
            "doc": _s(json.dumps(resource.doc)),
            "tags": _s(json.dumps(resource.tags)),
            "internal": _s(json.dumps(resource.internal)),
            "locks": _s(json.dumps(list(locks))),
            "status": _s(str(resource.doc.get("status", ""))),
            "version": {"N": str(version)},
        }
        if resource.parent:
            item["parent"] = _s(resource.parent)
            item[config.BY_PARENT_PK] = _s(f"{resource.kind}|{resource.parent}")
        return item

    @staticmethod
    def _resource(item: Mapping[str, Any]) -> Resource:
        return Resource(
            arn=item[config.RESOURCES_PK]["S"],
            kind=item[config.BY_KIND_PK]["S"],
            doc=json.loads(item["doc"]["S"]),
            parent=item["parent"]["S"] if "parent" in item else None,
            tags=json.loads(item["tags"]["S"]),
            internal=json.loads(item["internal"]["S"]),
        )

    def create(self, resource: Resource, locks: tuple[str, ...] = ()) -> None:
        new = {config.RESOURCES_PK: _s(resource.arn)}
        cond = f"attribute_not_exists({config.RESOURCES_PK})"
        if not locks:
            try:
                self._ddb.put_item(
                    TableName=self._table, Item=self._item(resource, locks, 1), ConditionExpression=cond
                )
            except ClientError as err:
                if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    raise ResourceAlreadyExistsException(f"{resource.arn} already exists") from None
                raise
            return
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": self._item(resource, locks, 1), "ConditionExpression": cond}}
        ]
        for lock in locks:
            item = {**new, config.RESOURCES_PK: _s(lock), "owner": _s(resource.arn)}
            writes.append({"Put": {"TableName": self._table, "Item": item, "ConditionExpression": cond}})
        try:
            self._ddb.transact_write_items(TransactItems=writes)
        except ClientError as err:
            if err.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = err.response.get("CancellationReasons") or []
            taken = [
                (resource.arn, *locks)[i]
                for i, r in enumerate(reasons)
                if r.get("Code") == "ConditionalCheckFailed" and i <= len(locks)
            ]
            what = taken[0] if taken else resource.arn
            if not what.startswith("arn:"):
                what = f"A resource for {what.split('#', 1)[-1]}"
            raise ResourceAlreadyExistsException(f"{what} already exists") from None

    def _get_item(self, arn: str) -> dict[str, Any] | None:
        resp = self._ddb.get_item(
            TableName=self._table, Key={config.RESOURCES_PK: _s(arn)}, ConsistentRead=True
        )
        item = resp.get("Item")
        if item is None or "doc" not in item:
            return None
        return dict(item)

    def get(self, arn: str) -> Resource | None:
        item = self._get_item(arn)
        return self._resource(item) if item else None

    def lock_owner(self, lock: str) -> str | None:
        # Lock items carry only the key and "owner" (see create); a resource item has no "owner".
        resp = self._ddb.get_item(
            TableName=self._table, Key={config.RESOURCES_PK: _s(lock)}, ConsistentRead=True
        )
        owner = resp.get("Item", {}).get("owner")
        return str(owner["S"]) if owner else None

    def update(
        self,
        arn: str,
        doc_changes: Mapping[str, Any],
        *,
        internal_changes: Mapping[str, Any] | None = None,
        expect_status: frozenset[str] | None = None,
        remove: tuple[str, ...] = (),
        check: Callable[[Resource], None] | None = None,
    ) -> Resource:
        # Optimistic concurrency: read, check, change, write back only if nobody wrote in between.
        for _ in range(_MAX_RETRIES):
            item = self._get_item(arn)
            if item is None:
                raise ResourceNotFoundException(f"Could not find resource {arn}")
            current = self._resource(item)
            if expect_status is not None and current.status not in expect_status:
                raise ResourceInUseException(
                    f"{arn} is in status {current.status}; expected one of {sorted(expect_status)}"
                )
            if check is not None:
                check(current)
            current.doc.update(doc_changes)
            for key in remove:
                current.doc.pop(key, None)
            current.internal.update(internal_changes or {})
            version = int(item["version"]["N"])
            new_item = self._item(current, tuple(json.loads(item["locks"]["S"])), version + 1)
            try:
                self._ddb.put_item(
                    TableName=self._table,
                    Item=new_item,
                    ConditionExpression="#v = :v",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
                return current
            except ClientError as err:
                if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        raise ResourceInUseException(f"{arn} is being modified concurrently; try again")

    def set_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        # Bumping the version makes a concurrent read-modify-write (update) retry instead of writing stale tags back.
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={config.RESOURCES_PK: _s(arn)},
                UpdateExpression="SET #t = :t ADD #v :one",
                ConditionExpression=f"attribute_exists({config.RESOURCES_PK})",
                ExpressionAttributeNames={"#t": "tags", "#v": "version"},
                ExpressionAttributeValues={":t": _s(json.dumps(dict(tags))), ":one": {"N": "1"}},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ResourceNotFoundException(f"Could not find resource {arn}") from None
            raise

    def delete(self, arn: str) -> None:
        item = self._get_item(arn)
        if item is None:
            return
        keys = [arn, *json.loads(item["locks"]["S"])]
        for start in range(0, len(keys), 25):
            self._ddb.transact_write_items(
                TransactItems=[
                    {"Delete": {"TableName": self._table, "Key": {config.RESOURCES_PK: _s(k)}}}
                    for k in keys[start : start + 25]
                ]
            )

    def list(self, kind: str, parent: str | None, limit: int, cursor: dict[str, Any] | None) -> Page:
        if parent is None:
            index, key_attr, key_value = config.BY_KIND_INDEX, config.BY_KIND_PK, kind
        else:
            index, key_attr, key_value = config.BY_PARENT_INDEX, config.BY_PARENT_PK, f"{kind}|{parent}"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": key_attr},
            "ExpressionAttributeValues": {":k": _s(key_value)},
            "ScanIndexForward": False,  # newest first
            "Limit": limit + 1,  # one extra tells whether another page exists
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {k: _s(str(v)) for k, v in cursor.items()}
        items: list[dict[str, Any]] = []
        while len(items) <= limit:
            resp = self._ddb.query(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        page = items[:limit]
        next_cursor = None
        if len(items) > limit:
            last = page[-1]
            next_cursor = {
                config.RESOURCES_PK: last[config.RESOURCES_PK]["S"],
                key_attr: last[key_attr]["S"],
                config.LIST_SK: last[config.LIST_SK]["S"],
            }
        return Page([self._resource(i) for i in page], next_cursor)


def table_definitions(resources_table: str, events_table: str) -> list[dict[str, Any]]:
    """create_table arguments matching what infra/storage.py deploys (local mode and tests use these)."""
    list_index = [
        (config.BY_KIND_INDEX, config.BY_KIND_PK),
        (config.BY_PARENT_INDEX, config.BY_PARENT_PK),
    ]
    return [
        {
            "TableName": resources_table,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": config.RESOURCES_PK, "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in (config.RESOURCES_PK, config.BY_KIND_PK, config.BY_PARENT_PK, config.LIST_SK)
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index,
                    "KeySchema": [
                        {"AttributeName": pk, "KeyType": "HASH"},
                        {"AttributeName": config.LIST_SK, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index, pk in list_index
            ],
        },
        {
            "TableName": events_table,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": config.EVENTS_PK, "KeyType": "HASH"},
                {"AttributeName": config.EVENTS_SK, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": config.EVENTS_PK, "AttributeType": "S"},
                {"AttributeName": config.EVENTS_SK, "AttributeType": "S"},
            ],
        },
    ]


def ensure_tables(client: Any, resources_table: str, events_table: str) -> None:
    existing = set(client.list_tables().get("TableNames", []))
    for definition in table_definitions(resources_table, events_table):
        if definition["TableName"] not in existing:
            client.create_table(**definition)
