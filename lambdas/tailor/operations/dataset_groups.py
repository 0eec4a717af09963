"""CreateDatasetGroup, DescribeDatasetGroup, ListDatasetGroups, DeleteDatasetGroup."""

from __future__ import annotations

from typing import Any

from tailor.errors import InvalidInputException
from tailor.operations import common
from tailor.service import Service

KIND = "dataset-group"
# Personalize refuses DeleteDatasetGroup until these are gone (its filters go with it).
DEPENDENTS = ("dataset", "event-tracker", "solution", "recommender")


def create_dataset_group(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    # The role exists to let Personalize use the KMS key: one without the other is refused.
    if bool(req.get("roleArn")) != bool(req.get("kmsKeyArn")):
        raise InvalidInputException("roleArn and kmsKeyArn must be given together (the role grants use of the key)")
    arn = svc.arn(KIND, req["name"])
    existing = svc.store.get(arn)
    if existing is not None:
        common.vanished(svc, existing)  # a deleted group whose time to be seen is over frees its name now
    doc = {
        "name": req["name"],
        "datasetGroupArn": arn,
        "status": common.CREATE_PENDING,
        "roleArn": req.get("roleArn"),
        "kmsKeyArn": req.get("kmsKeyArn"),
        "domain": req.get("domain"),
    }
    common.new_resource(svc, KIND, arn, doc, tags=req.get("tags"))
    svc.launcher.launch("activate", arn)
    out = {"datasetGroupArn": arn}
    if req.get("domain"):
        out["domain"] = req["domain"]
    return out


def describe_dataset_group(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["datasetGroupArn"], KIND, "datasetGroup")


def list_dataset_groups(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "DatasetGroupSummary", "datasetGroups")


def delete_dataset_group(svc: Service, req: dict[str, Any]) -> None:
    group = common.get(svc, req["datasetGroupArn"], KIND)
    common.refuse_if_children(svc, group, DEPENDENTS)
    common.start_delete(svc, group)
