"""Asynchronous work behind Create*/Delete*: what the Step Functions workflow (or the local launcher) runs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tailor import attribution, config, recommender_jobs, schemas
from tailor.errors import ResourceInUseException, ResourceNotFoundException
from tailor.imports import ImportFailed, ImportResult, merge, read_csv
from tailor.operations import common
from tailor.operations.data_jobs import DELETION_RUNNING, FAILED
from tailor.operations.solutions import CREATE_STOPPED, CREATE_STOPPING, sync_latest
from tailor.ports import Resource
from tailor.service import Service
from tailor.snapshot import read_snapshot, widen, write_snapshot

logger = logging.getLogger("tailor.jobs")

# What goes with a resource when it is deleted (Personalize deletes these along with their parent).
CASCADE = {
    "dataset-group": ("filter", "data-deletion-job", "metric-attribution"),
    "dataset": ("dataset-import-job", "dataset-export-job"),
    "solution": ("solution-version",),
}


def activate(svc: Service, arn: str) -> None:
    """Resources with nothing to build: CREATE PENDING → CREATE IN_PROGRESS → ACTIVE. A request that needed the
    resource may have activated it already (common.require_active): then there is nothing left to do."""
    try:
        common.advance(svc, arn, common.CREATE_PENDING, common.CREATE_IN_PROGRESS)
        common.advance(svc, arn, common.CREATE_IN_PROGRESS, common.ACTIVE)
    except ResourceInUseException:
        current = svc.store.get(arn)
        if current is None or current.status != common.ACTIVE:
            raise


def delete(svc: Service, arn: str) -> None:
    resource = common.start_deleting(svc, arn)
    if resource is not None:
        _remove(svc, resource)


def _remove(svc: Service, resource: Resource) -> None:
    for kind in CASCADE.get(resource.kind, ()):
        while True:
            batch = common.children(svc, kind, resource.arn)
            if not batch:
                break
            for child in batch:
                _remove(svc, child)
    prefix = None
    if resource.kind == "dataset":
        prefix = _dataset_prefix(svc, resource.arn.rsplit("/", 2)[-2], resource.doc["datasetType"])
    elif resource.kind == "solution-version":
        prefix = model_prefix(svc, resource.arn)
    if prefix:
        for uri in list(svc.blobs.list(prefix)):
            svc.blobs.delete(uri)
    if resource.kind == "dataset-group" and svc.deletion_linger_seconds > 0:
        # Everything it held is gone; the group itself is still seen, DELETE IN_PROGRESS, for a while.
        svc.store.update(resource.arn, {}, internal_changes={
            common.VANISHES_AT: svc.now() + svc.deletion_linger_seconds})
        return
    svc.store.delete(resource.arn)


def _dataset_prefix(svc: Service, group_name: str, dataset_type: str) -> str:
    return f"s3://{svc.artifacts_bucket}/datasets/{group_name}/{dataset_type}/"


def model_prefix(svc: Service, version_arn: str) -> str:
    """Where a solution version's artifact and metrics live: s3://<artifacts>/models/<solution>/<version>/."""
    solution_name, version_id = version_arn.rsplit("/", 2)[-2:]
    return f"s3://{svc.artifacts_bucket}/models/{solution_name}/{version_id}/"


