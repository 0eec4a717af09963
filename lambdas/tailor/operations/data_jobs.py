"""CreateDatasetExportJob, CreateDataDeletionJob and their Describe / List operations.

The jobs themselves run asynchronously (tailor.data_jobs); these operations check the request, store the job and
start it. The protocol layer has already checked the request against the model (required members, name pattern,
lengths, the ingestionMode enum).
"""

from __future__ import annotations

from typing import Any

from tailor.errors import InvalidInputException
from tailor.operations import common
from tailor.service import Service

EXPORT_KIND = "dataset-export-job"
DELETION_KIND = "data-deletion-job"
INGESTION_MODES = ("BULK", "PUT", "ALL")
DEFAULT_INGESTION_MODE = "PUT"  # CreateDatasetExportJob's documented default (botocore model, API reference)

# A data deletion job's statuses (reference §3.1), not the CREATE ... ones of every other resource.
PENDING = "PENDING"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
DELETION_RUNNING = frozenset({PENDING, IN_PROGRESS})

# Personalize cannot export these dataset types (developer guide, "Exporting a dataset").
_NOT_EXPORTABLE = frozenset({"ACTIONS", "ACTION_INTERACTIONS"})


# ---- dataset export jobs --------------------------------------------------------------------------------------------


def create_dataset_export_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    destination = req["jobOutput"]["s3DataDestination"]
    common.s3_path(svc, destination.get("path"), "jobOutput.s3DataDestination.path", "s3://bucket/folder/")
    mode = req.get("ingestionMode") or DEFAULT_INGESTION_MODE
    if mode not in INGESTION_MODES:  # the protocol layer checks the enum; this guards direct calls
        raise InvalidInputException(f"ingestionMode must be one of {', '.join(INGESTION_MODES)}; got {mode}")
    dataset = common.get(svc, req["datasetArn"], "dataset")
    dataset = common.require_active(dataset, svc)
    if dataset.doc["datasetType"] in _NOT_EXPORTABLE:
        raise InvalidInputException(f"{dataset.doc['datasetType']} datasets cannot be exported ({dataset.arn})")
    arn = svc.arn(EXPORT_KIND, req["jobName"])
    doc = {
        "jobName": req["jobName"],
        "datasetExportJobArn": arn,
        "datasetArn": dataset.arn,
        "ingestionMode": mode,
        "roleArn": req["roleArn"],
        "status": common.CREATE_PENDING,
        "jobOutput": req["jobOutput"],
    }
    common.new_resource(svc, EXPORT_KIND, arn, doc, parent=dataset.arn, tags=req.get("tags"))
    svc.launcher.launch("export", arn)
    return {"datasetExportJobArn": arn}


def describe_dataset_export_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["datasetExportJobArn"], EXPORT_KIND, "datasetExportJob")


def list_dataset_export_jobs(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, EXPORT_KIND, "DatasetExportJobSummary", "datasetExportJobs",
                          "datasetArn", "dataset")


# ---- data deletion jobs ---------------------------------------------------------------------------------------------


def create_data_deletion_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    location = common.s3_path(svc, req["dataSource"].get("dataLocation"), "dataSource.dataLocation",
                              "s3://bucket/users-to-delete.csv")
    group = common.get(svc, req["datasetGroupArn"], "dataset-group")
    group = common.require_active(group, svc)
    arn = svc.arn(DELETION_KIND, req["jobName"])
    doc = {
        "jobName": req["jobName"],
        "dataDeletionJobArn": arn,
        "datasetGroupArn": group.arn,
        "dataSource": {"dataLocation": location},
        "roleArn": req["roleArn"],
        "status": PENDING,
    }
    common.new_resource(svc, DELETION_KIND, arn, doc, parent=group.arn, tags=req.get("tags"))
    svc.launcher.launch("delete-data", arn)
    return {"dataDeletionJobArn": arn}


def describe_data_deletion_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["dataDeletionJobArn"], DELETION_KIND, "dataDeletionJob")


def list_data_deletion_jobs(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, DELETION_KIND, "DataDeletionJobSummary", "dataDeletionJobs",
                          "datasetGroupArn", "dataset-group")
