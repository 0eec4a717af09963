"""Every in-between status has a way out: a job that dies (its container killed, its Lambda timed out, a bug) leaves
its resource in a final status with a reason, never PENDING, IN_PROGRESS or STOPPING for ever.

A job dies here in one of two places: before it does anything (the resource still … PENDING), or right after it has
marked the resource in progress (… IN_PROGRESS). The launcher then records the death as the workflow's Catch does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import tailor.jobs as jobs
from tests.contract.conftest import POPULARITY, make_solution, train
from tests.contract.test_data_jobs import ROLE
from tests.contract.test_recommenders import vod

__all__ = ["vod"]  # the fixture

FINAL = {"ACTIVE", "CREATE FAILED", "CREATE STOPPED", "FAILED", "COMPLETED", "INACTIVE"}


def between(resource: Any) -> str | None:
    """The in-between status a resource (or its latest update) is in, if any."""
    statuses = [resource.status] + [(resource.doc.get(key) or {}).get("status")
                                    for key in ("latestCampaignUpdate", "latestRecommenderUpdate")]
    return next((s for s in statuses if s and (s.endswith(("IN_PROGRESS", "PENDING")) or s.endswith("STOPPING"))),
                None)


class Death:
    """Kills the next job of a kind: at its start, or just after it marks its resource in progress."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tailor: Any, kind: str, when: str) -> None:
        self.kind, self.when, self.armed, self.seen = kind, when, True, ""
        store = tailor.embedded.service.store
        real_update = store.update
        real_job = jobs.JOBS[kind]

        inside = threading.local()  # set while this thread runs a job of `kind`

        def job(svc: Any, arn: str) -> None:
            if self.armed and self.when == "start":
                self.armed = False
                self.seen = between(svc.store.get(arn)) or ""
                raise RuntimeError("the job's container was killed")
            inside.on = True
            try:
                real_job(svc, arn)
            finally:
                inside.on = False

        def update(arn: str, changes: Any, **kwargs: Any) -> Any:
            out = real_update(arn, changes, **kwargs)
            status = between(out)
            if self.armed and self.when == "in progress" and getattr(inside, "on", False) and status \
                    and "IN_PROGRESS" in status:
                self.armed = False
                self.seen = status
                raise RuntimeError("the job's container was killed")
            return out

        monkeypatch.setitem(jobs.JOBS, kind, job)
        monkeypatch.setattr(store, "update", update)


@pytest.fixture
def version(personalize, tailor, trained_group) -> str:
    solution = make_solution(personalize, tailor, trained_group, name="base", recipe=POPULARITY)
    trained = train(personalize, tailor, solution)
    assert trained["status"] == "ACTIVE"
    return str(trained["solutionVersionArn"])


SCENARIOS: dict[str, tuple[str, Callable[..., Callable[[], dict[str, Any]]]]] = {}


def scenario(name: str, kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(start: Callable[..., Any]) -> Callable[..., Any]:
        SCENARIOS[name] = (kind, start)
        return start

    return register


@scenario("dataset import", "import")
def _import(personalize, tailor, s3, group, version):
    dataset = personalize.list_datasets(datasetGroupArn=group)["datasets"][0]["datasetArn"]
    arn = personalize.create_dataset_import_job(jobName="again", datasetArn=dataset, roleArn=ROLE,
                                                dataSource={"dataLocation": "s3://user-data/i.csv"})[
        "datasetImportJobArn"]
    return lambda: personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]


@scenario("solution version", "train")
def _train(personalize, tailor, s3, group, version):
    solution = version.rsplit("/", 1)[0]
    arn = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    return lambda: personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]


@scenario("campaign update", "update-campaign")
def _update_campaign(personalize, tailor, s3, group, version):
    campaign = personalize.create_campaign(name="c", solutionVersionArn=version)["campaignArn"]
    tailor.wait()
    personalize.update_campaign(campaignArn=campaign, minProvisionedTPS=2)
    return lambda: personalize.describe_campaign(campaignArn=campaign)["campaign"]["latestCampaignUpdate"]


@scenario("batch inference", "batch-inference")
def _batch(personalize, tailor, s3, group, version):
    s3.put_object(Bucket="user-data", Key="batch/in.json", Body=b'{"userId": "u1"}\n')
    arn = personalize.create_batch_inference_job(
        jobName="b", solutionVersionArn=version, roleArn=ROLE, jobInput={"s3DataSource": {
            "path": "s3://user-data/batch/in.json"}}, jobOutput={"s3DataDestination": {"path": "s3://user-data/o/"}},
    )["batchInferenceJobArn"]
    return lambda: personalize.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]


@scenario("dataset export", "export")
def _export(personalize, tailor, s3, group, version):
    dataset = personalize.list_datasets(datasetGroupArn=group)["datasets"][0]["datasetArn"]
    arn = personalize.create_dataset_export_job(jobName="e", datasetArn=dataset, roleArn=ROLE, jobOutput={
        "s3DataDestination": {"path": "s3://user-data/exports/"}})["datasetExportJobArn"]
    return lambda: personalize.describe_dataset_export_job(datasetExportJobArn=arn)["datasetExportJob"]