def import_dataset(svc: Service, arn: str) -> None:
    """CREATE PENDING → CREATE IN_PROGRESS → ACTIVE with the dataset switched to its data, or CREATE FAILED.

    The rows are read once; the merge with the dataset's data is redone if another job switched the dataset while
    this one merged (two INCREMENTAL imports at once both land), and leaves out the users of data deletions that ran
    since the job was created (a deletion is not undone by an import that finishes after it)."""
    from tailor import data_jobs  # numpy-heavy; and data_jobs imports this module

    job = common.advance(svc, arn, common.CREATE_PENDING, common.CREATE_IN_PROGRESS)
    dataset = common.get(svc, job.doc["datasetArn"], "dataset")
    schema = schemas.parse_schema(common.get(svc, dataset.doc["schemaArn"], "schema").doc["schema"])
    mode = job.doc.get("importMode") or "FULL"
    dataset_type = dataset.doc["datasetType"]
    location = job.doc["dataSource"]["dataLocation"]
    group_name = dataset.arn.rsplit("/", 2)[-2]
    logger.info("importing %s into %s (%s)", location, dataset.arn, mode)
    try:
        if mode not in ("FULL", "INCREMENTAL"):
            raise ImportFailed(f"Unknown import mode {mode!r}; expected FULL or INCREMENTAL")
        new, result = read_csv(svc.blobs, location, schema)
        for _ in range(data_jobs.SWITCH_ATTEMPTS):
            dataset = common.get(svc, dataset.arn, "dataset")
            previous_uri = dataset.internal.get("snapshot")
            previous = read_snapshot(svc.blobs, previous_uri) if previous_uri and mode == "INCREMENTAL" else None
            if previous is not None and previous.field_names != schema.field_names:
                previous = widen(previous, schema.fields)  # UpdateDataset added fields since the last import
            snapshot = merge(previous, new, schema, dataset_type, mode, location)
            deleted = data_jobs.users_deleted_since(svc, dataset.doc["datasetGroupArn"], job.doc["creationDateTime"])
            snapshot = data_jobs.without_users(snapshot, deleted)
            uri = f"{_dataset_prefix(svc, group_name, dataset_type)}{job.doc['jobName']}.npz"
            write_snapshot(svc.blobs, uri, snapshot)
            # One conditional write: readers see the old data or the new, never half, and no other job's is lost.
            try:
                data_jobs.switch_snapshot(svc, dataset.arn, previous_uri, uri, snapshot.n_rows)
                break
            except data_jobs.SnapshotChanged:
                logger.info("%s: the data of %s changed meanwhile; merging again", arn, dataset.arn)
        else:
            raise ImportFailed(f"The data of {dataset.arn} kept changing while this job merged into it (other "
                               "imports or deletions running); run the import again once they are done")
    except ImportFailed as failure:
        fail(svc, arn, failure.reason)
        return
    logger.info("imported %d rows from %d file(s) into %s", result.rows, result.files, dataset.arn)
    if result.dropped:
        logger.warning("%s %s", arn, result.summary())
    if job.doc.get("publishAttributionMetricsToS3"):
        attribution.publish_after_import(svc, arn)  # in S3 when the job is ACTIVE; a failure there is only logged
    common.advance(svc, arn, common.CREATE_IN_PROGRESS, common.ACTIVE, **{IMPORT_REPORT: import_report(result)})


# DescribeDatasetImportJob's extension member (see protocol.model.EXTENSION_PREFIX): what an ACTIVE import read.
IMPORT_REPORT = "tailorImportReport"


def import_report(result: ImportResult) -> dict[str, object]:
    return {"rowsImported": result.rows, "rowsDropped": result.rows_dropped, "filesRead": result.files,
            "droppedRows": [d.wire() for d in result.dropped]}


def fail(svc: Service, arn: str, reason: str) -> None:
    """Record a failure a person can act on; a resource is never left pending or in progress."""
    try:
        resource = svc.store.get(arn)
        if resource is None:
            return
        if resource.kind == "recommender":  # its create, update, stop, start and delete fail in their own ways
            recommender_jobs.fail_recommender(svc, resource, reason)
            return
        if resource.status in common.IN_FLIGHT:
            failed = svc.store.update(
                arn,
                {"status": common.CREATE_FAILED, "failureReason": reason[:1000], "lastUpdatedDateTime": svc.now()},
                expect_status=common.IN_FLIGHT,
            )
            if failed.kind == "solution-version":
                sync_latest(svc, failed)
        elif resource.kind == "solution-version" and resource.status == CREATE_STOPPING:
            # Stopped while training, and the training failed before it saw the stop: the stop asked for wins.
            stopped = svc.store.update(arn, {"status": CREATE_STOPPED, "failureReason": reason[:1000],
                                             "lastUpdatedDateTime": svc.now()},
                                       expect_status=frozenset({CREATE_STOPPING}))
            sync_latest(svc, stopped)
        elif resource.kind == "data-deletion-job" and resource.status in DELETION_RUNNING:
            svc.store.update(arn, {"status": FAILED, "failureReason": reason[:1000], "lastUpdatedDateTime": svc.now()},
                             expect_status=DELETION_RUNNING)
        elif (resource.doc.get("latestCampaignUpdate") or {}).get("status") in common.IN_FLIGHT:
            _fail_campaign_update(svc, resource, reason)  # the campaign keeps serving what it served before
        elif resource.status in common.DELETING:
            # A failed delete leaves the resource usable again rather than stuck deleting.
            svc.store.update(arn, {"status": common.ACTIVE, "lastUpdatedDateTime": svc.now()},
                             expect_status=common.DELETING)
    except (ResourceNotFoundException, ResourceInUseException):
        logger.warning("could not record failure of %s: %s", arn, reason)


