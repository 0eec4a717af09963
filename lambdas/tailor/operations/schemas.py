"""CreateSchema, DescribeSchema, ListSchemas, DeleteSchema (schemas are synchronous and have no status)."""

from __future__ import annotations

from typing import Any

from tailor import schemas
from tailor.errors import ResourceInUseException
from tailor.operations import common
from tailor.ports import Resource
from tailor.service import Service

KIND = "schema"


def load(resource: Resource) -> schemas.Schema:
    return schemas.parse_schema(resource.doc["schema"])


def create_schema(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    schemas.parse_schema(req["schema"])
    arn = svc.arn(KIND, req["name"])
    doc = {"name": req["name"], "schemaArn": arn, "schema": req["schema"], "domain": req.get("domain")}
    common.new_resource(svc, KIND, arn, doc)
    return {"schemaArn": arn}


def describe_schema(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["schemaArn"], KIND, "schema")


def list_schemas(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "DatasetSchemaSummary", "schemas")


def delete_schema(svc: Service, req: dict[str, Any]) -> None:
    schema = common.get(svc, req["schemaArn"], KIND)
    cursor = None
    while True:
        page = svc.store.list("dataset", None, 100, cursor)
        for dataset in page.items:
            if dataset.doc.get("schemaArn") == schema.arn and dataset.status not in common.DELETING:
                raise ResourceInUseException(
                    f"Schema {schema.arn} is used by dataset {dataset.arn}; delete the dataset first"
                )
        if page.cursor is None:
            break
        cursor = page.cursor
    svc.store.delete(schema.arn)