@scenario("data deletion", "delete-data")
def _delete_data(personalize, tailor, s3, group, version):
    s3.put_object(Bucket="user-data", Key="forget.csv", Body=b"USER_ID\nu1\n")
    arn = personalize.create_data_deletion_job(jobName="d", datasetGroupArn=group, roleArn=ROLE, dataSource={
        "dataLocation": "s3://user-data/forget.csv"})["dataDeletionJobArn"]
    return lambda: personalize.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]


@scenario("filter", "activate")
def _filter(personalize, tailor, s3, group, version):
    arn = personalize.create_filter(name="f", datasetGroupArn=group,
                                    filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")')[
        "filterArn"]
    return lambda: personalize.describe_filter(filterArn=arn)["filter"]


@scenario("solution deletion", "delete")
def _delete_solution(personalize, tailor, s3, group, version):
    solution = make_solution(personalize, tailor, group, name="doomed", recipe=POPULARITY)
    personalize.delete_solution(solutionArn=solution)
    return lambda: personalize.describe_solution(solutionArn=solution)["solution"]


@pytest.mark.parametrize("when", ["start", "in progress"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_job_that_dies_leaves_a_final_status_with_a_reason(personalize, tailor, s3, trained_group, version,
                                                             monkeypatch, name, when):
    kind, start = SCENARIOS[name]
    death = Death(monkeypatch, tailor, kind, when)
    describe = start(personalize, tailor, s3, trained_group, version)
    tailor.wait()
    assert not death.armed, f"the {kind} job never reached the point where it was to die"
    found = describe()
    assert found["status"] in FINAL, (death.seen, found)
    if found["status"] != "ACTIVE" or kind == "activate":
        assert "container was killed" in found.get("failureReason", ""), found


def test_a_version_stopped_while_training_whose_training_then_fails_ends_stopped(personalize, tailor, trained_group,
                                                                                 monkeypatch):
    """Stop, then the training fails before it sees the stop: CREATE STOPPED (the stop asked for), not CREATE
    STOPPING for ever; the solution can then be deleted."""
    from tailor.training import entrypoint

    solution = make_solution(personalize, tailor, trained_group, name="stopped", recipe=POPULARITY)
    started, go_on = threading.Event(), threading.Event()
    def failing(svc: Any, version: Any, progress: Any) -> None:
        started.set()
        assert go_on.wait(30)
        raise RuntimeError("out of memory while stopping")

    monkeypatch.setattr(entrypoint, "_train", failing)
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert started.wait(30)
    personalize.stop_solution_version_creation(solutionVersionArn=version)
    assert personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"] == \
        "CREATE STOPPING"
    go_on.set()
    tailor.wait()
    found = personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    assert found["status"] == "CREATE STOPPED" and "out of memory" in found["failureReason"]
    personalize.delete_solution(solutionArn=solution)
    tailor.wait()
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_solution(solutionArn=solution)


RECOMMENDER_STEPS: dict[str, Callable[[Any, str], Any]] = {
    "train-recommender": lambda personalize, arn: None,
    "stop-recommender": lambda personalize, arn: personalize.stop_recommender(recommenderArn=arn),
    "update-recommender": lambda personalize, arn: personalize.update_recommender(
        recommenderArn=arn, recommenderConfig={"enableMetadataWithRecommendations": True}),
    "delete-recommender": lambda personalize, arn: personalize.delete_recommender(recommenderArn=arn),
}


@pytest.mark.parametrize("when", ["start", "in progress"])
@pytest.mark.parametrize("kind", list(RECOMMENDER_STEPS))
def test_a_recommender_job_that_dies_leaves_a_final_status(personalize, tailor, vod, monkeypatch, kind, when):
    from tests.contract.test_recommenders import RECIPE

    def recommender() -> dict[str, Any]:
        return dict(personalize.describe_recommender(recommenderArn=arn)["recommender"])

    if kind != "train-recommender":
        arn = personalize.create_recommender(name="r", datasetGroupArn=vod, recipeArn=RECIPE + "aws-vod-more-like-x")[
            "recommenderArn"]
        tailor.wait()
    death = Death(monkeypatch, tailor, kind, when)
    if kind == "train-recommender":
        arn = personalize.create_recommender(name="r", datasetGroupArn=vod, recipeArn=RECIPE + "aws-vod-more-like-x")[
            "recommenderArn"]
    RECOMMENDER_STEPS[kind](personalize, arn)
    tailor.wait()
    assert not death.armed, f"the {kind} job never reached the point where it was to die"
    found = recommender()
    update = found.get("latestRecommenderUpdate") or {}
    assert found["status"] in FINAL and update.get("status", "ACTIVE") in FINAL, (death.seen, found)