def update_campaign(svc: Service, arn: str) -> None:
    """Apply a campaign's latestCampaignUpdate: until now the campaign kept serving its previous version."""
    campaign = svc.store.get(arn)
    update = (campaign.doc.get("latestCampaignUpdate") or {}) if campaign else {}
    if campaign is None or update.get("status") != common.CREATE_PENDING:
        return
    update = {**update, "status": common.CREATE_IN_PROGRESS, "lastUpdatedDateTime": svc.now()}
    campaign = svc.store.update(arn, {"latestCampaignUpdate": update}, expect_status=common.UPDATABLE_CAMPAIGN)
    version = svc.store.get(update["solutionVersionArn"])
    if version is None or version.status != common.ACTIVE:
        _fail_campaign_update(svc, campaign, f"Solution version {update['solutionVersionArn']} is no longer ACTIVE")
        return
    now = svc.now()
    applied = {key: update[key] for key in ("solutionVersionArn", "minProvisionedTPS", "campaignConfig")}
    svc.store.update(
        arn,
        {**applied, "status": common.ACTIVE, "lastUpdatedDateTime": now,
         "latestCampaignUpdate": {**update, "status": common.ACTIVE, "lastUpdatedDateTime": now}},
        remove=("failureReason",),
        expect_status=common.UPDATABLE_CAMPAIGN,
    )


def _fail_campaign_update(svc: Service, campaign: Resource, reason: str) -> None:
    update = {**campaign.doc["latestCampaignUpdate"], "status": common.CREATE_FAILED, "failureReason": reason[:1000],
              "lastUpdatedDateTime": svc.now()}
    svc.store.update(campaign.arn, {"latestCampaignUpdate": update}, expect_status=common.UPDATABLE_CAMPAIGN)


def train(svc: Service, arn: str) -> None:
    from tailor.training.entrypoint import train_version  # numpy/scipy training code loads only where it runs

    train_version(svc, arn)


def auto_train(svc: Service, arn: str) -> None:
    from tailor.autotrain import sweep

    sweep(svc, arn)


def batch_inference(svc: Service, arn: str) -> None:
    from tailor import batch  # numpy and the serving code load only where batch jobs run

    batch.batch_inference(svc, arn)


def batch_segment(svc: Service, arn: str) -> None:
    from tailor import batch

    batch.batch_segment(svc, arn)


def export_dataset(svc: Service, arn: str) -> None:
    from tailor import data_jobs  # the export and deletion code loads only where those jobs run

    data_jobs.export_dataset(svc, arn)


def delete_data(svc: Service, arn: str) -> None:
    from tailor import data_jobs

    data_jobs.delete_users(svc, arn)


JOBS: dict[str, Callable[[Service, str], None]] = {
    "activate": activate,
    config.AUTO_TRAIN_JOB: auto_train,
    "attribution-report": attribution.publish_for_import,
    "batch-inference": batch_inference,
    "batch-segment": batch_segment,
    "delete": delete,
    "delete-data": delete_data,
    "export": export_dataset,
    "import": import_dataset,
    "train": train,
    "update-campaign": update_campaign,
    "train-recommender": recommender_jobs.train_recommender,
    "update-recommender": recommender_jobs.update_recommender,
    "stop-recommender": recommender_jobs.stop_recommender,
    "start-recommender": recommender_jobs.start_recommender,
    "delete-recommender": recommender_jobs.delete_recommender,
}


def run(svc: Service, job: str, arn: str) -> None:
    """Run a job; unexpected errors propagate (the workflow's Catch records them with `fail`)."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}")
    JOBS[job](svc, arn)


def run_and_record(svc: Service, job: str, arn: str) -> None:
    """Run a job, recording any unexpected error on the resource: the local launcher's Catch."""
    try:
        run(svc, job, arn)
    except Exception as err:
        logger.exception("job %s for %s failed", job, arn)
        fail(svc, arn, internal_error_reason(job, err))


def internal_error_reason(job: str, err: Exception) -> str:
    """The failureReason of a job that raised (the local launcher's and the Fargate container's)."""
    reason = f"Internal error during {job}: {type(err).__name__}: {err}"
    if isinstance(err, MemoryError):
        hint = "The job ran out of memory; in AWS, raise trainingMemoryMb (and trainingCpu) in cdk.json."
        reason = f"{reason.rstrip('.')}. {hint}"
    return reason
