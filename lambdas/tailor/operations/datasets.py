"""CreateDataset, DescribeDataset, ListDatasets, UpdateDataset, DeleteDataset."""

from __future__ import annotations

from typing import Any

from tailor import schemas
from tailor.errors import InvalidInputException, ResourceAlreadyExistsException, ResourceInUseException
from tailor.operations import common
from tailor.operations.schemas import load as load_schema
from tailor.service import Service

KIND = "dataset"


def create_dataset(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    dataset_type = req["datasetType"].upper()
    if dataset_type not in schemas.DATASET_TYPES:
        raise InvalidInputException(
            f"datasetType must be one of {', '.join(schemas.DATASET_TYPES)}; got {req['datasetType']}"
        )
    group = common.get(svc, req["datasetGroupArn"], "dataset-group")
    group = common.require_active(group, svc)
    schema_res = common.get(svc, req["schemaArn"], "schema")
    _check_schema_for(schema_res.doc, load_schema(schema_res), dataset_type, group.doc.get("domain"))
    arn = svc.arn(KIND, group.doc["name"], dataset_type)
    doc = {
        "name": req["name"],
        "datasetArn": arn,
        "datasetGroupArn": group.arn,
        "datasetType": dataset_type,
        "schemaArn": schema_res.arn,
        "status": common.CREATE_PENDING,
    }
    try:
        # The ARN is group + type, so "one dataset of a type per group" is the ARN's uniqueness.
        common.new_resource(svc, KIND, arn, doc, parent=group.arn, tags=req.get("tags"))
    except ResourceAlreadyExistsException:
        raise ResourceAlreadyExistsException(
            f"Dataset group {group.doc['name']} already has a {dataset_type} dataset ({arn})"
        ) from None
    svc.launcher.launch("activate", arn)
    return {"datasetArn": arn}


def _check_schema_for(schema_doc: dict[str, Any], schema: schemas.Schema, dataset_type: str,
                      domain: str | None) -> None:
    if (schema_doc.get("domain") or None) != (domain or None):
        raise InvalidInputException(
            f"Schema {schema_doc['schemaArn']} has domain {schema_doc.get('domain') or 'none'} but the "
            f"dataset group has domain {domain or 'none'}; they must match"
        )
    schemas.check_fits(schema, dataset_type, domain)


def describe_dataset(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["datasetArn"], KIND, "dataset")


def list_datasets(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "DatasetSummary", "datasets", "datasetGroupArn", "dataset-group")


def update_dataset(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    dataset = common.get(svc, req["datasetArn"], KIND)
    dataset = common.require_active(dataset, svc)
    group = common.get(svc, dataset.doc["datasetGroupArn"], "dataset-group")
    new_res = common.get(svc, req["schemaArn"], "schema")
    new_schema = load_schema(new_res)
    _check_schema_for(new_res.doc, new_schema, dataset.doc["datasetType"], group.doc.get("domain"))
    old_schema = load_schema(common.get(svc, dataset.doc["schemaArn"], "schema"))
    # Data already imported must still fit: a new schema may add fields, not drop or retype them.
    for old in old_schema.fields:
        new = new_schema.field(old.name)
        if new is None:
            raise InvalidInputException(
                f"The new schema drops field {old.name}, which the dataset's data has; schemas may only add fields"
            )
        if new.type != old.type:
            raise InvalidInputException(f"The new schema changes the type of {old.name} from {old.type} to {new.type}")
    now = svc.now()
    update = {"schemaArn": new_res.arn, "status": common.ACTIVE, "creationDateTime": now, "lastUpdatedDateTime": now}
    svc.store.update(
        dataset.arn,
        {"schemaArn": new_res.arn, "latestDatasetUpdate": update, "lastUpdatedDateTime": now},
        expect_status=frozenset({common.ACTIVE}),
    )
    return {"datasetArn": dataset.arn}


def delete_dataset(svc: Service, req: dict[str, Any]) -> None:
    dataset = common.get(svc, req["datasetArn"], KIND)
    for job in common.children(svc, "dataset-import-job", dataset.arn):
        if job.status in common.IN_FLIGHT:
            raise ResourceInUseException(
                f"Cannot delete dataset {dataset.arn} while import job {job.arn} is {job.status}"
            )
    common.start_delete(svc, dataset)
