"""CreateFilter, DescribeFilter, ListFilters, DeleteFilter; expressions are parsed and checked at create time."""

from __future__ import annotations

from typing import Any

from tailor.errors import InvalidInputException, LimitExceededException
from tailor.filters.expression import DATASET_TYPES, parse_filter
from tailor.operations import common
from tailor.operations.schemas import load as load_schema
from tailor.schemas import Schema
from tailor.service import Service

KIND = "filter"
MAX_FILTERS_PER_GROUP = 10
MAX_FIELDS_PER_GROUP = 10


def _check_fields(svc: Service, group_arn: str, fields: frozenset[tuple[str, str]]) -> None:
    datasets = {
        d.doc["datasetType"]: d
        for d in common.children(svc, "dataset", group_arn)
        if d.status not in common.DELETING
    }
    loaded: dict[str, Schema] = {}  # each dataset's schema read and parsed once, however many of its fields are used
    for dataset_name, field in sorted(fields):
        dataset_type = DATASET_TYPES[dataset_name]
        dataset = datasets.get(dataset_type)
        if dataset is None:
            raise InvalidInputException(
                f"The filter uses {dataset_name}.{field} but dataset group {group_arn} has no "
                f"{dataset_type} dataset"
            )
        if dataset_type not in loaded:
            loaded[dataset_type] = load_schema(common.get(svc, dataset.doc["schemaArn"], "schema"))
        schema = loaded[dataset_type]
        found = schema.field(field)
        if found is None:
            raise InvalidInputException(
                f"The filter uses {dataset_name}.{field} but the {dataset_type} schema has no field {field} "
                f"(fields: {', '.join(schema.field_names)})"
            )
        if found.textual or found.type == "boolean":
            raise InvalidInputException(
                f"{dataset_name}.{field} is a {'textual' if found.textual else 'boolean'} field; "
                "filters cannot use textual or boolean fields"
            )


def create_filter(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    group = common.get(svc, req["datasetGroupArn"], "dataset-group")
    group = common.require_active(group, svc)
    expression = parse_filter(req["filterExpression"])
    _check_fields(svc, group.arn, expression.fields)
    live = [f for f in common.children(svc, KIND, group.arn) if f.status not in common.DELETING]
    if len(live) >= MAX_FILTERS_PER_GROUP:
        raise LimitExceededException(
            f"Dataset group {group.arn} already has {len(live)} filters (limit {MAX_FILTERS_PER_GROUP})"
        )
    in_use = set(expression.fields)
    for other in live:
        in_use |= parse_filter(other.doc["filterExpression"]).fields
    if len(in_use) > MAX_FIELDS_PER_GROUP:
        raise LimitExceededException(
            f"The filters of dataset group {group.arn} would use {len(in_use)} distinct fields "
            f"(limit {MAX_FIELDS_PER_GROUP})"
        )
    arn = svc.arn(KIND, req["name"])
    doc = {
        "name": req["name"],
        "filterArn": arn,
        "datasetGroupArn": group.arn,
        "filterExpression": req["filterExpression"],
        "status": common.CREATE_PENDING,
    }
    common.new_resource(svc, KIND, arn, doc, parent=group.arn, tags=req.get("tags"))
    svc.launcher.launch("activate", arn)
    return {"filterArn": arn}


def describe_filter(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["filterArn"], KIND, "filter")


def list_filters(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    # sic: the model's list member is capitalised
    return common.list_op(svc, req, KIND, "FilterSummary", "Filters", "datasetGroupArn", "dataset-group")


def delete_filter(svc: Service, req: dict[str, Any]) -> None:
    common.start_delete(svc, common.get(svc, req["filterArn"], KIND))
