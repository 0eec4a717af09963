"""CreateDatasetImportJob, DescribeDatasetImportJob, ListDatasetImportJobs."""

from __future__ import annotations

from typing import Any

from tailor.operations import common
from tailor.service import Service

KIND = "dataset-import-job"


def create_dataset_import_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    common.s3_path(svc, req["dataSource"].get("dataLocation"), "dataSource.dataLocation",
                   "s3://bucket/data.csv or s3://bucket/folder/")
    dataset = common.get(svc, req["datasetArn"], "dataset")
    dataset = common.require_active(dataset, svc)
    arn = svc.arn(KIND, req["jobName"])
    doc = {
        "jobName": req["jobName"],
        "datasetImportJobArn": arn,
        "datasetArn": dataset.arn,
        "dataSource": req["dataSource"],
        "roleArn": req.get("roleArn"),
        "status": common.CREATE_PENDING,
        "importMode": req.get("importMode") or "FULL",
        "publishAttributionMetricsToS3": bool(req.get("publishAttributionMetricsToS3", False)),
    }
    common.new_resource(svc, KIND, arn, doc, parent=dataset.arn, tags=req.get("tags"))
    svc.launcher.launch("import", arn)
    return {"datasetImportJobArn": arn}


def describe_dataset_import_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["datasetImportJobArn"], KIND, "datasetImportJob")


def list_dataset_import_jobs(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "DatasetImportJobSummary", "datasetImportJobs", "datasetArn", "dataset")
